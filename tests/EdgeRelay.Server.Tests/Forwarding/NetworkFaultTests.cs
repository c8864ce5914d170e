using EdgeRelay.Forwarding;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Faults;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// Faults of the network between a sending relay A and a receiving relay B (through <see cref="FaultProxy"/>), one
/// kind at a time: whatever A acknowledged reaches B's owner, exactly once after de-duplication by payload. A runs
/// with small forwarding timeouts (<see cref="NetFaultRig.FastForwarding"/>), so each test takes seconds of real
/// time; every wait for A to notice a fault is on one of its own counters, never a sleep.
/// </summary>
public sealed class NetworkFaultTests(ITestOutputHelper output)
{
    /// <summary>Far longer than A needs once the network is healed (its back-off is at most 200 ms).</summary>
    internal static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("blackhole")] // connections accepted, bytes read and discarded: A's connect (HELLO) or round times out
    [InlineData("refuse")] // nothing listens: every connect fails at once
    [InlineData("reset-new")] // accepted then reset: HELLO fails
    [InlineData("stall")] // sockets open, no byte moves: A's send timeout gives the round up
    public async Task While_B_cannot_be_reached_A_keeps_what_it_acknowledged_and_delivers_it_once_after_the_fault(string fault)
    {
        await using var rig = await NetFaultRig.StartAsync(NetFaultRig.FastForwarding);
        var engine = Engine(rig);
        var sending = rig.SendAsync(50); // some in flight as the fault begins
        await Eventually.TrueAsync(() => rig.Proxy.Counters.BytesUp > 0, "A's first SENDs to cross the proxy");

        switch (fault)
        {
            case "blackhole": rig.Proxy.Blackhole(); break;
            case "refuse": rig.Proxy.Refuse(); rig.Proxy.ResetAll(); break;
            case "reset-new": rig.Proxy.ResetAll(newToo: true); break;
            case "stall": rig.Proxy.Stall(); break;
        }

        var retried = engine.Retried;
        await sending;
        await rig.SendAsync(100);
        await Eventually.TrueAsync(() => engine.Retried > retried, () => $"A to notice the fault ({fault}) and put its round back (retried {engine.Retried})");
        rig.Proxy.PassThrough();

        var tally = await SettleAsync(rig, fault);
        Assert.Equal(150, tally.Delivered);
    }

    [Fact]
    public async Task Connections_reset_again_and_again_while_A_forwards_lose_nothing()
    {
        await using var rig = await NetFaultRig.StartAsync(NetFaultRig.FastForwarding);
        var resets = 0;
        using var done = new CancellationTokenSource();
        var sending = SendThenStopAsync(rig, 300, done);
        while (!done.IsCancellationRequested)
        {
            await Eventually.TrueAsync(() => rig.Proxy.Counters.Open > 0 || done.IsCancellationRequested, "a connection to reset", Settle, TimeSpan.FromMilliseconds(1));
            resets += rig.Proxy.ResetAll();
            await Task.Delay(25); // pacing between faults, not an assertion
        }

        await sending;
        var tally = await SettleAsync(rig, $"reset x{resets}");
        Assert.True(resets > 0);
        Assert.Equal(300, tally.Delivered);
    }

    [Fact]
    public async Task A_slow_link_delivers_everything_and_a_round_slower_than_the_send_timeout_is_sent_again()
    {
        await using var rig = await NetFaultRig.StartAsync(NetFaultRig.FastForwarding);
        rig.Proxy.Throttle(bytesPerSecond: 2_000, latency: TimeSpan.FromMilliseconds(5));

        // A round of 64 SENDs is about 7 KB over two connections: at 2 KB/s each it outlasts A's 1 s send timeout, so A gives up and sends it
        // again, and what B took meanwhile arrives twice.
        await rig.SendAsync(100);
        await Eventually.TrueAsync(() => Engine(rig).Retried > 0, "a round to time out on the slow link", Settle);
        rig.Proxy.Throttle(bytesPerSecond: 40_000, latency: TimeSpan.FromMilliseconds(5));

        var tally = await SettleAsync(rig, "slow");
        Assert.Equal(100, tally.Delivered);
    }

    [Fact]
    public async Task Connections_cut_in_the_middle_of_a_frame_either_way_lose_nothing()
    {
        await using var rig = await NetFaultRig.StartAsync(NetFaultRig.FastForwarding);
        var random = new Random(7);
        using var done = new CancellationTokenSource();
        var sending = SendThenStopAsync(rig, 300, done);
        while (!done.IsCancellationRequested)
        {
            // A budget of up to a few SENDs: the cut lands inside HELLO, a SEND or an OK.
            rig.Proxy.CutAfter(random.Next(1, 1500), random.Next(2) == 0 ? FaultDirection.Up : FaultDirection.Down);
            await Task.Delay(30); // pacing between faults, not an assertion
            rig.Proxy.PassThrough();
            await Task.Delay(20);
        }

        await sending;
        var tally = await SettleAsync(rig, $"cut x{rig.Proxy.Counters.Cut}");
        Assert.True(rig.Proxy.Counters.Cut > 0);
        Assert.Equal(300, tally.Delivered);
    }

    /// <summary>
    /// A flow that goes silent while A is writing a round too large for the socket buffers (a middlebox dropping it,
    /// a peer that stopped reading): A's write blocks. After its send timeout A gives the connection up and must be
    /// able to close it, then forward on a new connection, which works. It used to hang in the close for as long as
    /// the silent flow lasted, holding every message to B (regression).
    /// </summary>
    [Fact]
    public async Task A_connection_that_goes_silent_mid_write_is_given_up_and_A_forwards_on_a_new_one()
    {
        await using var rig = await NetFaultRig.StartAsync(
            o =>
            {
                NetFaultRig.FastForwarding(o);
                o.Forwarding.MaxConnectionsPerDestination = 1;
                o.Forwarding.MaxInFlightPerDestination = 256;
                o.Forwarding.SendTimeout = TimeSpan.FromSeconds(3); // 15 MiB a round must fit in it once healed, on a busy machine
            },
            payloadBytes: 60 * 1024,
            maxCiphertext: 64 * 1024);

        // B unreachable while the RM sends, so that A's first round is all of them: 15 MiB, far more than the socket
        // buffers hold. Its connection goes silent after 64 KiB, before the proxy's receive window has grown.
        rig.Proxy.Refuse();
        await rig.SendAsync(256);
        rig.Proxy.StallAfter(64 * 1024);
        rig.Proxy.Refuse(false);
        await Eventually.TrueAsync(() => rig.Proxy.Counters.BytesUp >= 64 * 1024, "the first 64 KiB to pass before the flow goes silent");
        rig.Proxy.PassThrough(existingToo: false); // new connections work; the silent one stays silent

        var tally = await SettleAsync(rig, "silent mid-write", healExisting: false); // A must get past the silent connection by itself
        Assert.Equal(256, tally.Delivered);
        Assert.True(rig.Proxy.Counters.Accepted >= 2, "A never opened a second connection");
    }

    internal static ForwardingEngine Engine(NetFaultRig rig) => rig.A.Host.Server.Forwarding.Engine;

    /// <summary>Sends, then cancels <paramref name="done"/> so that a fault loop stops.</summary>
    private static async Task SendThenStopAsync(NetFaultRig rig, int count, CancellationTokenSource done)
    {
        try
        {
            await rig.SendAsync(count, concurrency: 8);
        }
        finally
        {
            await done.CancelAsync();
        }
    }

    private async Task<NetFaultTally> SettleAsync(NetFaultRig rig, string fault, bool healExisting = true)
    {
        rig.Proxy.PassThrough(healExisting);
        await rig.WaitAllDeliveredAsync(Settle);
        var tally = await rig.DrainAndCheckAsync();
        output.WriteLine($"{fault}: {tally}; retried {Engine(rig).Retried}; proxy {rig.Proxy.Counters}");
        return tally;
    }
}
