using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Relay nodes on one presence stream, for the presence tests: stores of one backend (so one prefix and one fake
/// clock), each on a connection of its own that a test may cut. Heartbeats beat only when the test moves the clock,
/// one interval at a time, so a test counts beats exactly.
/// </summary>
public abstract class PresenceNodes : IAsyncLifetime
{
    private readonly List<(JetStreamStorage Store, NatsConnection Connection)> _nodes = [];
    private readonly List<JetStreamOutboundQueue> _queues = [];

    protected JetStreamBackend Backend { get; } = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync(); // before its store, whose connection it shares
        }

        foreach (var (store, connection) in _nodes)
        {
            await store.DisposeAsync();
            await connection.DisposeAsync();
        }

        await Backend.DisposeAsync();
    }

    /// <param name="clock">A clock of the node's own (the backend's shared one by default).</param>
    protected async Task<(JetStreamStorage Store, NatsConnection Connection)> OpenAsync(TimeProvider? clock = null)
    {
        var options = await Backend.OptionsAsync();
        var connection = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var store = await JetStreamStorage.OpenAsync(options, clock ?? Backend.Time, connection: connection);
        _nodes.Add((store, connection));
        return (store, connection);
    }

    /// <summary>The outbound queue of <paramref name="node"/> (disposed before the nodes at the end).</summary>
    protected async Task<JetStreamOutboundQueue> OpenQueueAsync(JetStreamStorage node)
    {
        var queue = await node.OpenOutboundQueueAsync(new OutboundLimits());
        _queues.Add(queue);
        return queue;
    }

    /// <summary>Moves the shared clock on by one heartbeat interval, then waits until each of <paramref name="live"/> has beaten, seen its beat applied, and looked at its table.</summary>
    protected async Task StepAsync(params JetStreamStorage[] live) =>
        await AdvanceAsync(Backend.Time, (await Backend.OptionsAsync()).HeartbeatInterval, live);

    /// <summary>Moves <paramref name="clock"/> on, then waits until each of <paramref name="nodes"/> (on that clock) has beaten, seen its beat applied, and looked at its table.</summary>
    protected static async Task AdvanceAsync(FakeTimeProvider clock, TimeSpan by, params JetStreamStorage[] nodes)
    {
        var ticks = nodes.Select(node => node.HeartbeatTicks).ToArray();
        clock.Advance(by);
        for (var i = 0; i < nodes.Length; i++)
        {
            var (node, before) = (nodes[i], ticks[i]);
            await Eventually.TrueAsync(() => node.HeartbeatTicks > before && node.BeatenUpTo >= node.HeartbeatTicks, "a heartbeat at the new time");
        }
    }

    /// <summary><paramref name="node"/> has a new subscriber of <paramref name="aid"/>: waits until it holds the lease, as <paramref name="others"/> see.</summary>
    protected static async Task SubscribeAsync(JetStreamStorage node, AddressId aid, params JetStreamStorage[] others)
    {
        node.WantPush(aid);
        await Eventually.TrueAsync(() => node.MayPush(aid) && others.All(o => !o.MayPush(aid) && o.IsPushed(aid)), "the node with the newest subscriber to hold the lease, as all see");
    }
}
