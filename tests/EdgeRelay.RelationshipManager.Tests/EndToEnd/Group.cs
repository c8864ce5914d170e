using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>What the group tests share: making a group of three, letting every RM collect until nothing moves, and the checks.</summary>
internal static class Group
{
    /// <summary>A group "friends" of Alice (admin), Bob and Carol, where Bob and Carol meet through the group.</summary>
    public static async Task<GroupId> OfThreeAsync(Person alice, Person bob, Person carol)
    {
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(alice, carol);
        var group = await alice.Rm.CreateGroupAsync("friends", [alice.Contact("bob"), alice.Contact("carol")]);
        await SettleAsync(alice, bob, carol);
        AssertSameView(group.Id, 1, alice, bob, carol);
        return group.Id;
    }

    /// <summary>
    /// Every person collects, in turn, until a whole round brings nothing: what each saw, in order. Bounded, so
    /// that a protocol that never settles fails instead of hanging.
    /// </summary>
    public static async Task<Dictionary<Person, List<RmEvent>>> SettleAsync(params Person[] people)
    {
        var seen = people.ToDictionary(p => p, _ => new List<RmEvent>());
        for (var round = 0; round < 20; round++)
        {
            var moved = false;
            foreach (var person in people)
            {
                var events = await person.Rm.ReceiveAsync();
                seen[person].AddRange(events);
                moved |= events.Count > 0;
            }

            if (!moved)
            {
                return seen;
            }
        }

        throw new InvalidOperationException("The group did not settle within 20 rounds.");
    }

    /// <summary>Each person sees the group at <paramref name="epoch"/> with the same members, in the same order, under the same names.</summary>
    public static void AssertSameView(GroupId group, ulong epoch, params Person[] people)
    {
        var views = people.Select(p => p.Rm.GetGroup(group)).ToList();
        foreach (var (view, person) in views.Zip(people))
        {
            Assert.True(view.Epoch == epoch, $"{person.Name} is at epoch {view.Epoch}, not {epoch}");
            Assert.Equal(GroupStanding.Member, view.Standing);
            Assert.Equal(people.Select(p => p.Rm.Identity).OrderBy(i => i.ToString()), view.Members.Select(m => m.Identity).OrderBy(i => i.ToString()));
            Assert.Equal(views[0].Members.Select(m => (m.Identity, m.Name)), view.Members.Select(m => (m.Identity, m.Name)));
            Assert.Equal(person.Rm.Identity, Assert.Single(view.Members, m => m.IsYou).Identity);
        }
    }

    /// <summary><paramref name="sent"/> reached each of <paramref name="recipients"/> exactly once, from its sender.</summary>
    public static void AssertReceivedOnce(Dictionary<Person, List<RmEvent>> events, StoredGroupMessage sent, string sender, params Person[] recipients)
    {
        foreach (var recipient in recipients)
        {
            var received = Assert.Single(events[recipient].OfType<GroupMessageReceived>(), m => m.Id == sent.Id);
            Assert.Equal(sent.Text, received.Text);
            Assert.Equal(sender, received.SenderName);
            Assert.Equal(sent.Sender, received.Sender);
            Assert.Single(recipient.Rm.GetGroupMessages(sent.Group), m => m.Id == sent.Id);
        }
    }
}
