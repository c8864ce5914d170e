using EdgeRelay.RelationshipManager.State;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Addresses have finite lives: over a simulated year they are replaced before they expire, and no message is lost.</summary>
public sealed class RotationTests
{
    [Fact]
    public async Task Over_a_simulated_year_addresses_rotate_on_two_receiving_services_with_no_message_lost_or_doubled()
    {
        // One fake clock for the relays and both RMs: the relays expire addresses by it, the RMs rotate by it.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var north = await LoopbackRelay.StartAsync(time: time);
        await using var south = await LoopbackRelay.StartAsync(time: time);
        await using var alice = await Person.InitializeAsync("alice", north, time);
        await using var bob = await Person.InitializeAsync("bob", south, time);
        await alice.Rm.AddServiceAsync(south.Endpoint, ServiceUse.Receiving);
        await bob.Rm.AddServiceAsync(north.Endpoint, ServiceUse.Receiving);
        await Traffic.IntroduceAsync(alice, bob);

        var start = time.GetUtcNow();
        var toBob = new List<string>();
        var toAlice = new List<string>();
        for (var day = 3; day <= 366; day += 3)
        {
            time.Advance(TimeSpan.FromDays(3));
            toBob.Add($"alice on day {day}");
            toAlice.Add($"bob on day {day}");
            Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), toBob[^1])).Status);
            Assert.Equal(MessageStatus.Sent, (await bob.Rm.SendAsync(bob.Contact("alice"), toAlice[^1])).Status);
            await Traffic.SettleAsync(alice, bob);
        }

        Assert.Equal(toBob, Traffic.Received(bob, "alice"));
        Assert.Equal(toAlice, Traffic.Received(alice, "bob"));
        Assert.All(alice.Rm.GetMessages(alice.Contact("bob"), int.MaxValue).Where(m => m.Outgoing), m => Assert.Equal(MessageStatus.Delivered, m.Status));

        // Each 30-day address was replaced about twenty days in: some eighteen on each of the two services.
        foreach (var person in new[] { alice, bob })
        {
            using var state = RmDatabase.Open(person.Options.DatabasePath);
            var addresses = state.GetAddresses(OwnAddressState.Relationship);
            Assert.InRange(addresses.Count, 2 * 15, 2 * 25);
            Assert.All(state.GetServices(), s => Assert.InRange(addresses.Count(a => a.ServiceId == s.Id), 15, 25));
            var announced = state.GetOurCards(person.Contact(person == alice ? "bob" : "alice").Id).Where(c => c.ReplacedAt is null).ToList();
            Assert.Equal(2, announced.Count);
            Assert.All(announced, c => Assert.True(c.Address.ExpiresAt > time.GetUtcNow() + TimeSpan.FromDays(10), $"{person.Name}: {c.Address.ExpiresAt - time.GetUtcNow()} {c.Address.State} {c.AddedAt - start}"));
        }

        Assert.True(time.GetUtcNow() - start >= TimeSpan.FromDays(365));
    }
}
