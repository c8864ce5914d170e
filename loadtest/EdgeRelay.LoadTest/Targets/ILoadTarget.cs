namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A system under test. Every target can ingest (<see cref="ILoadConnection.SendAsync"/>); what else it can do
/// is said by the capability interfaces it implements (<see cref="IPullTarget"/>, <see cref="IPollDelivery"/>,
/// <see cref="IPushDelivery"/>), and the scenarios that need one refuse a target without it before anything
/// starts. To add a target: implement this and <see cref="ILoadConnection"/> (plus any capabilities) in a new
/// file, and name it in <see cref="TargetCatalog"/>.
/// </summary>
/// <remarks>
/// Messages go to numbered queues, 0 to <see cref="RunSettings.Queues"/> - 1: an address of the relay, a
/// Redis list key, a JetStream subject. Which queue each message goes to is the scenario's choice, so that
/// every target sees the same spread.
/// </remarks>
internal interface ILoadTarget : IAsyncDisposable
{
    /// <summary>The <c>--target</c> name.</summary>
    string Name { get; }

    /// <summary>The row name in reports, e.g. <c>redis (AOF always)</c>: the name plus whatever changes what an ack means.</summary>
    string Label { get; }

    /// <summary>What the system has done with a message when it acknowledges it (reports print this next to the figures).</summary>
    string Durability { get; }

    /// <summary>One line for the console: what exactly is being loaded, and where.</summary>
    string Description { get; }

    /// <summary>
    /// Starts the system when <see cref="RunSettings.Endpoint"/> is null (a fresh one, on loopback, removed
    /// again by <see cref="IAsyncDisposable.DisposeAsync"/>), else checks the endpoint; then prepares
    /// <see cref="RunSettings.Queues"/> empty queues.
    /// </summary>
    Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken);

    /// <summary>Opens sending connection number <paramref name="index"/> (0-based).</summary>
    Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken);

    /// <summary>Names a failure by the system's own error code, and says whether the connection is gone.</summary>
    Engine.LoadError Classify(Exception error);
}

/// <summary>One sending connection to the system under test. Thread-safe: a connection's workers call it concurrently.</summary>
internal interface ILoadConnection : IAsyncDisposable
{
    /// <summary>
    /// Sends one message to queue <paramref name="queue"/> and completes when the system acknowledges it (for
    /// the relay: durable; for the peers: whatever <see cref="ILoadTarget.Durability"/> says).
    /// </summary>
    ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>
    /// Sends one message to a newly derived address of queue <paramref name="queue"/> or, where addresses are
    /// derived ahead, of whichever queue the next derived address belongs to (<c>--fresh-ratio</c>). Systems
    /// without ephemeral addresses (Redis, NATS, raw FasterLog) pay nothing to resolve a destination, so for
    /// them a fresh SEND is an ordinary one to the same queue: this default.
    /// </summary>
    ValueTask SendFreshAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        SendAsync(queue, payload, cancellationToken);
}

/// <summary>A target that can leave a system it did not start as it found it (<c>--endpoint</c> without <c>--keep</c>).</summary>
internal interface ICleansUpAfterRun
{
    /// <summary>
    /// Removes what the run created on a running system, after the measurement and its report's figures are
    /// taken. Returns one line for the console saying what was removed or kept; null when there was nothing to do
    /// (the run started the system itself, which goes with its data).
    /// </summary>
    Task<string?> CleanUpAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken);
}
