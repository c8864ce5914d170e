namespace EdgeRelay.LoadTest;

/// <summary>A run cannot start for a reason the operator can fix; printed as one line, without a stack trace.</summary>
internal class LoadTestException : Exception
{
    public LoadTestException()
    {
    }

    public LoadTestException(string message)
        : base(message)
    {
    }

    public LoadTestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
