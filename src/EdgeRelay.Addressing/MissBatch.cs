using System.Buffers.Binary;
using System.Threading.Tasks.Sources;

namespace EdgeRelay.Addressing;

/// <summary>
/// The cache misses of one connection's read, resolved together on the <see cref="ResolutionPool"/>'s
/// workers and then taken back one by one, in the connection's request order.
/// </summary>
/// <remarks>
/// <para>An <em>entry</em> is one request (named by the connection's frame number) and a <em>job</em> one
/// distinct address to open: a client that repeats a fresh address within one read pays one open. An
/// entry whose miss no budget admitted has no job and answers <see cref="ResolveStatus.RateLimited"/>.</para>
/// <para>Rented from the pool and returned once every entry is taken, so a connection that misses holds
/// one only while it waits; nothing is allocated per miss. The batch is its own awaitable
/// (<see cref="IValueTaskSource"/>): the workers complete it when its last job is done.</para>
/// <para>Threads: the connection fills and drains it; workers write job results between
/// <see cref="ResolutionPool.ResolveAsync"/> and the completion, which orders those writes before the
/// connection's reads.</para>
/// </remarks>
public sealed class MissBatch : IValueTaskSource
{
    /// <summary>Requests one batch holds: enough to give every core work from one read, small enough to hold few KB.</summary>
    public const int Capacity = 128;

    private const int NoJob = -1;

    private readonly byte[] _addresses = new byte[Capacity * EphemeralAddress.Length];
    private readonly ulong[] _prefixes = new ulong[Capacity];
    private readonly bool[] _opened = new bool[Capacity];
    private readonly AddressId[] _aids = new AddressId[Capacity];
    private readonly long[] _notAfter = new long[Capacity];
    private readonly long[] _entryFrames = new long[Capacity];
    private readonly int[] _entryJobs = new int[Capacity];
    private ManualResetValueTaskSourceCore<bool> _completion = new() { RunContinuationsAsynchronously = true };
    private int _jobs;
    private int _entries;
    private int _cursor;
    private int _pending;

    internal MissBatch()
    {
    }

    /// <summary>The class whose budgets admitted the jobs, and their place in the queue.</summary>
    public MissClass Class { get; internal set; }

    /// <summary>Distinct addresses to open.</summary>
    public int JobCount => _jobs;

    /// <summary>Requests recorded, admitted or not.</summary>
    public int EntryCount => _entries;

    /// <summary>No room for another request.</summary>
    public bool IsFull => _entries == Capacity;

    /// <summary>Entries not yet taken back.</summary>
    public bool HasUntaken => _cursor < _entries;

    /// <summary>When the jobs were queued (<see cref="System.Diagnostics.Stopwatch"/> ticks), for the time-in-queue metric.</summary>
    internal long QueuedAt { get; set; }

    /// <summary>
    /// Records request <paramref name="frame"/> for <paramref name="ephemeral"/> (a well-formed address the
    /// cache did not hold). A new address is charged to the budgets through <paramref name="pool"/>; one
    /// already in this batch shares its job.
    /// </summary>
    /// <returns>Which budget refused it, or <see cref="MissRefusal.None"/>.</returns>
    public MissRefusal Add(long frame, ReadOnlySpan<byte> ephemeral, ResolutionPool pool, ref MissRateLimiter connectionBudget, long nowTimestamp)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (IsFull)
        {
            throw new InvalidOperationException("The batch is full.");
        }

        if (_entries > 0 && frame <= _entryFrames[_entries - 1])
        {
            throw new ArgumentOutOfRangeException(nameof(frame), frame, "Requests are added in increasing frame order.");
        }

        if (!EphemeralAddress.IsWellFormed(ephemeral))
        {
            throw new ArgumentException("Only well-formed addresses are resolved.", nameof(ephemeral));
        }

        var job = Find(ephemeral);
        var refusal = MissRefusal.None;
        if (job == NoJob)
        {
            refusal = pool.TryAdmit(Class, ref connectionBudget, nowTimestamp);
            if (refusal == MissRefusal.None)
            {
                job = _jobs++;
                ephemeral.CopyTo(_addresses.AsSpan(job * EphemeralAddress.Length, EphemeralAddress.Length));
                _prefixes[job] = Prefix(ephemeral);
            }
        }

        _entryFrames[_entries] = frame;
        _entryJobs[_entries] = job;
        _entries++;
        return refusal;
    }

    /// <summary>
    /// The verdict for request <paramref name="frame"/> if this batch holds it; entries before it (requests
    /// that never got this far) are dropped. Call after the batch's resolution completed.
    /// </summary>
    public bool TryTake(long frame, long nowUnixSeconds, out ResolveStatus status, out AddressId aid)
    {
        while (_cursor < _entries && _entryFrames[_cursor] < frame)
        {
            _cursor++;
        }

        if (_cursor == _entries || _entryFrames[_cursor] != frame)
        {
            status = default;
            aid = default;
            return false;
        }

        var job = _entryJobs[_cursor++];
        if (job == NoJob)
        {
            aid = default;
            status = ResolveStatus.RateLimited;
            return true;
        }

        status = AddressResolver.Decide(!_opened[job], _aids[job], _notAfter[job], nowUnixSeconds, out aid);
        return true;
    }

    /// <summary>Empties the batch for its next connection.</summary>
    internal void Reset(MissClass missClass)
    {
        Class = missClass;
        _jobs = 0;
        _entries = 0;
        _cursor = 0;
    }

    /// <summary>Arms the completion for <see cref="JobCount"/> jobs.</summary>
    internal ValueTask Arm()
    {
        _completion.Reset();
        Volatile.Write(ref _pending, _jobs);
        return new ValueTask(this, _completion.Version);
    }

    /// <summary>A worker's part: opens job <paramref name="job"/>; true when it was the batch's last.</summary>
    internal bool Resolve(int job, AddressResolver resolver)
    {
        _opened[job] = resolver.OpenAndCache(_addresses.AsSpan(job * EphemeralAddress.Length, EphemeralAddress.Length), out _aids[job], out _notAfter[job]);
        return Interlocked.Decrement(ref _pending) == 0;
    }

    internal void Complete() => _completion.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    private int Find(ReadOnlySpan<byte> ephemeral)
    {
        // The first bytes of the encapsulated key are random per derivation: comparing them first makes the
        // scan for a repeat a few integer compares per job.
        var prefix = Prefix(ephemeral);
        for (var job = 0; job < _jobs; job++)
        {
            if (_prefixes[job] == prefix
                && _addresses.AsSpan(job * EphemeralAddress.Length, EphemeralAddress.Length).SequenceEqual(ephemeral))
            {
                return job;
            }
        }

        return NoJob;
    }

    private static ulong Prefix(ReadOnlySpan<byte> ephemeral) => BinaryPrimitives.ReadUInt64LittleEndian(ephemeral[1..]);
}
