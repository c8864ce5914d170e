using System.Collections.Concurrent;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Several stores on the same streams, as several relay nodes of one service run: each sees what the others
/// wrote, in the same order, and a store opened later rebuilds the same index. The conformance suites check one
/// store; these check that the stores agree.
/// </summary>
public sealed class SharedStreamsTests : IAsyncLifetime
{
    private readonly JetStreamBackend _backend = new();
    private readonly List<JetStreamStorage> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    [SkippableFact]
    public async Task Each_node_sees_the_others_addresses_messages_and_acks_and_is_told_of_their_messages()
    {
        var a = await OpenAsync();
        var b = await OpenAsync();
        var arrivedAtB = new ConcurrentQueue<AddressId>();
        var arrivedAtA = new ConcurrentQueue<AddressId>();
        b.RemoteArrival = arrivedAtB.Enqueue;
        a.RemoteArrival = arrivedAtA.Enqueue;

        var aid = AddressId.NewRandom();
        await a.WaitDurableAsync(await a.CreateAddressAsync(aid, StorageConformance.Key(1), _backend.Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()), Eventually.Deadline());
        await Eventually.TrueAsync(() => b.TryGetAddress(aid, out _), "node B knows the address node A created");

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(AppendStatus.Appended, a.TryAppend(aid, StorageConformance.Payload(i, 100), out _, out _));
        }

        await a.FlushAsync().WaitAsync(Eventually.Deadline());
        var ids = Pending(a, aid);
        Assert.Equal(10, ids.Length);
        await Eventually.TrueAsync(() => Pending(b, aid).Length == 10, "node B lists node A's messages");
        Assert.Equal(ids, Pending(b, aid));
        Assert.Equal(Enumerable.Repeat(aid, 10), arrivedAtB);
        Assert.Empty(arrivedAtA); // a node is not told of its own messages: its SENDs told its push hub already

        // B reads a message it never received a SEND for, and acks three; A's index follows.
        var buffer = new byte[100];
        Assert.Equal(100, await b.ReadAsync(aid, new PendingMessage(ids[4], 100, 0), buffer, Eventually.Deadline()));
        Assert.Equal(StorageConformance.Payload(4, 100), buffer);
        var (status, ticket) = await b.AckAsync(aid, new[] { ids[0], ids[4], ids[9] });
        Assert.Equal(AckStatus.Acked, status);
        await b.WaitDurableAsync(ticket, Eventually.Deadline());
        await Eventually.TrueAsync(() => Pending(a, aid).Length == 7, "node A drops what node B's owner acknowledged");
        Assert.Equal(Pending(b, aid), Pending(a, aid));
        Assert.Equal(-1, await a.ReadAsync(aid, new PendingMessage(ids[4], 100, 0), buffer, Eventually.Deadline()));
        Assert.Equal(a.GetStatistics().PendingBytes, b.GetStatistics().PendingBytes);
    }

    [SkippableFact]
    public async Task Registry_changes_from_two_nodes_converge_on_the_last_in_stream_order_and_a_late_node_rebuilds_the_same_index()
    {
        var a = await OpenAsync();
        var b = await OpenAsync();
        var aid = AddressId.NewRandom();
        await a.WaitDurableAsync(await a.CreateAddressAsync(aid, StorageConformance.Key(1), _backend.Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()), Eventually.Deadline());
        await Eventually.TrueAsync(() => b.TryGetAddress(aid, out _), "node B knows the address");

        // Each node changes the address several times, interleaved, without waiting: every node must end with
        // the same entry, the one written last in the stream.
        var tickets = new List<(JetStreamStorage Store, DurabilityTicket Ticket)>();
        for (var i = 1; i <= 5; i++)
        {
            tickets.Add((a, (await a.SetPolicyAsync(aid, DeliveryPolicy.Batched(TimeSpan.FromSeconds(i)))).Ticket));
            tickets.Add((b, (await b.SetNotifyEndpointAsync(aid, "https://wake.example/" + i)).Ticket));
        }

        foreach (var (store, ticket) in tickets)
        {
            await store.WaitDurableAsync(ticket, Eventually.Deadline());
        }

        await Eventually.TrueAsync(() => Same(a, b, aid), () => $"the nodes disagree: {Describe(a, aid)} against {Describe(b, aid)}");

        var late = await OpenAsync();
        Assert.True(Same(a, late, aid), $"a node opened later has {Describe(late, aid)}, the others {Describe(a, aid)}");
        Assert.Equal(a.GetStatistics().Addresses, late.GetStatistics().Addresses);
    }

    private static MessageId[] Pending(JetStreamStorage store, AddressId aid)
    {
        var page = new PendingMessage[1000];
        var n = store.GetPending(aid, MessageId.None, page);
        return page[..n].Select(p => p.Id).ToArray();
    }

    private static bool Same(JetStreamStorage x, JetStreamStorage y, AddressId aid) =>
        x.TryGetAddress(aid, out var a) && y.TryGetAddress(aid, out var b)
        && a.Policy == b.Policy && a.NotifyEndpoint == b.NotifyEndpoint && a.ExpiresAt == b.ExpiresAt && a.RevokedAt == b.RevokedAt;

    private static string Describe(JetStreamStorage store, AddressId aid) =>
        store.TryGetAddress(aid, out var info) ? $"({info.Policy}, {info.NotifyEndpoint})" : "(none)";

    private async Task<JetStreamStorage> OpenAsync()
    {
        var store = await JetStreamStorage.OpenAsync(await _backend.OptionsAsync(), _backend.Time);
        _stores.Add(store);
        return store;
    }
}
