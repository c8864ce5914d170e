namespace EdgeRelay.Testing;

/// <summary>
/// A bound on a single wait, as an extension: <c>await task.Within()</c>. So that code which never answers
/// fails its test with a <see cref="TimeoutException"/> instead of hanging the run.
/// </summary>
public static class Bounds
{
    /// <summary>Far longer than any such wait takes when the code works (milliseconds, in memory or over loopback).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static Task Within(this Task task) => task.WaitAsync(Patience);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Patience);
}
