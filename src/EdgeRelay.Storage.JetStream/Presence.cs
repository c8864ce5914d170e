using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// Which nodes are live, which node pushes each address, and when each owner was last woken: the presence stream
/// (a subject per node and per address, the newest record of each in force), followed by every node into this table.
/// </summary>
/// <remarks>
/// <para>Liveness costs one record per node per <see cref="JetStreamStorageOptions.HeartbeatInterval"/>, whatever the
/// number of addresses: a lease names its holder and lasts while the holder beats, so leases are never renewed one by
/// one (see Presence.Liveness.cs for how death is judged).</para>
/// <para>Leases and wake marks are taken by compare-and-set: a publish that expects the subject's last sequence to be
/// the one this node saw. Of two nodes racing from the same record JetStream stores one record and refuses the other,
/// so exactly one wins; the loser learns the winner from the table, a few milliseconds later.</para>
/// <para>Wake marks carry the writer's clock and are judged against the reader's, so clocks must agree to well within
/// the wake-up quiet period (NTP does); leases do not depend on clocks agreeing.</para>
/// </remarks>
internal sealed partial class Presence : IDisposable
{
    private const int RecordLength = 1 + 8 + AddressId.Length + 8 + 8;

    /// <summary>JetStream's error for a publish whose expected last subject sequence is not the subject's.</summary>
    private const int WrongLastSequence = 10071;

    private readonly INatsJSContext _js;
    private readonly JetStreamStorageOptions _options;
    private readonly TimeProvider _time;
    private readonly long _self;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, NodeBeat> _beats = [];
    private readonly Dictionary<AddressId, Slot> _leases = [];
    private readonly Dictionary<AddressId, Slot> _wakes = [];
    private readonly Dictionary<AddressId, Want> _wanted = [];
    private readonly HashSet<AddressId> _heldUnwanted = [];
    private readonly HashSet<AddressId> _clearing = [];
    private readonly HashSet<int> _skippedKinds = []; // the follower's thread only
    // This node's newest wake claim per address and whether it was in force when applied: one entry per address
    // woken here, as the table has (a claim's waiter reads it; a rewrite of a claim in force replaces it).
    private readonly Dictionary<AddressId, (ulong Seq, bool Accepted)> _verdicts = [];
    private readonly Func<ulong, Task> _waitApplied;
    private readonly CancellationTokenSource _stopping = new();
    // Nodes seen beating since this node's first beat and not yet seen dead, and leases of nodes that died since, with this node's own beats then (told lost a few beats later if still unserved).
    private readonly HashSet<long> _liveNodes = [];
    private readonly Dictionary<AddressId, long> _orphans = [];
    private readonly HashSet<AddressId> _askedOfHistory = [];
    private ITimer? _heartbeat;
    private Task _beatLoop = Task.CompletedTask;
    private int _beating;
    private long _ticks;
    private long _beatenUpTo;
    private long _ownBeats;
    private long _selfBeatSent; // monotonic time this node sent its newest beat known applied (valid once _selfBeaten)
    private bool _selfBeaten;
    private bool _selfLive;
    private long _handOvers;
    private long _takeOvers;
    private long _wakeClaimsLost;

    /// <param name="waitApplied">Completes once this node's follower applied the presence record at a sequence.</param>
    public Presence(INatsJSContext js, JetStreamStorageOptions options, TimeProvider time, long self, Func<ulong, Task> waitApplied, ILogger logger)
    {
        _waitApplied = waitApplied;
        _js = js;
        _options = options;
        _time = time;
        _self = self;
        _logger = logger;
    }

    private enum Outcome
    {
        Stored,
        Conflict,
        Failed,
    }

    public Action<AddressId>? PushChanged { get; set; }

    public Action<AddressId>? PushLost { get; set; }

    /// <summary>Leases taken from a node that had died.</summary>
    public long HandOvers => Interlocked.Read(ref _handOvers);

    /// <summary>Leases taken from a live node, for an owner who subscribed here after subscribing there.</summary>
    public long TakeOvers => Interlocked.Read(ref _takeOvers);

    /// <summary>Wake-up claims another node had made first.</summary>
    public long WakeClaimsLost => Interlocked.Read(ref _wakeClaimsLost);

    /// <summary>Ticks of the heartbeat timer so far.</summary>
    internal long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Ticks covered by a finished beat and its look at the table (tests with a fake clock wait for it).</summary>
    internal long BeatenUpTo => Interlocked.Read(ref _beatenUpTo);

    /// <summary>Push leases this node holds.</summary>
    public int LeasesHeld
    {
        get
        {
            lock (_lock)
            {
                var n = 0;
                foreach (var pair in _wanted)
                {
                    n += _leases.TryGetValue(pair.Key, out var slot) && slot.Writer == _self ? 1 : 0;
                }

                return n;
            }
        }
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Writes the first heartbeat (its sequence, to wait for) and starts the beat.</summary>
    public async Task<ulong> StartAsync(CancellationToken ct)
    {
        var sent = _time.GetTimestamp();
        var ack = await _js.PublishAsync(_options.NodeSubject(_self), Record(PresenceKind.Beat, default, NowMs), cancellationToken: ct).ConfigureAwait(false);
        ack.EnsureSuccess();
        Beaten(sent); // the opening store waits for it to be applied before it serves
        _heartbeat = _time.CreateTimer(_ => Beat(), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
        return ack.Seq;
    }

    /// <summary>Stops the beat and says this node left, so its leases pass on at once (best effort: a crash passes them on after the timeout).</summary>
    public async Task StopAsync()
    {
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);

        // No tick starts another loop now; the one under way must not beat after the parting beat below.
        await Volatile.Read(ref _beatLoop).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
            await _js.PublishAsync(_options.NodeSubject(_self), Record(PresenceKind.Beat, default, 0), cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is gone: the others see this node die by its silence.
        }
    }

    public void Dispose() => _stopping.Dispose();

    public async ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod)
    {
        ulong expected;
        var now = NowMs;
        lock (_lock)
        {
            var slot = _wakes.GetValueOrDefault(aid);
            if (slot.AtMs != 0 && now - slot.AtMs < (long)quietPeriod.TotalMilliseconds)
            {
                Interlocked.Increment(ref _wakeClaimsLost);
                return false;
            }

            expected = slot.Seq;
        }

        var (outcome, seq) = await PublishAsync(_options.WakeSubject(aid), Record(PresenceKind.Wake, aid, now, expected), expected).ConfigureAwait(false);
        if (outcome == Outcome.Stored && !await AcceptedAsync(aid, seq).ConfigureAwait(false))
        {
            outcome = Outcome.Conflict; // stored beside a claim JetStream took first from the same record
        }

        if (outcome == Outcome.Conflict)
        {
            Interlocked.Increment(ref _wakeClaimsLost);
            return false;
        }

        // Not reachable: decide alone, as one node would (a second wake-up beats none).
        return true;
    }

    public void OwnerActive(AddressId aid)
    {
        ulong expected;
        lock (_lock)
        {
            if (!_wakes.TryGetValue(aid, out var slot) || slot.AtMs == 0 || !_clearing.Add(aid))
            {
                return;
            }

            expected = slot.Seq;
        }

        _ = ClearAsync(aid, expected);
    }

    private async Task ClearAsync(AddressId aid, ulong expected)
    {
        var (outcome, _) = await PublishAsync(_options.WakeSubject(aid), Record(PresenceKind.WakeClear, aid, NowMs, expected), expected).ConfigureAwait(false);
        if (outcome != Outcome.Stored)
        {
            lock (_lock)
            {
                // Not stored, so no record will end the clearing: the owner's next PULL or SUBSCRIBE may try again.
                _clearing.Remove(aid);
            }
        }
    }

    /// <summary>Whether this node's wake claim at <paramref name="seq"/> was the one in force once applied.</summary>
    private async Task<bool> AcceptedAsync(AddressId aid, ulong seq)
    {
        try
        {
            await _waitApplied(seq).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return true; // the store is failing: decide alone
        }

        lock (_lock)
        {
            // A later record of this node's own can only be its rewrite of this claim, in force.
            return !_verdicts.TryGetValue(aid, out var verdict) || verdict.Seq != seq || verdict.Accepted;
        }
    }

    /// <summary>Kind, writer, address (none for a beat), time, and the subject's sequence the record was based on (a claim's expectation).</summary>
    private byte[] Record(PresenceKind kind, AddressId aid, long atMs, ulong basedOn = 0)
    {
        var record = new byte[RecordLength];
        record[0] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), _self);
        aid.Write(record.AsSpan(9));
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(9 + AddressId.Length), atMs);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(17 + AddressId.Length), basedOn);
        return record;
    }

    /// <summary>Publishes a presence record, expecting the subject's last sequence when given (0: no record yet).</summary>
    private async Task<(Outcome Outcome, ulong Seq)> PublishAsync(string subject, byte[] record, ulong? expected)
    {
        try
        {
            // A claim slower than a node's timeout is worth nothing: give up and let the next beat ask again.
            using var timeout = new CancellationTokenSource(_options.NodeTimeout, _time);
            using var stopping = _stopping.Token.UnsafeRegister(static t => ((CancellationTokenSource)t!).Cancel(), timeout);
            var opts = expected is null ? null : new NatsJSPubOpts { ExpectedLastSubjectSequence = expected };
            var ack = await _js.PublishAsync(subject, record, opts: opts, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (ack.Error is { ErrCode: WrongLastSequence })
            {
                return (Outcome.Conflict, 0);
            }

            ack.EnsureSuccess();
            return (Outcome.Stored, ack.Seq);
        }
        catch (NatsJSApiException ex) when (ex.Error.ErrCode == WrongLastSequence)
        {
            return (Outcome.Conflict, 0);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            JetStreamLog.PresenceWriteFailed(_logger, subject, ex);
            return (Outcome.Failed, 0);
        }
    }

    /// <summary>A node's newest heartbeat: its writer's clock then (0: it left), this node's own beats applied before it, this node's monotonic timestamp when it applied it, and its stream sequence.</summary>
    private readonly record struct NodeBeat(long AtMs, long SeenAt, long SeenTs, ulong Seq);

    /// <summary>A subject's newest record as this node applied it: its sequence (what a claim expects), its writer (a lease's holder; 0 released), its time (a wake mark's; 0 cleared).</summary>
    private readonly record struct Slot(ulong Seq, long Writer, long AtMs);
}
