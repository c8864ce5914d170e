namespace EdgeRelay.Cli.Tests;

/// <summary>Every documented exit code, provoked: scripts rely on them.</summary>
public sealed class CliRefusalTests
{
    [Fact]
    public async Task A_home_without_an_rm_exits_4_and_init_over_one_exits_4()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");

        var missing = await alice.RunAsync(["contacts"]);
        Assert.Equal(4, missing.ExitCode);
        Assert.Contains("init", missing.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);
        Assert.Equal(4, (await alice.InitAsync(relay.Endpoint)).ExitCode);
    }

    [Fact]
    public async Task A_wrong_passphrase_exits_3_and_no_passphrase_at_all_exits_1()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);

        Assert.Equal(3, (await alice.RunAsync(["contacts"], passphrase: "not the passphrase")).ExitCode);
        var none = await alice.RunAsync(["contacts"], passphrase: null);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("EDGERELAY_RM_PASSPHRASE", none.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_passphrase_can_come_from_a_file()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);
        var file = Path.Combine(alice.Home, "..", Path.GetFileName(alice.Home) + ".passphrase");
        await File.WriteAllTextAsync(file, RmCli.Passphrase + "\n");
        try
        {
            Assert.Equal(0, (await alice.RunAsync(["contacts", "--passphrase-file", file], passphrase: null)).ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Refusals_exit_2_with_a_stable_code_in_json()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);

        var unknown = await alice.RunAsync(["send", "nobody", "hi", "--json"]);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal("unknown-contact", Assert.Single(unknown.JsonLines()).GetProperty("error").GetString());

        var garbage = await alice.RunAsync(["accept", "edgerelay-invite1:AAAA", "--json"]);
        Assert.Equal(2, garbage.ExitCode);
        Assert.StartsWith("invitation-", Assert.Single(garbage.JsonLines()).GetProperty("error").GetString(), StringComparison.Ordinal);

        var own = (await alice.JsonAsync("invite"))[0].GetProperty("invitation").GetString()!;
        var self = await alice.RunAsync(["accept", own, "--json"]);
        Assert.Equal(2, self.ExitCode);
        Assert.Equal("own-invitation", Assert.Single(self.JsonLines()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_safety_number_that_does_not_match_exits_5_and_changes_nothing()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);
        Assert.Equal(0, (await bob.InitAsync(relay.Endpoint)).ExitCode);
        var invitation = (await alice.JsonAsync("invite"))[0].GetProperty("invitation").GetString()!;
        await bob.JsonAsync("accept", invitation);

        var mismatch = await bob.RunAsync(["verify", "alice", "--number", "12345 67890 12345 67890 12345 67890 12345 67890 12345 67890 12345 67890"]);

        Assert.Equal(5, mismatch.ExitCode);
        Assert.False(Assert.Single(await bob.JsonAsync("contacts")).GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task A_send_no_relay_accepts_exits_6_and_is_delivered_by_a_later_run()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await CliConversationTests.IntroduceAsync(relay, alice, bob);

        await relay.StopAsync();
        var queued = await alice.RunAsync(["send", "bob", "while the relay is down", "--json"]);
        Assert.Equal(6, queued.ExitCode);
        Assert.Equal("queued", Assert.Single(queued.JsonLines()).GetProperty("status").GetString());

        await relay.StartAgainAsync();
        await alice.JsonAsync("inbox"); // any run that reaches the relay sends what is queued
        var message = Assert.Single(await bob.JsonAsync("inbox"));
        Assert.Equal("while the relay is down", message.GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("init")]
    [InlineData("invite")]
    [InlineData("accept")]
    [InlineData("contacts")]
    [InlineData("verify")]
    [InlineData("send")]
    [InlineData("inbox")]
    [InlineData("settings")]
    [InlineData("terminate")]
    [InlineData("export")]
    public async Task Every_verb_has_help(string verb)
    {
        using var cli = new RmCli("anyone");

        var help = await cli.RunAsync([verb, "--help"], passphrase: null);

        Assert.Equal(0, help.ExitCode);
        Assert.Contains(verb, help.Stdout, StringComparison.Ordinal);
        Assert.Contains("--home", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_root_help_lists_the_exit_codes()
    {
        using var cli = new RmCli("anyone");

        var help = await cli.RunAsync(["--help"], passphrase: null);

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("5 safety number mismatch", help.Stdout, StringComparison.Ordinal);
    }
}
