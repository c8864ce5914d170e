using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>The commands besides messages, each through a relay: name updates, card refresh, read receipts, key changes, policies.</summary>
public sealed class RelationshipCommandTests
{
    [Fact]
    public async Task A_new_name_reaches_every_contact()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);

        await bob.Rm.SetNameAsync("robert");

        var updated = Assert.IsType<ContactUpdated>(Assert.Single(await alice.Rm.ReceiveAsync()));
        Assert.Equal("robert", updated.Contact.Name);
        Assert.Equal("robert", alice.Contact("robert").Name);
        Assert.Equal("robert", bob.Rm.Name);
    }

    [Fact]
    public async Task A_rename_to_another_contacts_name_is_refused_and_the_name_kept()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(alice, carol);

        await bob.Rm.SetNameAsync("carol");

        var refused = Assert.IsType<EnvelopeRefused>(Assert.Single(await alice.Rm.ReceiveAsync()));
        Assert.Equal(nameof(RefusalCode.BadName), refused.Code);
        Assert.Equal(bob.Rm.Identity, alice.Contact("bob").Identity);
        Assert.Equal(carol.Rm.Identity, alice.Contact("carol").Identity);
    }

    [Fact]
    public async Task Two_instances_sharing_a_home_keep_one_ratchet()
    {
        // What two processes on one home do (a following inbox and a send): every ratchet step is read and
        // written in one transaction, so neither puts back a state the other has moved on from.
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);
        await using var second = RelationshipManager.Open(alice.Options, Person.Passphrase);

        var sends = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await second.SendAsync(second.FindContact("bob"), $"from the second instance {i}");
            }
        });
        for (var i = 0; i < 10; i++)
        {
            await alice.Rm.SendAsync(alice.Contact("bob"), $"from the first instance {i}");
            await alice.Rm.SetPolicyAsync(alice.Contact("bob"), i % 2 == 0 ? DeliveryPolicy.PullOnly : DeliveryPolicy.Immediate);
            await alice.Rm.ReceiveAsync();
        }

        await sends;
        var texts = new List<string>();
        for (var round = 0; round < 3; round++)
        {
            texts.AddRange((await bob.Rm.ReceiveAsync()).OfType<MessageReceived>().Select(m => m.Text));
        }

        Assert.Equal(20, texts.Distinct().Count());
        Assert.Equal(20, (await alice.Rm.ReceiveAsync()).OfType<ReceiptReceived>().Sum(r => r.Messages.Count));
        await ConversationTests.Exchange(bob, alice, "and the relationship still works");
    }

    [Fact]
    public async Task A_card_about_to_expire_is_refreshed_by_its_owner_on_request()
    {
        // One fake clock for the relay and both RMs: the cards' expiries, the relay's and the RMs' views agree.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var relay = await LoopbackRelay.StartAsync(time: time);
        static RelationshipManagerOptions TenDays(RelationshipManagerOptions o) => new()
        {
            Home = o.Home,
            Time = o.Time,
            KeyStore = o.KeyStore,
            Client = o.Client,
            AddressRescanInterval = o.AddressRescanInterval,
            AddressLifetime = TimeSpan.FromDays(10),
            RefreshBefore = TimeSpan.FromDays(3),
        };
        await using var alice = await Person.InitializeAsync("alice", relay, time, TenDays);
        await using var bob = await Person.InitializeAsync("bob", relay, time, TenDays);
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Exchange(bob, alice, "not yet due: no request");

        time.Advance(TimeSpan.FromDays(8));
        var due = await bob.Rm.SendAsync(bob.Contact("alice"), "your card expires in two days");
        Assert.Equal(MessageStatus.Sent, due.Status);

        // Alice shows the message (not the request), renews her address and sends the new card.
        // Her receipt carries her own request: bob's card for her is as old as hers.
        Assert.IsType<MessageReceived>(Assert.Single(await alice.Rm.ReceiveAsync()));
        var events = await bob.Rm.ReceiveAsync();
        Assert.Contains(events, e => e is ContactUpdated u && u.Contact.Name == "alice");
        Assert.IsType<ContactUpdated>(Assert.Single(await alice.Rm.ReceiveAsync()));

        time.Advance(TimeSpan.FromDays(5)); // past the first cards' expiry: only the renewed ones still work
        await ConversationTests.Exchange(bob, alice, "still reaching you");
        await ConversationTests.Exchange(alice, bob, "and back");
    }

    [Fact]
    public async Task Read_receipts_are_sent_only_when_enabled()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);

        var first = await alice.Rm.SendAsync(alice.Contact("bob"), "read me");
        var shown = Assert.IsType<MessageReceived>(Assert.Single(await bob.Rm.ReceiveAsync()));
        await bob.Rm.MarkReadAsync(shown.Contact, [shown.Id]);
        Assert.All(await alice.Rm.ReceiveAsync(), e => Assert.Equal(ReceiptKind.Delivered, Assert.IsType<ReceiptReceived>(e).Kind));

        bob.Rm.SetReadReceipts(bob.Contact("alice"), true);
        var second = await alice.Rm.SendAsync(alice.Contact("bob"), "and me");
        shown = Assert.IsType<MessageReceived>(Assert.Single(await bob.Rm.ReceiveAsync()));
        await bob.Rm.MarkReadAsync(shown.Contact, [shown.Id]);

        var receipts = (await alice.Rm.ReceiveAsync()).Cast<ReceiptReceived>().ToList();
        Assert.Contains(receipts, r => r.Kind == ReceiptKind.Read && r.Messages.SequenceEqual([second.Id]));
        var statuses = alice.Rm.GetMessages(alice.Contact("bob")).ToDictionary(m => m.Id, m => m.Status);
        Assert.Equal(MessageStatus.Delivered, statuses[first.Id]);
        Assert.Equal(MessageStatus.Read, statuses[second.Id]);
    }

    [Fact]
    public async Task Someone_with_a_contacts_name_and_other_keys_is_held_until_the_user_accepts()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (relay, alice, bob) = cast;
        await using var impostor = await Person.InitializeAsync("bob", relay);
        await ConversationTests.Introduce(alice, bob);

        await impostor.Rm.AcceptInvitationAsync(await alice.Rm.CreateInvitationAsync());
        var detected = Assert.IsType<KeyChangeDetected>(Assert.Single(await alice.Rm.ReceiveAsync()));
        Assert.Equal(RelationshipState.KeyChangePending, detected.Contact.State);
        Assert.Equal(bob.Rm.Identity, detected.Existing.Identity);

        // Held: nothing goes to the newcomer, and what they send is not shown.
        var refused = await Assert.ThrowsAsync<RmException>(() => alice.Rm.SendAsync(detected.Contact, "is it you?"));
        Assert.Equal(RmError.KeyChangeNotAccepted, refused.Error);
        await impostor.Rm.SendAsync(impostor.Contact("alice"), "it's me, new phone");
        Assert.Empty((await alice.Rm.ReceiveAsync()).OfType<MessageReceived>());
        Assert.Equal(bob.Rm.Identity, alice.Contact("bob").Identity); // the name still means the verified bob

        // A wrong number changes nothing; the right one accepts the new keys, and the old relationship ends.
        Assert.Equal(RmError.SafetyNumberMismatch, Assert.Throws<RmException>(() => alice.Rm.ConfirmVerified(detected.Contact, new string('1', 60))).Error);
        var accepted = alice.Rm.ConfirmVerified(detected.Contact, alice.Rm.GetSafetyNumber(detected.Contact));

        Assert.Equal(RelationshipState.Established, accepted.State);
        Assert.Equal(impostor.Rm.Identity, alice.Contact("bob").Identity);
        Assert.Contains(alice.Rm.GetContacts(), c => c.Identity.Equals(bob.Rm.Identity) && c.State == RelationshipState.TerminatedByUs);
        Assert.Contains(alice.Rm.GetMessages(accepted), m => m.Text == "it's me, new phone");
    }

    [Fact]
    public async Task A_delivery_policy_is_set_at_the_relay_and_kept()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);

        var batched = await alice.Rm.SetPolicyAsync(alice.Contact("bob"), DeliveryPolicy.Batched(TimeSpan.FromSeconds(30)));
        await alice.ReopenAsync();

        Assert.Equal(DeliveryPolicy.Batched(TimeSpan.FromSeconds(30)), batched.Policy);
        Assert.Equal(batched.Policy, alice.Contact("bob").Policy);
        var pullOnly = await alice.Rm.SetPolicyAsync(alice.Contact("bob"), DeliveryPolicy.PullOnly);
        Assert.Equal(DeliveryPolicy.PullOnly, pullOnly.Policy);
        await ConversationTests.Exchange(bob, alice, "pulled, not pushed");
    }
}
