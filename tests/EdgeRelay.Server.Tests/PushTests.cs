using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Storage;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>SUBSCRIBE/DELIVER over loopback: policies, credit, redelivery, and that the policy survives a restart.</summary>
public sealed class PushTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Immediate_pushes_a_message_without_polling()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, owner.Key);
        await using var subscription = await rm.SubscribeAsync(created.Id, credit: 16);

        await using var sender = await relay.ConnectAsync();
        await sender.SendAsync(created.Card, Encoding.UTF8.GetBytes("hello"));

        var delivered = await ReadAsync(subscription);
        var message = Assert.Single(delivered);
        Assert.Equal("hello", Encoding.UTF8.GetString(message.Ciphertext.Span));

        // Pushed moments after it arrived: read from the mirror of recent records, not the disk.
        var reads = relay.Host.Server.Storage.GetStatistics();
        Assert.Equal((1L, 0L), (reads.MemoryReads, reads.DeviceReads));

        // Acked messages are gone; nothing else is pending.
        await subscription.AckAsync([message.Id]);
        Assert.Empty((await rm.PullAsync(created.Id)).Messages);
    }

    [Fact]
    public async Task Subscribing_pushes_the_backlog_in_order()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await using var sender = await relay.ConnectAsync();
        for (var i = 0; i < 50; i++)
        {
            await sender.SendAsync(created.Card, BitConverter.GetBytes(i));
        }

        await rm.AuthenticateAsync(created.Id, owner.Key);
        await using var subscription = await rm.SubscribeAsync(created.Id, credit: 1000);
        var received = new List<ReceivedMessage>();
        while (received.Count < 50)
        {
            received.AddRange(await ReadAsync(subscription));
        }

        Assert.Equal(Enumerable.Range(0, 50), received.Select(m => BitConverter.ToInt32(m.Ciphertext.Span)));
    }

    // Batched delivery is timing: it is tested on the relay's fake clock, end to end over a session
    // (Harness/SessionTests: no push inside the window, one push for the burst) and on the push hub
    // (EdgeRelay.Delivery.Tests: the next message waits a window after the previous push), not against the wall clock.

    [Fact]
    public async Task Pull_only_never_pushes_and_the_policy_survives_a_restart()
    {
        using var data = new TempDirectory();
        var dataDir = data.Path;
        {
            using var owner = new Owner();
            CreatedAddress created;
            await using (var relay = await TestRelay.StartAsync(dataDir: dataDir))
            {
                await using var rm = await relay.ConnectAsync();
                created = await owner.CreateAddressAsync(rm);
                await rm.AuthenticateAsync(created.Id, owner.Key);
                await rm.SetPolicyAsync(created.Id, DeliveryPolicy.PullOnly);
                await AssertNeverPushedAsync(relay, rm, created, owner);
            }

            await using (var relay = await TestRelay.StartAsync(dataDir: dataDir))
            {
                await using var rm = await relay.ConnectAsync();
                await rm.AuthenticateAsync(created.Id, owner.Key);
                await AssertNeverPushedAsync(relay, rm, created, owner);

                // Back to immediate: the waiting messages are pushed at once.
                await using var subscription = await rm.SubscribeAsync(created.Id, credit: 100);
                await rm.SetPolicyAsync(created.Id, DeliveryPolicy.Immediate);
                var pushed = new List<ReceivedMessage>();
                while (pushed.Count < 6)
                {
                    pushed.AddRange(await ReadAsync(subscription));
                }
            }
        }

        static async Task AssertNeverPushedAsync(TestRelay relay, RelayClient rm, CreatedAddress created, Owner owner)
        {
            Assert.True(relay.Host.Server.Storage.TryGetAddress(created.Id, out var info));
            Assert.Equal(DeliveryPolicy.PullOnly, info.Policy); // set over the wire, and (second call) kept across the restart
            var before = (await rm.PullAsync(created.Id, 1000)).Messages.Count;
            await using var subscription = await rm.SubscribeAsync(created.Id, credit: 100);
            await using var sender = await relay.ConnectAsync();
            for (var i = 0; i < 3; i++)
            {
                await sender.SendAsync(created.Card, BitConverter.GetBytes(i));
            }

            // A message pushed would be in flight to the subscription, and PULL leaves those alone: all of them
            // pulled means none was pushed. (That a pull-only address is never pushed at all, later either, is
            // checked at each delivery on the push hub: EdgeRelay.Delivery.Tests.)
            Assert.Equal(before + 3, (await rm.PullAsync(created.Id, 1000)).Messages.Count);
            Assert.False(subscription.Deliveries.TryRead(out _), "a pull-only address was pushed");
        }
    }

    [Fact]
    public async Task Unacked_messages_are_redelivered_after_the_connection_drops_and_are_in_flight_on_one_connection_at_a_time()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var setup = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(setup);
        await using var sender = await relay.ConnectAsync();

        var first = await relay.ConnectAsync();
        await first.AuthenticateAsync(created.Id, owner.Key);
        var firstSubscription = await first.SubscribeAsync(created.Id, credit: 8);
        await using var second = await relay.ConnectAsync();
        await second.AuthenticateAsync(created.Id, owner.Key);
        var secondSubscription = await second.SubscribeAsync(created.Id, credit: 8);

        for (var i = 0; i < 12; i++)
        {
            await sender.SendAsync(created.Card, BitConverter.GetBytes(i));
        }

        var toFirst = new List<ReceivedMessage>();
        var toSecond = new List<ReceivedMessage>();
        await Eventually.TrueAsync(
            () =>
            {
                toFirst.AddRange(Drain(firstSubscription));
                toSecond.AddRange(Drain(secondSubscription));
                return toFirst.Count + toSecond.Count >= 12;
            },
            "the twelve messages to be pushed");

        // There are twelve messages and each is in flight to one subscriber until acked: any more would be one
        // delivered twice, which the intersection below catches (and the push hub's tests check at each delivery).
        Assert.Equal(12, toFirst.Count + toSecond.Count);
        Assert.Empty(toFirst.Select(m => m.Id).Intersect(toSecond.Select(m => m.Id))); // never both at once
        Assert.NotEmpty(toFirst);

        // A PULL leaves messages in flight to a live subscriber alone.
        var pulled = await second.PullAsync(created.Id, 100);
        Assert.Empty(pulled.Messages.Select(m => m.Id).Intersect(toFirst.Select(m => m.Id)));

        // The first RM connection drops without acking: its messages go to the second, same ids.
        await secondSubscription.AckAsync(toSecond.Select(m => m.Id).ToArray());
        await first.DisposeAsync();
        var redelivered = new List<ReceivedMessage>();
        while (redelivered.Count < toFirst.Count)
        {
            redelivered.AddRange(await ReadAsync(secondSubscription));
        }

        Assert.Equal(toFirst.Select(m => m.Id).Order(), redelivered.Select(m => m.Id).Order());
        await secondSubscription.AckAsync(redelivered.Select(m => m.Id).ToArray());
        Assert.Empty((await second.PullAsync(created.Id)).Messages);

        static List<ReceivedMessage> Drain(PushSubscription subscription)
        {
            var all = new List<ReceivedMessage>();
            while (subscription.Deliveries.TryRead(out var batch))
            {
                all.AddRange(batch);
            }

            return all;
        }
    }

    [Fact]
    public async Task A_new_subscription_gets_what_an_unsubscribed_one_left_unacked()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, owner.Key);
        await using var sender = await relay.ConnectAsync();
        await sender.SendAsync(created.Card, "once"u8.ToArray());

        var subscription = await rm.SubscribeAsync(created.Id, credit: 4);
        var id = Assert.Single(await ReadAsync(subscription)).Id;
        await subscription.DisposeAsync();

        await using var again = await rm.SubscribeAsync(created.Id, credit: 4);
        Assert.Equal(id, Assert.Single(await ReadAsync(again)).Id);
    }

    internal static async Task<ReceivedMessage[]> ReadAsync(PushSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await subscription.Deliveries.ReadAsync(timeout.Token);
    }

    internal static async Task SendManyAsync(RelayClient sender, AddressCard card, byte[] payload, int count)
    {
        var address = RelayClient.DeriveEphemeralAddress(card);
        for (var sent = 0; sent < count; sent += 64)
        {
            await Task.WhenAll(Enumerable.Range(0, Math.Min(64, count - sent)).Select(_ => sender.SendAsync(address, payload)));
        }
    }
}

/// <summary>
/// Measures the process' managed heap, so it runs alone: the other test classes of this assembly run in
/// parallel and allocate (the soak test moves 150 MiB), which a heap reading cannot tell apart.
/// </summary>
[Collection(HeapMeasurement.Name)]
public sealed class PushMemoryTests
{
    [Fact]
    public async Task A_subscriber_without_credit_gets_nothing_and_the_server_buffers_nothing_for_it()
    {
        // The sender streams far past the default SEND rate to fill the address: the limit is not under test.
        await using var relay = await TestRelay.StartAsync(o => o.Limits.SendsPerSecondPerConnection = 0);
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        var other = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, owner.Key);
        await using var sender = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = 64 });
        var payload = new byte[16 * 1024];

        // Fill the log's memory once through another address, so its pages exist before measuring.
        await PushTests.SendManyAsync(sender, other.Card, payload, 2048);
        var before = ManagedHeap();

        await using var subscription = await rm.SubscribeAsync(created.Id, credit: 0);
        await PushTests.SendManyAsync(sender, created.Card, payload, 2048); // 32 MiB for a subscriber that granted nothing
        Assert.False(subscription.Deliveries.TryRead(out _));
        Assert.Equal(0, InFlight(relay, created.Id)); // nothing was assigned to it: without credit the pump takes nothing
        var grown = ManagedHeap() - before;
        Assert.True(grown < 8L << 20, $"the managed heap grew by {grown >> 20} MiB while 32 MiB waited for a subscriber without credit");

        // Credit is what lets messages through, exactly as much as granted.
        await subscription.GrantAsync(10);
        var received = new List<ReceivedMessage>();
        while (received.Count < 10)
        {
            received.AddRange(await PushTests.ReadAsync(subscription));
        }

        // Exactly as many as granted: the credit is used up, so what is in flight now is all there will be.
        Assert.Equal(10, received.Count);
        Assert.Equal(10, InFlight(relay, created.Id));
        Assert.False(subscription.Deliveries.TryRead(out _));

        static int InFlight(TestRelay relay, AddressId aid)
        {
            var pending = new PendingMessage[4096];
            var n = relay.Host.Server.Storage.GetPending(aid, MessageId.None, pending);
            return pending[..n].Count(m => relay.Host.Server.Push.IsInFlight(aid, m.Id));
        }

        static long ManagedHeap()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return GC.GetTotalMemory(forceFullCollection: true);
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurement
{
    public const string Name = "managed heap measurements";
}
