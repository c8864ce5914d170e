using System.Globalization;
using EdgeRelay.Storage;
using EdgeRelay.Testing.Conformance;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// The JetStream outbound queue on the shared 3-node cluster, in a stream of its own (R3). A crash is the
/// connection cut under the queue, as for <see cref="JetStreamBackend"/>: what the cluster acknowledged stays.
/// </summary>
public sealed class JetStreamOutboundBackend : OutboundBackend
{
    private static int _instances;
    private readonly OwnConnections<IOutboundQueue> _connections = new();

    /// <summary>The stream prefix: every queue this backend opens shares it, as the nodes of one service do.</summary>
    public string Prefix { get; } = "O" + Interlocked.Increment(ref _instances).ToString(CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    public async Task<JetStreamStorageOptions> OptionsAsync()
    {
        var cluster = await SharedCluster.GetAsync();

        // Tests run maintenance themselves: the fake clock's jumps of days would otherwise fire the timer thousands of times.
        return new JetStreamStorageOptions { Url = cluster.Url, StreamPrefix = Prefix, Replicas = 3, MaintenanceInterval = TimeSpan.FromDays(1) };
    }

    public override async Task<IOutboundQueue> OpenAsync(Action<OutboundLimits>? limits = null) => await OpenQueueAsync(limits);

    /// <summary>Opens another queue on the same streams (another relay node), on its own connection.</summary>
    public async Task<JetStreamOutboundQueue> OpenQueueAsync(Action<OutboundLimits>? limits = null)
    {
        var options = await OptionsAsync();
        var outbound = new OutboundLimits();
        limits?.Invoke(outbound);
        return await _connections.OpenAsync(options, connection => JetStreamOutboundQueue.OpenAsync(options, outbound, Time, connection: connection));
    }

    public override async Task<IOutboundQueue> CrashAndReopenAsync(IOutboundQueue queue, Action<OutboundLimits>? limits = null)
    {
        await _connections.CrashAsync(queue);
        return await OpenAsync(limits);
    }

    /// <summary>Records the queue's stream holds now, as the cluster says.</summary>
    public async Task<long> StreamMessagesAsync()
    {
        var cluster = await SharedCluster.GetAsync();
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Url });
        var stream = await new NatsJSContext(connection).GetStreamAsync(Prefix + "-OUTBOUND");
        return stream.Info.State.Messages;
    }

    public override async ValueTask DisposeAsync()
    {
        await _connections.CloseAsync();
        await SharedCluster.DeleteStreamsAsync(Prefix);
    }
}
