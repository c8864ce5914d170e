using System.Diagnostics;

namespace EdgeRelay.Addressing;

/// <summary>
/// The server-wide resolution of cache misses: one worker thread per core opening addresses from two
/// queues, peer relays' first, and the budgets that decide which misses get there at all.
/// </summary>
/// <remarks>
/// <para>Why a pool: an open is ~40 µs of one core. Resolved on the connection's read loop, a sending
/// service forwarding fresh addresses over a few connections would use a core per connection at most,
/// and a flood on other connections would take the same cores. Here every core works on one
/// connection's misses at once (<see cref="MissBatch"/>), and the connection then appends and replies
/// in request order.</para>
/// <para>Budgets, checked in <see cref="TryAdmit"/> before any crypto: every connection has its own
/// (<see cref="MissRateLimiter"/>, larger for a peer relay); anonymous connections also share one
/// server-wide bucket and a bound on how many of their misses may wait, so that however many connections
/// a flood opens, it gets a bounded share of the CPU and never delays a peer's misses by more than the
/// job a worker is in (peer jobs go first). Peer misses are bounded by their own connections' budgets,
/// granted by the operator.</para>
/// <para>Nothing here allocates after warm-up: jobs are structs in two ring-buffer queues under one lock,
/// batches are rented and returned, the workers block on a semaphore.</para>
/// </remarks>
public sealed class ResolutionPool : IDisposable
{
    private const int ClassCount = 2;
    private const int RefusalCount = 4;

    // Batches kept for reuse; more are allocated (and later dropped) only while more connections wait at once.
    private const int MaxFreeBatches = 256;

    private readonly AddressResolver _resolver;
    private readonly Lock _gate = new();
    private readonly Queue<Job>[] _queues = [new(), new()];
    private readonly Stack<MissBatch> _free = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Thread[] _workers;
    private readonly Lock _bucketGate = new();
    private readonly int _anonymousCapacity;
    private readonly long[] _resolved = new long[ClassCount];
    private readonly long[] _refused = new long[ClassCount * RefusalCount];
    private MissRateLimiter _anonymousBucket;
    private int _anonymousOutstanding;
    private int _queued;
    private bool _stopping;

    /// <param name="resolver">Opens and caches; its options give the budgets.</param>
    /// <param name="workers">Worker threads; 0 starts none, and the caller runs jobs with <see cref="RunOne"/> (tests).</param>
    /// <param name="timestampFrequency">Ticks per second of the timestamps passed to <see cref="TryAdmit"/>.</param>
    /// <param name="nowTimestamp">The current timestamp: the server-wide bucket starts full.</param>
    public ResolutionPool(AddressResolver resolver, int workers, long timestampFrequency, long nowTimestamp)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workers, ResolverOptions.MaxWorkers);
        _resolver = resolver;
        var options = resolver.Options;
        _anonymousCapacity = options.AnonymousQueueCapacity;
        _anonymousBucket = new MissRateLimiter(options.AnonymousMissesPerSecond, options.AnonymousMissBurst, timestampFrequency, nowTimestamp);
        _workers = new Thread[workers];
        for (var i = 0; i < workers; i++)
        {
            _workers[i] = new Thread(WorkLoop) { IsBackground = true, Name = $"edgerelay-resolve-{i}" };
            _workers[i].Start();
        }
    }

    /// <summary>Called by a worker with each job's class and seconds spent queued (the metrics' histogram).</summary>
    public Action<MissClass, double>? QueueWaitObserver { get; set; }

    /// <summary>Worker threads running.</summary>
    public int Workers => _workers.Length;

    /// <summary>Jobs queued and not yet taken by a worker.</summary>
    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>Anonymous misses admitted and not yet resolved (bounded by the queue capacity).</summary>
    public int AnonymousOutstanding => Volatile.Read(ref _anonymousOutstanding);

    /// <summary>Misses opened for connections of <paramref name="missClass"/>.</summary>
    public long Resolved(MissClass missClass) => Interlocked.Read(ref _resolved[(int)missClass]);

    /// <summary>Misses of <paramref name="missClass"/> refused by <paramref name="refusal"/>'s budget.</summary>
    public long Refused(MissClass missClass, MissRefusal refusal) => Interlocked.Read(ref _refused[Slot(missClass, refusal)]);

    /// <summary>An empty batch for a connection of <paramref name="missClass"/>.</summary>
    public MissBatch Rent(MissClass missClass)
    {
        MissBatch? batch;
        lock (_gate)
        {
            _free.TryPop(out batch);
        }

        batch ??= new MissBatch();
        batch.Reset(missClass);
        return batch;
    }

    /// <summary>Gives back a batch whose resolution has completed (or was never started).</summary>
    public void Return(MissBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Reset(MissClass.Anonymous);
        lock (_gate)
        {
            if (_free.Count < MaxFreeBatches)
            {
                _free.Push(batch);
            }
        }
    }

    /// <summary>
    /// Charges one miss of a connection of <paramref name="missClass"/>: its own budget, then, for an
    /// anonymous one, room in the queue and the server-wide bucket. An admitted miss must be queued in a
    /// batch (<see cref="MissBatch.Add"/> does both).
    /// </summary>
    public MissRefusal TryAdmit(MissClass missClass, ref MissRateLimiter connectionBudget, long nowTimestamp)
    {
        var refusal = Admit(missClass, ref connectionBudget, nowTimestamp);
        if (refusal != MissRefusal.None)
        {
            Interlocked.Increment(ref _refused[Slot(missClass, refusal)]);
        }

        return refusal;
    }

    /// <summary>Queues the batch's jobs; completes when all are resolved (at once when it has none).</summary>
    public ValueTask ResolveAsync(MissBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var jobs = batch.JobCount;
        if (jobs == 0)
        {
            return ValueTask.CompletedTask;
        }

        var completion = batch.Arm();
        batch.QueuedAt = Stopwatch.GetTimestamp();
        var queue = _queues[(int)batch.Class];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            for (var job = 0; job < jobs; job++)
            {
                queue.Enqueue(new Job(batch, job));
            }

            _queued += jobs;
        }

        if (_workers.Length > 0)
        {
            _signal.Release(jobs);
        }

        return completion;
    }

    /// <summary>
    /// One miss charged like any other and opened on the calling thread, outside the queue: for the rare
    /// address that cannot wait for a batch of its own.
    /// </summary>
    public ResolveStatus ResolveInline(MissClass missClass, ref MissRateLimiter connectionBudget, long nowTimestamp, ReadOnlySpan<byte> ephemeral, long nowUnixSeconds, out AddressId aid)
    {
        if (TryAdmit(missClass, ref connectionBudget, nowTimestamp) != MissRefusal.None)
        {
            aid = default;
            return ResolveStatus.RateLimited;
        }

        var opened = _resolver.OpenAndCache(ephemeral, out var candidate, out var notAfter);
        Interlocked.Increment(ref _resolved[(int)missClass]);
        if (missClass == MissClass.Anonymous)
        {
            Interlocked.Decrement(ref _anonymousOutstanding);
        }

        return AddressResolver.Decide(!opened, candidate, notAfter, nowUnixSeconds, out aid);
    }

    /// <summary>Runs the next job on the calling thread, peers' first; false when none is queued.</summary>
    public bool RunOne()
    {
        Job job;
        lock (_gate)
        {
            if (!_queues[(int)MissClass.Peer].TryDequeue(out job) && !_queues[(int)MissClass.Anonymous].TryDequeue(out job))
            {
                return false;
            }

            _queued--;
        }

        Run(job);
        return true;
    }

    /// <summary>Lets the workers finish every queued job, then stops them. Later batches are refused.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        if (_workers.Length > 0)
        {
            _signal.Release(_workers.Length);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }

        // Without workers (or for jobs none took): nobody may wait for ever on a batch.
        while (RunOne())
        {
        }
    }

    private MissRefusal Admit(MissClass missClass, ref MissRateLimiter connectionBudget, long nowTimestamp)
    {
        if (!connectionBudget.TryAcquire(nowTimestamp))
        {
            return MissRefusal.Connection;
        }

        if (missClass == MissClass.Peer)
        {
            return MissRefusal.None;
        }

        // Room first: a full queue must not spend the bucket's tokens on misses it refuses anyway.
        // A miss the server refuses costs the connection nothing: its own budget stays for when the server has room.
        if (Interlocked.Increment(ref _anonymousOutstanding) > _anonymousCapacity)
        {
            Interlocked.Decrement(ref _anonymousOutstanding);
            connectionBudget.Refund();
            return MissRefusal.Queue;
        }

        bool granted;
        lock (_bucketGate)
        {
            granted = _anonymousBucket.TryAcquire(nowTimestamp);
        }

        if (!granted)
        {
            Interlocked.Decrement(ref _anonymousOutstanding);
            connectionBudget.Refund();
            return MissRefusal.Server;
        }

        return MissRefusal.None;
    }

    private void WorkLoop()
    {
        while (true)
        {
            _signal.Wait();
            if (!RunOne() && Volatile.Read(ref _stopping))
            {
                return;
            }
        }
    }

    private void Run(Job job)
    {
        var batch = job.Batch;
        var missClass = batch.Class;
        QueueWaitObserver?.Invoke(missClass, Stopwatch.GetElapsedTime(batch.QueuedAt).TotalSeconds);
        var last = batch.Resolve(job.Index, _resolver);
        Interlocked.Increment(ref _resolved[(int)missClass]);
        if (missClass == MissClass.Anonymous)
        {
            Interlocked.Decrement(ref _anonymousOutstanding);
        }

        if (last)
        {
            batch.Complete();
        }
    }

    private static int Slot(MissClass missClass, MissRefusal refusal) => ((int)missClass * RefusalCount) + (int)refusal;

    private readonly record struct Job(MissBatch Batch, int Index);
}
