namespace EdgeRelay.Executable;

/// <summary>The exit codes of <c>edgerelay</c>, one meaning each across every verb.</summary>
internal static class ExitCode
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int StorageRefused = 3;
    public const int DataFolderInUse = 4;
    public const int PortInUse = 5;
    public const int Unreachable = 6;
    public const int Unauthorised = 7;
}
