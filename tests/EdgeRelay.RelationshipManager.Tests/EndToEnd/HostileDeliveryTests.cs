using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// What a relay (or anyone holding a card) can do to an RM's traffic: deliver twice, out of order, altered,
/// or sealed for someone else. Each is handled, and nothing false is shown as a message.
/// </summary>
public sealed class HostileDeliveryTests
{
    [Fact]
    public async Task Duplicates_and_reordering_show_each_message_once()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (relay, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);
        var envelopes = await SealWhileRelayIsDownAsync(relay, bob, "alice", "one", "two", "three");

        var card = AliceCardForBob(alice);
        await using (var client = await RelayClient.ConnectAsync(card.Endpoint))
        {
            foreach (var envelope in new[] { envelopes[2], envelopes[0], envelopes[2], envelopes[1], envelopes[0] })
            {
                await client.SendAsync(card, envelope);
            }
        }

        var messages = (await alice.Rm.ReceiveAsync()).OfType<MessageReceived>().Select(m => m.Text).ToList();

        Assert.Equal(["three", "one", "two"], messages);
        Assert.Empty((await alice.Rm.ReceiveAsync()).OfType<MessageReceived>());
    }

    [Fact]
    public async Task An_altered_envelope_is_refused_and_the_original_still_opens()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (relay, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);
        var envelope = Assert.Single(await SealWhileRelayIsDownAsync(relay, bob, "alice", "the real one"));
        var card = AliceCardForBob(alice);

        foreach (var position in new[] { 5, 20, envelope.Length / 2, envelope.Length - 1 })
        {
            var altered = envelope.ToArray();
            altered[position] ^= 0x01;
            await using var client = await RelayClient.ConnectAsync(card.Endpoint);
            await client.SendAsync(card, altered);
            var events = await alice.Rm.ReceiveAsync();
            Assert.IsType<EnvelopeRefused>(Assert.Single(events));
        }

        await using (var client = await RelayClient.ConnectAsync(card.Endpoint))
        {
            await client.SendAsync(card, envelope);
        }

        Assert.Equal("the real one", Assert.IsType<MessageReceived>(Assert.Single(await alice.Rm.ReceiveAsync())).Text);
    }

    [Fact]
    public async Task An_envelope_sealed_for_another_relationship_is_refused()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (relay, alice, bob, carol) = cast;
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(carol, bob);
        // Bob's message to carol, delivered to the address alice gave bob: the wrong keys for that relationship.
        var forCarol = Assert.Single(await SealWhileRelayIsDownAsync(relay, bob, "carol", "for carol only"));

        var card = AliceCardForBob(alice);
        await using (var client = await RelayClient.ConnectAsync(card.Endpoint))
        {
            await client.SendAsync(card, forCarol);
        }

        var refused = Assert.IsType<EnvelopeRefused>(Assert.Single(await alice.Rm.ReceiveAsync()));
        Assert.Equal("bob", refused.Contact?.Name);
    }

    /// <summary>Sends with the relay down, so the envelopes stay in the sender's outbox, and returns them.</summary>
    private static async Task<List<byte[]>> SealWhileRelayIsDownAsync(LoopbackRelay relay, Person sender, string to, params string[] texts)
    {
        await relay.StopAsync();
        foreach (var text in texts)
        {
            Assert.Equal(MessageStatus.Queued, (await sender.Rm.SendAsync(sender.Contact(to), text)).Status);
        }

        await relay.StartAgainAsync();
        using var database = RmDatabase.Open(sender.Options.DatabasePath);
        var envelopes = database.GetOutbox().Select(o => o.Envelope).ToList();
        using (var writer = database.BeginWrite())
        {
            // Emptied so that the sender's next operation does not deliver them itself.
            foreach (var entry in database.GetOutbox())
            {
                writer.RemoveOutbox(entry.Id);
            }

            writer.Commit();
        }

        return envelopes;
    }

    private static AddressCard AliceCardForBob(Person alice)
    {
        using var database = RmDatabase.Open(alice.Options.DatabasePath);
        var relationship = database.GetRelationships().Single(r => r.Name == "bob");
        return AddressCard.Decode(database.GetAddress(relationship.OurAddress)!.Card);
    }
}
