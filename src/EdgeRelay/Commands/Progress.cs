namespace EdgeRelay.Executable;

/// <summary>Bytes copied so far, on standard error (standard output keeps the one-line result for scripts).</summary>
internal sealed class Progress(string verb)
{
    private const long Step = 64L << 20;
    private long _next = Step;

    public void Report(long bytes)
    {
        if (bytes >= _next)
        {
            _next = (bytes / Step + 1) * Step;
            Console.Error.WriteLine($"  {verb} {bytes >> 20} MiB");
        }
    }

    public void Done(long bytes) => Console.Error.WriteLine($"  {verb} {bytes} bytes in all");
}
