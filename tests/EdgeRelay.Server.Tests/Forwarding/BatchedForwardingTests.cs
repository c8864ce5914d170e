using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// SEND_VIA_MODE in the batched mode between two in-process relays: A, the sending relay, runs on a fake clock that
/// the test moves to either side of a release time; B receives on the real one, and its owner pulls.
/// </summary>
public sealed class BatchedForwardingTests
{
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task Batched_messages_reach_B_together_at_their_release_time_and_not_a_millisecond_before()
    {
        var clock = SecondsIntoAMinute(12);
        await using var b = await TestRelay.StartAsync();
        await using var a = await TestRelay.StartAsync(o => o.Sending.BatchedDelay = TimeSpan.FromSeconds(30), clock);
        using var owner = new Owner();
        await using var onB = await b.ConnectAsync();
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await onB.AuthenticateAsync(card.Aid, owner.Key);
        await using var rm = await ForwardingTests.ConnectRmAsync(a);
        var pushes = await rm.WatchSendsAsync();

        // Five messages queued 12 to 16 s into the interval: after the last, A waits the 14 s left.
        var ids = new List<long>();
        Task<TimeSpan>? parked = null;
        for (var i = 0; i < 5; i++)
        {
            if (i > 0)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
            }

            if (i == 4)
            {
                parked = clock.WhenTimerCreated(TimeSpan.FromSeconds(14), TimeSpan.FromSeconds(14));
            }

            var state = await rm.SendViaAsync(card, BitConverter.GetBytes(i), SendingMode.Batched);
            Assert.Equal(SendStateKind.Queued, state.State);
            ids.Add(state.SendId);
        }

        await parked!.Within();
        Assert.Contains("\nedgerelay_forward_held_messages 5\n", await ScrapeAsync(a), StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromSeconds(14) - Millisecond);
        Assert.Empty((await onB.PullAsync(card.Aid)).Messages);
        Assert.All(await rm.GetSendStatesAsync(ids), s => Assert.Equal(SendStateKind.Queued, s.State));
        Assert.False(pushes.TryRead(out _));

        clock.Advance(Millisecond);
        var told = new List<SendState>();
        for (var i = 0; i < ids.Count; i++)
        {
            told.Add(await pushes.ReadAsync(Eventually.Deadline()));
        }

        Assert.All(told, s => Assert.Equal(SendStateKind.Delivered, s.State));
        Assert.Equal(ids.Order(), told.Select(s => s.SendId).Order());
        Assert.Equal([0, 1, 2, 3, 4], (await Drain.AllAsync(onB, card.Aid)).Order());
        Assert.Contains("\nedgerelay_forward_held_messages 0\n", await ScrapeAsync(a), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_of_the_interval_leaves_queued_messages_at_their_release_time_and_applies_to_the_next()
    {
        var clock = SecondsIntoAMinute(12);
        await using var b = await TestRelay.StartAsync();
        await using var a = await TestRelay.StartAsync(
            o =>
            {
                o.Sending.BatchedDelay = TimeSpan.FromSeconds(30);
                o.Forwarding.SendTimeout = TimeSpan.FromSeconds(45); // a timer of its own, unlike the 30 s waited for below
            },
            clock);
        using var owner = new Owner();
        await using var onB = await b.ConnectAsync();
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await onB.AuthenticateAsync(card.Aid, owner.Key);
        await using var rm = await ForwardingTests.ConnectRmAsync(a);
        var pushes = await rm.WatchSendsAsync();

        // Queued at 12 s with D = 30 s: released at 30 s.
        var first = await rm.SendViaAsync(card, BitConverter.GetBytes(1), SendingMode.Batched);

        // The operator moves D to a minute: the next message, also queued at 12 s, is released at 60 s.
        var reloaded = TestRelay.Options(a.DataDir);
        reloaded.Relay.Endpoint = a.Host.Server.Options.Relay.Endpoint;
        reloaded.Http.Endpoint = a.Host.Server.Options.Http.Endpoint;
        reloaded.Forwarding.SendTimeout = TimeSpan.FromSeconds(45);
        reloaded.Sending.BatchedDelay = TimeSpan.FromMinutes(1);
        Assert.Equal(["Sending:BatchedDelay"], a.Host.Server.ApplyConfiguration(reloaded).Applied);
        var parked = clock.WhenTimerCreated(TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(18));
        var second = await rm.SendViaAsync(card, BitConverter.GetBytes(2), SendingMode.Batched);
        await parked.Within();

        var parkedAgain = clock.WhenTimerCreated(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(18));
        Assert.Equal(new SendState(first.SendId, SendStateKind.Delivered, ErrorCode.None), await pushes.ReadAsync(Eventually.Deadline()));
        await parkedAgain.Within();
        Assert.Equal([1], await Drain.AllAsync(onB, card.Aid));

        clock.Advance(TimeSpan.FromSeconds(30) - Millisecond);
        Assert.Empty((await onB.PullAsync(card.Aid)).Messages);
        Assert.Equal(SendStateKind.Queued, (await rm.GetSendStatesAsync([second.SendId]))[0].State);

        clock.Advance(Millisecond);
        Assert.Equal(new SendState(second.SendId, SendStateKind.Delivered, ErrorCode.None), await pushes.ReadAsync(Eventually.Deadline()));
        Assert.Equal([2], await Drain.AllAsync(onB, card.Aid));
    }

    [Fact]
    public async Task A_batched_message_for_this_relay_is_stored_at_once_and_a_mode_it_lacks_is_refused_first()
    {
        await using var a = await TestRelay.StartAsync(o => o.Sending.BatchedDelay = TimeSpan.FromHours(1), SecondsIntoAMinute(12));
        using var owner = new Owner();
        await using var rm = await ForwardingTests.ConnectRmAsync(a);
        var card = (await owner.CreateAddressAsync(rm)).Card;

        // Nothing leaves the relay, so nothing waits: delivered, with no clock moving.
        Assert.Equal(new SendState(0, SendStateKind.Delivered, ErrorCode.None), await rm.SendViaAsync(card, new byte[] { 5 }, SendingMode.Batched));
        await rm.AuthenticateAsync(card.Aid, owner.Key);
        Assert.Equal([5], Assert.Single((await rm.PullAsync(card.Aid)).Messages).Ciphertext.ToArray());

        // A mode the relay does not offer is refused before the endpoint is looked at.
        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.SendViaAsync(card, new byte[] { 6 }, (SendingMode)7));
        Assert.Equal(ErrorCode.ModeUnavailable, refused.Code);
        Assert.Single((await rm.PullAsync(card.Aid)).Messages);
    }

    /// <summary>A fake clock <paramref name="seconds"/> into a minute of the epoch, near the real time (B checks ephemeral addresses on its own clock).</summary>
    private static ObservableClock SecondsIntoAMinute(int seconds)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return new ObservableClock(DateTimeOffset.FromUnixTimeMilliseconds(now - (now % 60_000) + (seconds * 1000)));
    }

    private static async Task<string> ScrapeAsync(TestRelay relay)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://{relay.Host.HttpEndPoint}/metrics");
    }
}
