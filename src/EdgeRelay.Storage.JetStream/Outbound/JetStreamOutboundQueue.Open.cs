using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

// Opening (the stream, then the index rebuilt by reading it, then writes) and closing.
public sealed partial class JetStreamOutboundQueue
{
    private JetStreamOutboundQueue(JetStreamStorageOptions options, OutboundLimits limits, TimeProvider time, ILogger logger, NatsConnection connection, bool ownsConnection, long writer)
    {
        _writer = writer;
        _options = options;
        _limits = limits;
        _time = time;
        _logger = logger;
        _connection = connection;
        _ownsConnection = ownsConnection;
        var js = new NatsJSContext(connection);
        _js = js;
        _deleter = new Deleter(js, options, logger);
        _publisher = new Publisher(js, options, _writer, (_, seq) => _follower!.WaitAppliedAsync(seq), static _ => { }, logger);

        // A node whose index stopped following the stream would forward stale entries and look healthy: the
        // queue fails instead (its writes are refused), as the store does.
        _follower = new StreamFollower(js, options.OutboundStream, Apply, _publisher.Fail, logger, options.PublishRetryWindow);
    }

    /// <summary>
    /// Opens the queue: creates its stream if it does not exist yet (or updates its replication), reads it to its end
    /// to build this node's index, then takes writes. Every relay node of one service opens it with the same
    /// <see cref="JetStreamStorageOptions.StreamPrefix"/> and sees every node's queued and settled messages.
    /// </summary>
    /// <param name="options">The store's options: the cluster, the prefix, the replication, the retry window and the maintenance interval.</param>
    /// <param name="limits">The queue's limits (validated); null for the defaults.</param>
    /// <param name="connection">A connection to use (the caller disposes it); null connects with <paramref name="options"/>.</param>
    public static async Task<JetStreamOutboundQueue> OpenAsync(JetStreamStorageOptions options, OutboundLimits? limits = null, TimeProvider? time = null, ILogger? logger = null, NatsConnection? connection = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        limits ??= new OutboundLimits();
        limits.ValidateLimits();
        var owned = connection is null;
        connection ??= new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        return await OpenAsync(options, limits, time, logger, connection, owned, Random.Shared.NextInt64(1, long.MaxValue), null, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens the queue of a relay node whose store is <see cref="JetStreamStorage"/>: its records name the node (its
    /// presence id) as their writer, and the presence table says which node forwards what (<see cref="IOutboundDispatch"/>).
    /// </summary>
    internal static Task<JetStreamOutboundQueue> OpenForNodeAsync(JetStreamStorageOptions options, OutboundLimits limits, TimeProvider time, ILogger logger, NatsConnection connection, long node, Presence presence, CancellationToken ct) =>
        OpenAsync(options, limits, time, logger, connection, false, node, presence, ct);

    private static async Task<JetStreamOutboundQueue> OpenAsync(JetStreamStorageOptions options, OutboundLimits limits, TimeProvider? time, ILogger? logger, NatsConnection connection, bool owned, long writer, Presence? presence, CancellationToken ct)
    {
        var queue = new JetStreamOutboundQueue(options, limits, time ?? TimeProvider.System, logger ?? NullLogger.Instance, connection, owned, writer);
        try
        {
            await queue.StartAsync(ct).ConfigureAwait(false);
            if (presence is not null)
            {
                queue.Attach(presence);
            }

            return queue;
        }
        catch
        {
            await queue.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _maintenance?.Dispose();
        Detach();
        await _publisher.StopAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _follower.StoppedAsync.ConfigureAwait(false);
        await _deleter.StopAsync().ConfigureAwait(false);
        _publisher.Fail(new ObjectDisposedException(nameof(JetStreamOutboundQueue)));
        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _deleter.Dispose();
        _publisher.Dispose();
    }

    private async Task StartAsync(CancellationToken ct)
    {
        await _connection.ConnectAsync().ConfigureAwait(false);
        await StartRetry.RunAsync(
            c => _js.CreateOrUpdateStreamAsync(
                new StreamConfig(_options.OutboundStream, [_options.OutboundSubject])
                {
                    Storage = StreamConfigStorage.File,
                    NumReplicas = _options.Replicas,

                    // No age or size limit: a queued message leaves only when settled (the forwarding engine fails it
                    // past its maximum age); the queue's own limits bound what is queued, retention what is settled.
                    AllowDirect = true,
                    DuplicateWindow = _options.DuplicateWindow,
                    Description = "EdgeRelay outbound queue: messages queued for other relays, and how each settled",
                },
                c).AsTask(),
            "creating stream " + _options.OutboundStream,
            _options.PublishRetryWindow,
            _logger,
            ct).ConfigureAwait(false);
        await _follower.StartAsync(_stopping.Token, ct).ConfigureAwait(false);

        _publisher.Start();
        _deleter.Start();
        _maintenance = _time.CreateTimer(static s => ((JetStreamOutboundQueue)s!).RunScheduledMaintenance(), this, _options.MaintenanceInterval, _options.MaintenanceInterval);
        lock (_lock)
        {
            JetStreamLog.OutboundOpened(_logger, _index.QueuedMessages, _index.SettledRetained, _options.OutboundStream);
        }
    }

    private void RunScheduledMaintenance()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            _ = RunMaintenanceAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
