using System.Diagnostics;
using System.Globalization;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Faults;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// A stall that only A's send timeout can detect, on A's fake clock; and a seeded random schedule of every fault
/// kind over a bounded number of messages. <c>NETFAULT_MESSAGES</c> (default 500) and
/// <c>NETFAULT_SEED</c> make the schedule a longer run; its figures are written to the test output.
/// </summary>
public sealed class NetworkFaultScheduleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    private enum Fault
    {
        Blackhole,
        Refuse,
        Reset,
        ResetNew,
        Stall,
        StallUp,
        StallDown,
        StallMidFrame,
        Slow,
        Cut,
    }

    [Fact]
    public async Task A_stall_is_detected_by_As_send_timeout_on_its_clock_and_the_round_goes_out_again()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var rig = await NetFaultRig.StartAsync(
            o =>
            {
                o.Relay.IdleTimeout = TimeSpan.FromDays(1000); // the RM's connection to A must not idle out as A's clock moves
                o.Forwarding.SendTimeout = SendTimeout;
                o.Forwarding.ConnectTimeout = TimeSpan.FromMinutes(10); // a real-time bound: must not be what notices
                o.Forwarding.InitialBackoff = TimeSpan.FromSeconds(1);
                o.Forwarding.MaxConnectionsPerDestination = 1;
            },
            clock);
        var engine = NetworkFaultTests.Engine(rig);

        // The connection goes silent after HELLO and a few SENDs, in the middle of a frame; B's answers still come back.
        rig.Proxy.StallAfter(300);
        var round = clock.WhenTimerCreated(SendTimeout, SendTimeout);
        await rig.SendAsync(20);
        await round.Within();
        await Eventually.TrueAsync(() => rig.Proxy.Counters.BytesUp >= 300, "the first 300 bytes to pass before the stall");
        rig.Proxy.PassThrough(existingToo: false);
        Assert.Equal(0, engine.Retried);

        var backingOff = clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        clock.Advance(SendTimeout);
        await backingOff.Within(); // A gave the round up and waits to try again
        Assert.True(engine.Retried > 0, "A backed off without putting the round back");
        clock.Advance(TimeSpan.FromSeconds(1));

        await rig.WaitAllDeliveredAsync(NetworkFaultTests.Settle);
        var tally = await rig.DrainAndCheckAsync();
        output.WriteLine($"stall (fake clock): {tally}; retried {engine.Retried}; proxy {rig.Proxy.Counters}");
        Assert.Equal(20, tally.Delivered);
        Assert.Equal(2, rig.Proxy.Counters.Accepted); // the silent connection, and the one A opened after giving it up
    }

    [Fact]
    public async Task A_seeded_random_schedule_of_every_fault_loses_nothing_A_acknowledged()
    {
        var messages = FromEnvironment("NETFAULT_MESSAGES", 500);
        var seed = FromEnvironment("NETFAULT_SEED", 20261201);
        var random = new Random(seed);
        var injected = Enum.GetValues<Fault>().ToDictionary(f => f, _ => 0);
        var wall = Stopwatch.StartNew();
        await using var rig = await NetFaultRig.StartAsync(NetFaultRig.FastForwarding, seed: seed);
        var queue = rig.A.Host.Server.Forwarding.Queue;

        // The RM sends in small paced batches while the faults run; the faults go on until A's queue is empty (or a
        // bound of time scaled to the run), so that they hit sending and forwarding alike.
        using var sent = new CancellationTokenSource();
        var sending = SendPacedAsync(rig, messages, sent);
        var faultsUntil = TimeSpan.FromSeconds(3 + (messages / 250.0));
        while (!sent.IsCancellationRequested || (queue.GetStatistics().QueuedMessages > 0 && wall.Elapsed < faultsUntil))
        {
            var fault = (Fault)random.Next(injected.Count);
            injected[fault]++;
            Inject(rig.Proxy, fault, random);
            await Task.Delay(random.Next(20, 150)); // how long the fault lasts: pacing, not an assertion
            rig.Proxy.PassThrough();
            await Task.Delay(random.Next(10, 100));
        }

        await sending;
        var faulted = wall.Elapsed;
        await rig.WaitAllDeliveredAsync(NetworkFaultTests.Settle + TimeSpan.FromMilliseconds(messages * 5));
        var tally = await rig.DrainAndCheckAsync();
        output.WriteLine($"random schedule, seed {seed}, {messages} messages: {tally}");
        output.WriteLine($"faults injected ({injected.Values.Sum()}): {string.Join(", ", injected.Select(p => $"{p.Key} {p.Value}"))}");
        output.WriteLine($"A retried {NetworkFaultTests.Engine(rig).Retried}; proxy {rig.Proxy.Counters}; faults for {faulted.TotalSeconds:F1} s, all delivered after {wall.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(tally.Acked, tally.Delivered);
        Assert.Equal(messages, tally.Acked + tally.Refused);
    }

    private static void Inject(FaultProxy proxy, Fault fault, Random random)
    {
        switch (fault)
        {
            case Fault.Blackhole: proxy.Blackhole(); break;
            case Fault.Refuse: proxy.Refuse(); proxy.ResetAll(); break;
            case Fault.Reset: proxy.ResetAll(); break;
            case Fault.ResetNew: proxy.ResetAll(newToo: true); break;
            case Fault.Stall: proxy.Stall(); break;
            case Fault.StallUp: proxy.Stall(FaultDirection.Up); break;
            case Fault.StallDown: proxy.Stall(FaultDirection.Down); break;
            case Fault.StallMidFrame: proxy.StallAfter(random.Next(1, 4000), random.Next(2) == 0 ? FaultDirection.Up : FaultDirection.Down); break;
            case Fault.Slow: proxy.Throttle(random.Next(1_000, 50_000), TimeSpan.FromMilliseconds(random.Next(0, 20))); break;
            case Fault.Cut: proxy.CutAfter(random.Next(1, 4000), random.Next(2) == 0 ? FaultDirection.Up : FaultDirection.Down); break;
        }
    }

    private static async Task SendPacedAsync(NetFaultRig rig, int messages, CancellationTokenSource done)
    {
        try
        {
            for (var left = messages; left > 0; left -= 16)
            {
                await rig.SendAsync(Math.Min(16, left), concurrency: 16);
                await Task.Delay(5);
            }
        }
        finally
        {
            await done.CancelAsync();
        }
    }

    private static int FromEnvironment(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
