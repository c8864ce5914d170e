using System.Security.Cryptography;
using EdgeRelay.Testing;

namespace EdgeRelay.Addressing.Tests;

/// <summary>
/// The resolution pool and its batches. Most tests start no worker thread and run jobs with
/// <see cref="ResolutionPool.RunOne"/>, so the order of work and every budget are in the test's hands;
/// time is a timestamp the test passes (one tick = one nanosecond).
/// </summary>
public sealed class ResolutionPoolTests : IDisposable
{
    private const long Frequency = 1_000_000_000;
    private const long Now = 1_700_000_000;

    private readonly ServiceKey _key = ServiceKey.Generate();
    private readonly AddressId _aid = AddressId.NewRandom();

    public void Dispose() => _key.Dispose();

    [Fact]
    public async Task A_batch_opens_each_distinct_address_once_and_answers_each_request_in_order()
    {
        var (resolver, pool) = Start();
        using var running = pool;
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var good = Address();
        var expired = Address(notAfter: Now - 1);
        var garbage = Garbage();
        var batch = pool.Rent(MissClass.Anonymous);

        Assert.Equal(MissRefusal.None, batch.Add(10, good, pool, ref budget, 0));
        Assert.Equal(MissRefusal.None, batch.Add(11, garbage, pool, ref budget, 0));
        Assert.Equal(MissRefusal.None, batch.Add(13, good, pool, ref budget, 0)); // a repeat shares the job
        Assert.Equal(MissRefusal.None, batch.Add(14, expired, pool, ref budget, 0));
        Assert.Equal(3, batch.JobCount);
        Assert.Equal(4, batch.EntryCount);

        var resolved = pool.ResolveAsync(batch).AsTask();
        Assert.False(resolved.IsCompleted);
        while (pool.RunOne())
        {
        }

        await resolved;
        Assert.Equal(3, resolver.Opens);
        Assert.True(batch.TryTake(10, Now, out var status, out var aid));
        Assert.Equal((ResolveStatus.Resolved, _aid), (status, aid));
        Assert.True(batch.TryTake(11, Now, out status, out _));
        Assert.Equal(ResolveStatus.Invalid, status);
        Assert.False(batch.TryTake(12, Now, out _, out _)); // not in the batch (a hit, or another command)
        Assert.True(batch.TryTake(13, Now, out status, out aid));
        Assert.Equal((ResolveStatus.Resolved, _aid), (status, aid));
        Assert.True(batch.HasUntaken);
        Assert.True(batch.TryTake(14, Now, out status, out _));
        Assert.Equal(ResolveStatus.Expired, status);
        Assert.False(batch.HasUntaken);

        // What was opened is cached, good and garbage alike: the next SEND of either is a hit.
        Assert.True(resolver.TryResolveCached(good, Now, out status, out _));
        Assert.Equal(ResolveStatus.Resolved, status);
        Assert.True(resolver.TryResolveCached(garbage, Now, out status, out _));
        Assert.Equal(ResolveStatus.Invalid, status);
    }

    [Fact]
    public async Task A_request_the_connection_never_handled_is_skipped_not_misattributed()
    {
        var (resolver, pool) = Start();
        using var running = pool;
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var batch = pool.Rent(MissClass.Anonymous);
        batch.Add(1, Garbage(), pool, ref budget, 0);
        batch.Add(2, Address(), pool, ref budget, 0);
        var resolved = pool.ResolveAsync(batch).AsTask();
        RunAll(pool);
        await resolved;

        Assert.True(batch.TryTake(2, Now, out var status, out _));
        Assert.Equal(ResolveStatus.Resolved, status);
        Assert.False(batch.TryTake(1, Now, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Add(2, Address(), pool, ref budget, 0));
    }

    [Fact]
    public async Task Peer_misses_are_resolved_before_anonymous_ones_queued_earlier()
    {
        var (resolver, pool) = Start();
        using var running = pool;
        var anonymousBudget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var peerBudget = resolver.CreateLimiter(MissClass.Peer, Frequency, 0);
        var anonymous = pool.Rent(MissClass.Anonymous);
        for (var i = 0; i < 3; i++)
        {
            anonymous.Add(i, Garbage(), pool, ref anonymousBudget, 0);
        }

        var peer = pool.Rent(MissClass.Peer);
        for (var i = 0; i < 2; i++)
        {
            peer.Add(i, Address(), pool, ref peerBudget, 0);
        }

        var anonymousDone = pool.ResolveAsync(anonymous).AsTask();
        var peerDone = pool.ResolveAsync(peer).AsTask();
        Assert.Equal(5, pool.QueueDepth);

        Assert.True(pool.RunOne());
        Assert.True(pool.RunOne());
        await peerDone.Within();
        Assert.False(anonymousDone.IsCompleted);
        Assert.Equal(2, pool.Resolved(MissClass.Peer));
        Assert.Equal(0, pool.Resolved(MissClass.Anonymous));

        RunAll(pool);
        await anonymousDone;
        await peerDone;
        Assert.Equal(3, pool.Resolved(MissClass.Anonymous));
        Assert.Equal(0, pool.QueueDepth);
    }

    [Fact]
    public void Each_connection_has_its_own_budget_and_anonymous_ones_share_a_server_wide_bucket()
    {
        // Per connection 4 back to back; all anonymous connections together 6, then 2 per second.
        var (resolver, pool) = Start(o => (o.MissBurst, o.MissesPerSecond, o.AnonymousMissBurst, o.AnonymousMissesPerSecond) = (4, 1, 6, 2));
        using var running = pool;
        var first = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var second = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);

        Assert.Equal([MissRefusal.None, MissRefusal.None, MissRefusal.None, MissRefusal.None, MissRefusal.Connection], Admit(pool, MissClass.Anonymous, ref first, 5, 0));
        Assert.Equal([MissRefusal.None, MissRefusal.None, MissRefusal.Server, MissRefusal.Server], Admit(pool, MissClass.Anonymous, ref second, 4, 0));
        Assert.Equal(1, pool.Refused(MissClass.Anonymous, MissRefusal.Connection));
        Assert.Equal(2, pool.Refused(MissClass.Anonymous, MissRefusal.Server));

        // One second later the bucket has two more. The server's refusals cost the second connection none of
        // its own budget: two tokens left, one more refilled; the bucket is then what refuses.
        Assert.Equal([MissRefusal.None, MissRefusal.None, MissRefusal.Server], Admit(pool, MissClass.Anonymous, ref second, 3, Frequency));
        Assert.Equal(3, pool.Refused(MissClass.Anonymous, MissRefusal.Server));
        Assert.Equal(1, pool.Refused(MissClass.Anonymous, MissRefusal.Connection));
        Assert.Equal(0, pool.Refused(MissClass.Peer, MissRefusal.Server));
    }

    [Fact]
    public void A_peer_connection_has_the_peer_budget_and_is_not_charged_to_the_anonymous_bucket_or_queue()
    {
        var (resolver, pool) = Start(o => (o.PeerMissBurst, o.PeerMissesPerSecond, o.AnonymousMissBurst, o.AnonymousQueueCapacity) = (50, 10, 2, 2));
        using var running = pool;
        var anonymous = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var peer = resolver.CreateLimiter(MissClass.Peer, Frequency, 0);

        // The anonymous class is spent: its bucket and its queue are full.
        Assert.Equal([MissRefusal.None, MissRefusal.None, MissRefusal.Queue], Admit(pool, MissClass.Anonymous, ref anonymous, 3, 0));
        Assert.Equal(2, pool.AnonymousOutstanding);

        var refusals = Admit(pool, MissClass.Peer, ref peer, 51, 0);
        Assert.Equal(50, refusals.Count(r => r == MissRefusal.None));
        Assert.Equal(MissRefusal.Connection, refusals[^1]);
        Assert.Equal(1, pool.Refused(MissClass.Peer, MissRefusal.Connection));
        Assert.Equal(2, pool.AnonymousOutstanding);

        // A tenth of a second refills one peer miss (10/s).
        Assert.Equal([MissRefusal.None, MissRefusal.Connection], Admit(pool, MissClass.Peer, ref peer, 2, Frequency / 10));
    }

    [Fact]
    public async Task Anonymous_queue_room_comes_back_as_their_misses_are_resolved()
    {
        var (resolver, pool) = Start(o => o.AnonymousQueueCapacity = 2);
        using var running = pool;
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var batch = pool.Rent(MissClass.Anonymous);
        Assert.Equal(MissRefusal.None, batch.Add(1, Garbage(), pool, ref budget, 0));
        Assert.Equal(MissRefusal.None, batch.Add(2, Garbage(), pool, ref budget, 0));
        Assert.Equal(MissRefusal.Queue, batch.Add(3, Garbage(), pool, ref budget, 0));
        Assert.Equal(2, batch.JobCount);

        var resolved = pool.ResolveAsync(batch).AsTask();
        RunAll(pool);
        await resolved;
        Assert.True(batch.TryTake(3, Now, out var status, out _));
        Assert.Equal(ResolveStatus.RateLimited, status);
        Assert.Equal(0, pool.AnonymousOutstanding);
        Assert.Equal(1, pool.Refused(MissClass.Anonymous, MissRefusal.Queue));
        Assert.Equal(MissRefusal.None, pool.TryAdmit(MissClass.Anonymous, ref budget, 0));
    }

    [Fact]
    public void An_inline_resolution_is_charged_and_counted_like_a_queued_one()
    {
        var (resolver, pool) = Start(o => (o.MissBurst, o.MissesPerSecond) = (1, 1));
        using var running = pool;
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);

        Assert.Equal(ResolveStatus.Resolved, pool.ResolveInline(MissClass.Anonymous, ref budget, 0, Address(), Now, out var aid));
        Assert.Equal(_aid, aid);
        Assert.Equal(ResolveStatus.RateLimited, pool.ResolveInline(MissClass.Anonymous, ref budget, 0, Address(), Now, out aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(1, pool.Resolved(MissClass.Anonymous));
        Assert.Equal(1, pool.Refused(MissClass.Anonymous, MissRefusal.Connection));
        Assert.Equal(0, pool.AnonymousOutstanding);
    }

    [Fact]
    public async Task Worker_threads_resolve_many_connections_batches_with_the_same_verdicts()
    {
        var (resolver, pool) = Start(o => o.MissBurst = 1000, workers: 3);
        using var running = pool;
        var batches = new List<(MissBatch Batch, byte[][] Addresses, Task Done)>();
        for (var connection = 0; connection < 8; connection++)
        {
            var missClass = connection % 2 == 0 ? MissClass.Peer : MissClass.Anonymous;
            var budget = resolver.CreateLimiter(missClass, Frequency, 0);
            var batch = pool.Rent(missClass);
            var addresses = new byte[MissBatch.Capacity][];
            for (var i = 0; i < addresses.Length; i++)
            {
                addresses[i] = i % 3 == 0 ? Garbage() : Address();
                Assert.Equal(MissRefusal.None, batch.Add(i, addresses[i], pool, ref budget, 0));
            }

            Assert.True(batch.IsFull);
            batches.Add((batch, addresses, pool.ResolveAsync(batch).AsTask()));
        }

        foreach (var (batch, addresses, done) in batches)
        {
            await done.Within();
            for (var i = 0; i < addresses.Length; i++)
            {
                Assert.True(batch.TryTake(i, Now, out var status, out var aid));
                Assert.Equal(i % 3 == 0 ? ResolveStatus.Invalid : ResolveStatus.Resolved, status);
                Assert.Equal(i % 3 == 0 ? default : _aid, aid);
            }

            pool.Return(batch);
        }

        Assert.Equal(8 * MissBatch.Capacity, pool.Resolved(MissClass.Peer) + pool.Resolved(MissClass.Anonymous));
        Assert.Equal(8 * MissBatch.Capacity, resolver.Opens);
    }

    [Fact]
    public async Task Disposing_resolves_what_is_queued_and_refuses_later_batches()
    {
        var (resolver, pool) = Start();
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        var batch = pool.Rent(MissClass.Anonymous);
        batch.Add(1, Address(), pool, ref budget, 0);
        var resolved = pool.ResolveAsync(batch).AsTask();

        pool.Dispose();
        await resolved;
        Assert.True(batch.TryTake(1, Now, out var status, out _));
        Assert.Equal(ResolveStatus.Resolved, status);

        var later = pool.Rent(MissClass.Anonymous);
        later.Add(1, Address(), pool, ref budget, 0);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pool.ResolveAsync(later));
    }

    [Fact]
    public void A_batch_without_jobs_completes_at_once()
    {
        var (resolver, pool) = Start(o => (o.MissBurst, o.MissesPerSecond) = (1, 1));
        using var running = pool;
        var budget = resolver.CreateLimiter(MissClass.Anonymous, Frequency, 0);
        Assert.True(budget.TryAcquire(0)); // the connection's only token
        var batch = pool.Rent(MissClass.Anonymous);
        Assert.Equal(MissRefusal.Connection, batch.Add(1, Address(), pool, ref budget, 0));

        Assert.True(pool.ResolveAsync(batch).AsTask().IsCompletedSuccessfully);
        Assert.True(batch.TryTake(1, Now, out var status, out _));
        Assert.Equal(ResolveStatus.RateLimited, status);
    }

    private (AddressResolver Resolver, ResolutionPool Pool) Start(Action<ResolverOptions>? configure = null, int workers = 0)
    {
        var options = new ResolverOptions();
        configure?.Invoke(options);
        var resolver = new AddressResolver(_key, options);
        return (resolver, new ResolutionPool(resolver, workers, Frequency, 0));
    }

    private static MissRefusal[] Admit(ResolutionPool pool, MissClass missClass, ref MissRateLimiter budget, int count, long now)
    {
        var refusals = new MissRefusal[count];
        for (var i = 0; i < count; i++)
        {
            refusals[i] = pool.TryAdmit(missClass, ref budget, now);
        }

        return refusals;
    }

    private static void RunAll(ResolutionPool pool)
    {
        while (pool.RunOne())
        {
        }
    }

    private byte[] Address(long notAfter = Now + 3600)
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_key.PublicKey.Span, _aid, notAfter, address);
        return address;
    }

    private static byte[] Garbage()
    {
        var garbage = RandomNumberGenerator.GetBytes(EphemeralAddress.Length);
        garbage[0] = EphemeralAddress.Version;
        return garbage;
    }
}
