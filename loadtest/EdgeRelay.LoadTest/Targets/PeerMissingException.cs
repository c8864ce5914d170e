namespace EdgeRelay.LoadTest.Targets;

/// <summary>A peer's server binary is not installed; the run (or the compare row) is skipped with how to install it.</summary>
internal sealed class PeerMissingException : LoadTestException
{
    public PeerMissingException(string executable, string package)
        : base($"{executable} is not installed (not found on PATH): install it with apt-get install {package}")
    {
        Executable = executable;
        Package = package;
    }

    public PeerMissingException()
    {
    }

    public PeerMissingException(string message)
        : base(message)
    {
    }

    public PeerMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string Executable { get; } = "";

    public string Package { get; } = "";
}
