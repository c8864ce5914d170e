using EdgeRelay.Server.Access;

namespace EdgeRelay.Cli.Tests;

/// <summary><c>services list|add|remove|sunset</c> as a user runs them, with the conversation going on.</summary>
public sealed class CliServicesTests
{
    [Fact]
    public async Task Services_are_added_listed_and_sunset_and_a_busy_one_cannot_be_removed()
    {
        await using var first = await LoopbackRelay.StartAsync();
        await using var second = await LoopbackRelay.StartAsync();
        await using var sender = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await CliConversationTests.IntroduceAsync(first, alice, bob);

        var receiving = Assert.Single(await alice.JsonAsync("services", "add", second.Endpoint, "--receiving"));
        Assert.True(receiving.GetProperty("receiving").GetBoolean());
        Assert.Equal("active", receiving.GetProperty("state").GetString());

        var sunset = Assert.Single(await alice.JsonAsync("services", "sunset", first.Endpoint));
        Assert.Equal("sunsetting", sunset.GetProperty("state").GetString());
        var text = await alice.RunAsync(["services", "list"]);
        Assert.Contains("sunsetting, collecting until", text.Stdout, StringComparison.Ordinal);

        var busy = await alice.RunAsync(["services", "remove", first.Endpoint, "--json"]);
        Assert.Equal(2, busy.ExitCode);
        Assert.Equal("service-in-use", Assert.Single(busy.JsonLines()).GetProperty("error").GetString());

        // Bob learns alice's new address from the update the sunset sent, and his message reaches her.
        Assert.Contains(await bob.JsonAsync("inbox"), e => e.GetProperty("type").GetString() == "updated");
        Assert.Equal(0, (await bob.RunAsync(["send", "alice", "to your new address"])).ExitCode);
        await first.StopAsync(); // not needed any more for what bob sends now
        Assert.Contains(await alice.JsonAsync("inbox"), e => e.GetProperty("type").GetString() == "message" && e.GetProperty("text").GetString() == "to your new address");

        // A sending service, added with its token from a file: tried for what alice sends from now on.
        var tokenFile = Path.Combine(alice.Home, "..", Path.GetFileName(alice.Home) + ".token");
        await File.WriteAllTextAsync(tokenFile, sender.Host.Server.Tokens.Create("alice", TokenRole.Rm).Secret + "\n");
        var sending = Assert.Single(await alice.JsonAsync("services", "add", sender.Endpoint, "--sending", "--token-file", tokenFile, "--batched"));
        Assert.True(sending.GetProperty("hasToken").GetBoolean());
        Assert.Equal("batched", sending.GetProperty("sendingMode").GetString());

        await first.StartAgainAsync();
        var listed = await alice.JsonAsync("services", "list", "--check");
        Assert.Equal([first.Endpoint, second.Endpoint, sender.Endpoint], listed.Select(s => s.GetProperty("endpoint").GetString()));
        Assert.All(listed, s => Assert.Equal("accepting", s.GetProperty("status").GetProperty("availability").GetString()));
        File.Delete(tokenFile);
    }

    [Fact]
    public async Task A_service_on_several_nodes_is_listed_with_its_other_endpoints()
    {
        await using var relay = await LoopbackRelay.StartAsync(o => o.Relay.AlternativeEndpoints = ["relay-b.example:7400", "[2001:db8::2]:7400"]);
        using var alice = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);

        // A new process each time: what it shows comes from the card alice's first address was issued.
        var listed = Assert.Single(await alice.JsonAsync("services", "list"));
        Assert.Equal(relay.Endpoint, listed.GetProperty("endpoint").GetString());
        Assert.Equal(["relay-b.example:7400", "[2001:db8::2]:7400"], listed.GetProperty("otherEndpoints").EnumerateArray().Select(e => e.GetString()));
        var text = await alice.RunAsync(["services", "list"]);
        Assert.Contains($"{relay.Endpoint} (also relay-b.example:7400, [2001:db8::2]:7400)  receiving", text.Stdout, StringComparison.Ordinal);

        await using var single = await LoopbackRelay.StartAsync();
        using var bob = new RmCli("bob");
        Assert.Equal(0, (await bob.InitAsync(single.Endpoint)).ExitCode);
        Assert.Empty(Assert.Single(await bob.JsonAsync("services", "list")).GetProperty("otherEndpoints").EnumerateArray());
    }

    [Fact]
    public async Task Refused_service_changes_exit_with_stable_codes()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);

        async Task<(int Code, string? Error)> Run(params string[] args)
        {
            var result = await alice.RunAsync([.. args, "--json"]);
            return (result.ExitCode, result.JsonLines().LastOrDefault().ValueKind == System.Text.Json.JsonValueKind.Object ? result.JsonLines()[^1].GetProperty("error").GetString() : null);
        }

        Assert.Equal((1, "usage"), await Run("services", "add", relay.Endpoint));
        Assert.Equal((2, "invalid-service"), await Run("services", "add", relay.Endpoint, "--sending"));
        Assert.Equal((2, "unknown-service"), await Run("services", "sunset", "127.0.0.1:1"));
        Assert.Equal((2, "last-receiving-service"), await Run("services", "sunset", relay.Endpoint));
    }
}
