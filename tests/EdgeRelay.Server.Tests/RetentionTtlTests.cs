using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>Messages nobody acks leave after the TTL, end to end through the relay and its maintenance timer.</summary>
public sealed class RetentionTtlTests
{
    /// <remarks>
    /// On a fake clock: the relay stamps each message's arrival, runs the storage's maintenance timer and
    /// takes the TTL's cutoff from the <see cref="TimeProvider"/> it is given, so the test sets the time to
    /// the millisecond. That a message does not leave early is shown by a maintenance pass that completed at
    /// the last millisecond of its TTL and kept it; that it leaves on time, by the timer's own pass at the
    /// TTL dropping it. No wait depends on how fast the machine is.
    /// </remarks>
    [Fact]
    public async Task Messages_nobody_acks_leave_after_the_ttl_and_younger_ones_stay_until_theirs()
    {
        var interval = TimeSpan.FromSeconds(5);
        var ttl = 12 * interval;
        var millisecond = TimeSpan.FromMilliseconds(1);

        // A whole second, so that every instant below is a whole millisecond, as the relay stamps them.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var clock = new ObservableClock(start);
        var maintenanceTimer = clock.WhenTimerCreated(interval);
        await using var relay = await TestRelay.StartAsync(
            o =>
            {
                o.Storage.MessageTtl = ttl;
                o.Storage.MaintenanceInterval = interval;
                o.Relay.IdleTimeout = TimeSpan.FromDays(7); // the clock moves by minutes: the connections must stay open
            },
            clock);

        // Created on this clock before it moved, the maintenance timer ticks at start + k × interval, which
        // puts a tick on each TTL below.
        Assert.True(maintenanceTimer.IsCompleted, "the storage's maintenance timer does not run on the relay's clock");
        Assert.Equal(interval, await maintenanceTimer);
        var storage = Assert.IsType<FasterStorage>(relay.Host.Server.Storage);

        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, owner.Key);
        await using var sender = await relay.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            await sender.SendAsync(created.Card, RetentionSoakTests.ForgottenPayload(i));
        }

        // Halfway through the first messages' TTL (six maintenance ticks later), a younger one.
        clock.Advance(ttl / 2);
        var youngSentAt = clock.GetUtcNow();
        await sender.SendAsync(created.Card, RetentionSoakTests.ForgottenPayload(3));
        var all = (await rm.PullAsync(created.Id)).Messages;
        Assert.Equal(4, all.Count);
        Assert.All(all.Take(3), m => Assert.Equal(start, m.ReceivedAt));
        Assert.Equal(youngSentAt, all[3].ReceivedAt);
        var youngId = all[3].Id;

        // The first messages' last millisecond: a pass completed now keeps all four.
        clock.Advance(start + ttl - millisecond - clock.GetUtcNow());
        await storage.RunMaintenanceAsync();
        Assert.Equal(all.Select(m => m.Id), (await rm.PullAsync(created.Id)).Messages.Select(m => m.Id));
        Assert.Equal(0, storage.GetStatistics().MessagesExpired);

        // Their TTL: the timer's pass at this instant drops them, and only them.
        clock.Advance(millisecond);
        await Eventually.TrueAsync(
            () => storage.GetStatistics().MessagesExpired >= 3,
            "the maintenance timer's pass at the first messages' TTL to drop them");
        Assert.Equal(youngId, Assert.Single((await rm.PullAsync(created.Id)).Messages).Id);
        Assert.Equal(3, storage.GetStatistics().MessagesExpired);

        // The young message's last millisecond, then its TTL.
        clock.Advance(youngSentAt + ttl - millisecond - clock.GetUtcNow());
        await storage.RunMaintenanceAsync();
        Assert.Equal(youngId, Assert.Single((await rm.PullAsync(created.Id)).Messages).Id);
        Assert.Equal(3, storage.GetStatistics().MessagesExpired);

        clock.Advance(millisecond);
        await Eventually.TrueAsync(
            () => storage.GetStatistics().MessagesExpired >= 4,
            "the maintenance timer's pass at the young message's TTL to drop it");
        Assert.Empty((await rm.PullAsync(created.Id)).Messages);
        Assert.Equal(4, storage.GetStatistics().MessagesExpired);
    }
}
