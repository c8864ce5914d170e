using System.Text.Json;

namespace EdgeRelay.Cli.Tests;

/// <summary>A group of three with edgerelay-rm, each person in their own home, through a relay on loopback.</summary>
public sealed class CliGroupTests
{
    [Fact]
    public async Task Create_list_send_and_refuse_a_change_from_a_member_who_is_not_the_admin()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        using var carol = new RmCli("carol");
        foreach (var person in new[] { alice, bob, carol })
        {
            Assert.Equal(0, (await person.InitAsync(relay.Endpoint)).ExitCode);
        }

        foreach (var friend in new[] { bob, carol })
        {
            var invitation = Assert.Single(await alice.JsonAsync("invite")).GetProperty("invitation").GetString()!;
            await friend.JsonAsync("accept", invitation);
            await alice.JsonAsync("inbox");
            await friend.JsonAsync("inbox");
        }

        var created = Assert.Single(await alice.JsonAsync("groups", "create", "friends", "bob", "carol"));
        Assert.Equal("admin", created.GetProperty("standing").GetString());
        await SettleAsync(alice, bob, carol);

        var views = new List<string>();
        foreach (var person in new[] { alice, bob, carol })
        {
            var group = Assert.Single(await person.JsonAsync("groups", "list"));
            Assert.Equal(1, group.GetProperty("epoch").GetInt32());
            views.Add(string.Join(",", group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("identity").GetString())));
        }

        Assert.Single(views.Distinct());

        var sent = Assert.Single(await bob.JsonAsync("groups", "send", "friends", "hello, both")).GetProperty("id").GetString();
        var seen = await SettleAsync(alice, bob, carol);
        foreach (var recipient in new[] { alice, carol })
        {
            var message = Assert.Single(seen[recipient], e => e.GetProperty("type").GetString() == "group-message");
            Assert.Equal(sent, message.GetProperty("id").GetString());
            Assert.Equal("hello, both", message.GetProperty("text").GetString());
            Assert.Equal("bob", message.GetProperty("sender").GetString());
        }

        var refused = await carol.RunAsync(["groups", "add", "friends", "alice", "--json"]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("not-group-admin", Assert.Single(refused.JsonLines()).GetProperty("error").GetString());
    }

    /// <summary>Runs inbox for each person in turn until a whole round prints nothing; returns what each printed.</summary>
    private static async Task<Dictionary<RmCli, List<JsonElement>>> SettleAsync(params RmCli[] people)
    {
        var seen = people.ToDictionary(p => p, _ => new List<JsonElement>());
        for (var round = 0; round < 10; round++)
        {
            var moved = false;
            foreach (var person in people)
            {
                var printed = await person.JsonAsync("inbox");
                seen[person].AddRange(printed);
                moved |= printed.Count > 0;
            }

            if (!moved)
            {
                return seen;
            }
        }

        throw new InvalidOperationException("The group did not settle within 10 rounds.");
    }
}
