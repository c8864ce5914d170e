namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A system under test. To add one (Redis, NATS…): implement this and <see cref="ILoadConnection"/> in a new
/// file, and name it in <see cref="TargetCatalog"/>.
/// </summary>
internal interface ILoadTarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>One line for the console: what exactly is being loaded, and where.</summary>
    string Description { get; }

    /// <summary>
    /// Starts the system in-process when <see cref="RunSettings.Endpoint"/> is null (a fresh one, on loopback,
    /// removed again by <see cref="IAsyncDisposable.DisposeAsync"/>), else checks the endpoint; then prepares
    /// whatever sends need (addresses, keys, queues).
    /// </summary>
    Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken);

    /// <summary>Opens connection number <paramref name="index"/> (0-based), ready to send.</summary>
    Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken);

    /// <summary>Names a failure by the system's own error code, and says whether the connection is gone.</summary>
    Engine.LoadError Classify(Exception error);
}

/// <summary>One connection to the system under test. Thread-safe: a connection's workers call it concurrently.</summary>
internal interface ILoadConnection : IAsyncDisposable
{
    /// <summary>
    /// Sends one message and completes when the system acknowledges it (for the relay: durable). The target
    /// picks the destination from <paramref name="sequence"/>, spreading messages over its addresses.
    /// </summary>
    ValueTask SendAsync(long sequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}
