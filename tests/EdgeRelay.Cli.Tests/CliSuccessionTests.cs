namespace EdgeRelay.Cli.Tests;

/// <summary>Moving to another app with edgerelay-rm (docs/RM-PROTOCOL.md §9.2), each verb its own process.</summary>
public sealed class CliSuccessionTests
{
    [Fact]
    public async Task The_old_app_hands_over_the_new_one_is_followed_and_the_conversation_continues()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        using var carol = new RmCli("carol");
        using var alice2 = new RmCli("alice");
        await CliConversationTests.IntroduceAsync(relay, alice, bob); // verified
        Assert.Equal(0, (await carol.InitAsync(relay.Endpoint)).ExitCode);
        Assert.Equal(0, (await alice2.InitAsync(relay.Endpoint)).ExitCode);
        await carol.JsonAsync("accept", Assert.Single(await alice.JsonAsync("invite")).GetProperty("invitation").GetString()!);
        await alice.JsonAsync("inbox");
        await carol.JsonAsync("inbox");

        var invitation = Assert.Single(await alice2.JsonAsync("successor", "invite")).GetProperty("invitation").GetString()!;
        Assert.StartsWith("edgerelay-successor1:", invitation, StringComparison.Ordinal);
        var refused = await alice.RunAsync(["successor", "handover", invitation.Replace("successor1", "successor2", StringComparison.Ordinal), "--json"]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("not-a-successor-invitation", Assert.Single(refused.JsonLines()).GetProperty("error").GetString());
        var told = Assert.Single(await alice.JsonAsync("successor", "handover", invitation)).GetProperty("told");
        Assert.Equal(2, told.GetArrayLength());
        Assert.All(told.EnumerateArray(), c => Assert.Equal("handed-over", c.GetProperty("state").GetString()));

        Assert.Equal("successor", Assert.Single(await bob.JsonAsync("inbox")).GetProperty("type").GetString());
        var proposed = Assert.Single(await carol.JsonAsync("inbox"));
        Assert.Equal("successor-proposed", proposed.GetProperty("type").GetString());
        Assert.Equal(60, proposed.GetProperty("safetyNumber").GetString()!.Count(char.IsDigit));
        var accepted = Assert.Single(await carol.JsonAsync("successor", "accept", "alice"));
        Assert.Equal("awaiting-reply", accepted.GetProperty("state").GetString());
        Assert.Equal(2, (await carol.RunAsync(["successor", "decline", "alice"])).ExitCode); // nothing left to decline

        var continued = await alice2.JsonAsync("inbox");
        Assert.Equal(["bob", "carol"], continued.Where(e => e.GetProperty("type").GetString() == "continued").Select(e => e.GetProperty("contact").GetString()).Order());

        var sent = await alice2.RunAsync(["send", "bob", "from the new app"]);
        Assert.True(sent.ExitCode == 0, sent.Stderr);
        var arrived = await bob.JsonAsync("inbox");
        Assert.Contains(arrived, e => e.GetProperty("type").GetString() == "message" && e.GetProperty("text").GetString() == "from the new app");
        var oldApp = await alice.RunAsync(["send", "bob", "from the old app"]);
        Assert.Equal(2, oldApp.ExitCode);
    }

    [Fact]
    public async Task Two_apps_of_one_person_merge_their_relationships_with_a_contact()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var phone = new RmCli("alice");
        using var laptop = new RmCli("alice-laptop");
        using var bob = new RmCli("bob");
        await CliConversationTests.IntroduceAsync(relay, phone, bob);
        var laptopIdentity = Assert.Single(await laptop.JsonAsync(["init", "--name", laptop.Name, "--relay", relay.Endpoint, .. RmCli.CheapKdf])).GetProperty("identity").GetString()!;
        await bob.JsonAsync("accept", Assert.Single(await laptop.JsonAsync("invite")).GetProperty("invitation").GetString()!);
        await laptop.JsonAsync("inbox");
        await bob.JsonAsync("inbox");
        var phoneIdentity = Assert.Single(await bob.JsonAsync("contacts"), c => c.GetProperty("name").GetString() == "alice").GetProperty("identity").GetString()!;

        var bad = await phone.RunAsync(["merge", "request", "bob", "12ab", "--json"]);
        Assert.Equal(1, bad.ExitCode);
        await phone.JsonAsync("merge", "request", "bob", laptopIdentity);
        await laptop.JsonAsync("merge", "request", "bob", phoneIdentity, "--keep-this");

        var merged = Assert.Single(await bob.JsonAsync("inbox"));
        Assert.Equal("merged", merged.GetProperty("type").GetString());
        Assert.Equal("alice-laptop", merged.GetProperty("into").GetString());
        Assert.Equal(2, (await bob.RunAsync(["merge", "accept", "alice-laptop"])).ExitCode); // nothing left to decide
    }

    [Fact]
    public async Task A_backup_is_named_recorded_and_followed_without_asking()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var carol = new RmCli("carol");
        using var backup = new RmCli("alice");
        Assert.Equal(0, (await alice.InitAsync(relay.Endpoint)).ExitCode);
        Assert.Equal(0, (await carol.InitAsync(relay.Endpoint)).ExitCode);
        var backupIdentity = Assert.Single(await backup.JsonAsync(["init", "--name", backup.Name, "--relay", relay.Endpoint, .. RmCli.CheapKdf])).GetProperty("identity").GetString()!;
        await carol.JsonAsync("accept", Assert.Single(await alice.JsonAsync("invite")).GetProperty("invitation").GetString()!);
        await alice.JsonAsync("inbox");
        await carol.JsonAsync("inbox");

        Assert.Equal(1, (await alice.RunAsync(["backup", "set", "not-hex"])).ExitCode);
        Assert.Single(Assert.Single(await alice.JsonAsync("backup", "set", backupIdentity)).GetProperty("told").EnumerateArray());
        Assert.Equal("backup", Assert.Single(await carol.JsonAsync("inbox")).GetProperty("type").GetString());
        Assert.Equal(backupIdentity, Assert.Single(await carol.JsonAsync("backup", "show", "alice")).GetProperty("backup").GetString());

        await alice.JsonAsync("successor", "handover", Assert.Single(await backup.JsonAsync("successor", "invite")).GetProperty("invitation").GetString()!);
        var followed = Assert.Single(await carol.JsonAsync("inbox"));
        Assert.Equal("successor", followed.GetProperty("type").GetString());
        Assert.True(followed.GetProperty("automatically").GetBoolean());
    }
}
