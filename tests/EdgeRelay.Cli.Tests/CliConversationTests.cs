using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Cli.Tests;

/// <summary>
/// Two people with edgerelay-rm, each in their own home, through a relay on loopback: every verb of the
/// README's "Try it in one minute", as separate processes.
/// </summary>
public sealed class CliConversationTests
{
    [Fact]
    public async Task Init_invite_accept_verify_send_both_ways_with_receipts_and_terminate()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await IntroduceAsync(relay, alice, bob);

        await ExchangeAsync(alice, bob, "hello bob");
        await ExchangeAsync(bob, alice, "hello alice, from stdin", stdin: true);

        var ended = Assert.Single(await alice.JsonAsync("terminate", "bob"));
        Assert.Equal("terminated-by-us", ended.GetProperty("state").GetString());
        var told = Assert.Single(await bob.JsonAsync("inbox"));
        Assert.Equal("terminated", told.GetProperty("type").GetString());
        var refused = await bob.RunAsync(["send", "alice", "still there?"]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("terminated", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_people_each_on_their_own_relay()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var bobRelay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await IntroduceAsync(aliceRelay, alice, bob, bobRelay);

        await ExchangeAsync(alice, bob, "from alice's relay to bob's");
        await ExchangeAsync(bob, alice, "and back");
    }

    [Fact]
    public async Task A_following_inbox_outlasts_the_relay_idle_timeout_and_a_relay_restart()
    {
        // The relay's clock is fake: advancing it past the idle timeout makes the relay close the inbox's quiet
        // connection at once, without waiting for it.
        var relayTime = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var relay = await LoopbackRelay.StartAsync(o => o.Relay.IdleTimeout = TimeSpan.FromSeconds(30), relayTime);
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await IntroduceAsync(relay, alice, bob);
        await using var inbox = alice.Follow("inbox", "--follow");
        await SendAsync(bob, "alice", "before the idle period");
        Assert.Equal("before the idle period", (await inbox.NextAsync("message")).GetProperty("text").GetString());

        relayTime.Advance(TimeSpan.FromMinutes(5));
        await SendAsync(bob, "alice", "after the idle period");
        Assert.Equal("after the idle period", (await inbox.NextAsync("message")).GetProperty("text").GetString());

        await relay.RestartAsync();
        await SendAsync(bob, "alice", "after the restart");
        Assert.Equal("after the restart", (await inbox.NextAsync("message")).GetProperty("text").GetString());

        // Bob sees each message delivered: the receipts went out from the following inbox.
        var receipts = (await bob.JsonAsync("inbox")).Where(e => e.GetProperty("type").GetString() == "received").ToList();
        Assert.Equal(3, receipts.SelectMany(r => r.GetProperty("ids").EnumerateArray()).Distinct().Count());
    }

    [Fact]
    public async Task A_following_inbox_killed_again_and_again_loses_no_message()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await IntroduceAsync(relay, alice, bob);
        var sent = new HashSet<string>();
        var shown = new List<string>();

        for (var round = 0; round < 3; round++)
        {
            await using var inbox = alice.Follow("inbox", "--follow");
            for (var i = 0; i < 4; i++)
            {
                var result = await bob.RunAsync(["send", "alice", $"round {round} message {i}", "--json"]);
                Assert.Equal(0, result.ExitCode);
                sent.Add(Assert.Single(result.JsonLines()).GetProperty("id").GetString()!);
            }

            // Killed (SIGKILL) after the first message of the round: the rest may be stored, acknowledged,
            // printed or none of these when it dies.
            shown.Add((await inbox.NextAsync("message")).GetProperty("id").GetString()!);
            shown.AddRange((await inbox.KillAsync("message")).Select(m => m.GetProperty("id").GetString()!));
        }

        shown.AddRange((await alice.JsonAsync("inbox")).Where(e => e.GetProperty("type").GetString() == "message").Select(m => m.GetProperty("id").GetString()!));

        // Every message shown at least once (one stored but not yet shown when its run died is shown by the next).
        Assert.Equal(sent.Order(), shown.Distinct().Order());
    }

    [Fact]
    public async Task Inbox_follow_exits_after_count_messages()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await IntroduceAsync(relay, alice, bob);
        await using var inbox = alice.Follow("inbox", "--follow", "--count", "2");

        await SendAsync(bob, "alice", "one");
        await SendAsync(bob, "alice", "two");

        Assert.Equal(0, await inbox.ExitAsync());
    }

    internal static async Task IntroduceAsync(LoopbackRelay relay, RmCli inviter, RmCli acceptor, LoopbackRelay? acceptorRelay = null)
    {
        Assert.Equal(0, (await inviter.InitAsync(relay.Endpoint)).ExitCode);
        Assert.Equal(0, (await acceptor.InitAsync((acceptorRelay ?? relay).Endpoint)).ExitCode);

        var invitation = Assert.Single(await inviter.JsonAsync("invite")).GetProperty("invitation").GetString()!;
        Assert.StartsWith("edgerelay-invite1:", invitation, StringComparison.Ordinal);
        var accepted = Assert.Single(await acceptor.JsonAsync("accept", invitation));
        Assert.Equal(inviter.Name, accepted.GetProperty("name").GetString());

        var learned = Assert.Single(await inviter.JsonAsync("inbox"));
        Assert.Equal("contact", learned.GetProperty("type").GetString());
        Assert.Equal(acceptor.Name, learned.GetProperty("contact").GetString());
        Assert.Equal("contact", Assert.Single(await acceptor.JsonAsync("inbox")).GetProperty("type").GetString());

        var inviterNumber = Assert.Single(await inviter.JsonAsync("verify", acceptor.Name)).GetProperty("safetyNumber").GetString()!;
        var acceptorNumber = Assert.Single(await acceptor.JsonAsync("verify", inviter.Name)).GetProperty("safetyNumber").GetString()!;
        Assert.Equal(inviterNumber, acceptorNumber);
        await inviter.JsonAsync("verify", acceptor.Name, "--number", acceptorNumber);
        await acceptor.JsonAsync("verify", inviter.Name, "--confirm");
        var contacts = await inviter.JsonAsync("contacts");
        Assert.True(Assert.Single(contacts).GetProperty("verified").GetBoolean());
    }

    private static async Task ExchangeAsync(RmCli from, RmCli to, string text, bool stdin = false)
    {
        var sent = stdin
            ? await from.RunAsync(["send", to.Name, "-", "--json"], stdin: text + "\n")
            : await from.RunAsync(["send", to.Name, text, "--json"]);
        Assert.Equal(0, sent.ExitCode);
        var id = Assert.Single(sent.JsonLines()).GetProperty("id").GetString();

        var message = Assert.Single(await to.JsonAsync("inbox"));
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal(text, message.GetProperty("text").GetString());
        Assert.Equal(id, message.GetProperty("id").GetString());

        var receipt = Assert.Single(await from.JsonAsync("inbox"));
        Assert.Equal("received", receipt.GetProperty("type").GetString());
        Assert.Equal(id, Assert.Single(receipt.GetProperty("ids").EnumerateArray()).GetString());
    }

    private static async Task SendAsync(RmCli from, string to, string text)
    {
        var sent = await from.RunAsync(["send", to, text]);
        Assert.True(sent.ExitCode == 0, sent.Stderr);
    }
}
