using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;
using EdgeRelay.Testing.Nats;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// The store when the cluster under it loses servers: a lost stream leader costs an election, not a write; a
/// cluster gone for longer than the retry window fails the store for good, and nothing it had not made durable
/// was promised. Each test has a cluster of its own, since it kills servers.
/// </summary>
public sealed class EngineFaultTests
{
    private static readonly FakeTimeProvider Time = new(StorageBackend.Start);

    [SkippableFact]
    public async Task Writes_wait_out_the_election_after_the_stream_leader_is_killed_and_nothing_is_lost()
    {
        await using var cluster = await NatsCluster.StartAsync(3);
        var options = Options(cluster);
        await using var store = await JetStreamStorage.OpenAsync(options, Time);
        var aid = await CreateAsync(store);
        Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, StorageConformance.Payload(0, 64), out _, out _));
        await store.FlushAsync().WaitAsync(Eventually.Deadline());

        await cluster.KillAsync(await StreamLeaderAsync(cluster, options.MessageStream(0)));
        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, StorageConformance.Payload(i, 64), out _, out _));
        }

        // Published into the election: retried with the same Msg-Id until a new leader takes them, stored once.
        await store.FlushAsync().WaitAsync(Eventually.Deadline(TimeSpan.FromSeconds(60)));
        Assert.Null(store.Failure);
        var pending = new PendingMessage[100];
        Assert.Equal(21, store.GetPending(aid, MessageId.None, pending));

        // A node opened now, on the two servers left, rebuilds the same 21 messages, each once.
        await using var late = await JetStreamStorage.OpenAsync(options, Time);
        var again = new PendingMessage[100];
        Assert.Equal(21, late.GetPending(aid, MessageId.None, again));
        Assert.Equal(pending[..21].Select(p => p.Id), again[..21].Select(p => p.Id));
    }

    [SkippableFact]
    public async Task A_cluster_gone_past_the_retry_window_fails_the_store_for_good_and_it_says_so()
    {
        await using var cluster = await NatsCluster.StartAsync(3);
        var options = Options(cluster);
        options.PublishRetryWindow = TimeSpan.FromSeconds(1);
        await using var store = await JetStreamStorage.OpenAsync(options, Time);
        var aid = await CreateAsync(store);
        Assert.Null(store.NotReadyReason);

        for (var node = 0; node < 3; node++)
        {
            await cluster.KillAsync(node);
        }

        await Eventually.TrueAsync(() => store.NotReadyReason is not null, "the store reports the cluster unreachable");
        Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, StorageConformance.Payload(1, 64), out _, out var ticket));
        await Assert.ThrowsAsync<IOException>(() => store.WaitDurableAsync(ticket).AsTask().WaitAsync(Eventually.Deadline(TimeSpan.FromSeconds(60))));
        Assert.NotNull(store.Failure);
        Assert.False(store.IsDurable(ticket));

        // For good: a later write never becomes durable either, even with the cluster back.
        await cluster.RestartAsync([0, 1, 2]);

        Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, StorageConformance.Payload(2, 64), out _, out var later));
        await Assert.ThrowsAsync<IOException>(() => store.WaitDurableAsync(later).AsTask().WaitAsync(Eventually.Deadline()));
    }

    private static JetStreamStorageOptions Options(NatsCluster cluster) => new()
    {
        Url = cluster.Url,
        StreamPrefix = "FAULT",
        Replicas = 3,
        MaxPayloadBytes = 4096,
    };

    private static async Task<AddressId> CreateAsync(JetStreamStorage store)
    {
        var aid = AddressId.NewRandom();
        await store.WaitDurableAsync(await store.CreateAddressAsync(aid, StorageConformance.Key(1), Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()), Eventually.Deadline());
        return aid;
    }

    private static async Task<int> StreamLeaderAsync(NatsCluster cluster, string stream)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Url });
        var info = await new NatsJSContext(connection).GetStreamAsync(stream);
        return cluster.IndexOf(info.Info.Cluster!.Leader!);
    }
}
