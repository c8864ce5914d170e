namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// One operation of a scenario on one connection; <paramref name="sequence"/> counts from 0 per worker. Returns
/// how many messages it moved: 1 for a send or a round trip, the batch size for a pull. 0 means the source is
/// exhausted (a pull that found its queue empty): the measurement window ends at that operation's origin, so
/// every measured operation ran against a queue that still had messages.
/// </summary>
internal delegate ValueTask<int> LoadOperation(long sequence, CancellationToken cancellationToken);

/// <summary>How a failed operation is reported: a stable code name, and whether its connection is gone.</summary>
internal readonly record struct LoadError(string Code, bool ConnectionLost);

/// <summary>Error codes the generator itself reports (the system under test's codes are its own names).</summary>
internal static class GeneratorErrors
{
    /// <summary>The connection failed or was closed without a protocol error frame.</summary>
    public const string ConnectionLost = "CONNECTION_LOST";

    /// <summary>Still unanswered when the drain time after the window ran out.</summary>
    public const string DrainTimeout = "DRAIN_TIMEOUT";

    /// <summary>Open model: due in the window, but never sent (connection lost, or too far behind schedule).</summary>
    public const string NotSent = "NOT_SENT";
}
