using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using EdgeRelay.Addressing;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// Fresh ephemeral addresses for <c>--fresh-ratio</c>, derived with the client library's derivation
/// (<see cref="EphemeralAddress.Derive(AddressCard, long, Span{byte})"/>: one X25519 key pair, one X25519 and
/// an HPKE seal each). Deriving costs the generator about as much CPU as opening costs the relay, so the pool
/// is filled before the warm-up, on every core, outside every measurement; a dedicated thread derives more
/// during the run only when fewer than a quarter are left. The run reports how many were derived during the
/// run and how many SENDs had to wait for one, so a generator that could not keep up is never mistaken for
/// a slow relay.
/// </summary>
/// <remarks>
/// Each address is used by one SEND only. A SEND the relay refused with RATE_LIMITED never opened its address
/// (the refusal comes before the open, and nothing is cached), so that address goes back to the pool unused;
/// any other outcome spends it. Slot <c>s</c> always holds an address of card <c>s mod cards</c>: taking slots
/// in turn spreads fresh SENDs evenly over the long-term addresses. Slot memory is only rewritten after the
/// SEND that took it has completed, so a request still waiting for its window slot reads its own bytes.
/// </remarks>
internal sealed class FreshAddressPool : IDisposable
{
    private readonly AddressCard[] _cards;
    private readonly byte[] _addresses;
    private readonly TimeSpan _validFor;
    private readonly Channel<int> _ready = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly ConcurrentQueue<int> _spent = new();
    private readonly AutoResetEvent _wake = new(initialState: false);
    private readonly Thread _refiller;
    private volatile bool _stopping;
    private int _readyCount;
    private long _derivedDuringRun;
    private long _waits;

    private FreshAddressPool(AddressCard[] cards, int capacity, TimeSpan validFor)
    {
        _cards = cards;
        Capacity = capacity;
        _validFor = validFor;
        _addresses = new byte[capacity * EphemeralAddress.Length];
        _refiller = new Thread(Refill) { IsBackground = true, Name = "fresh address derivation" };
    }

    public int Capacity { get; }

    /// <summary>Derived before the warm-up, outside every measurement.</summary>
    public int PreDerived => Capacity;

    /// <summary>How long the pre-derivation took, on every core.</summary>
    public TimeSpan PreDerivationTime { get; private set; }

    /// <summary>The generator's CPU time while it pre-derived: about the derivations' own cost.</summary>
    public TimeSpan PreDerivationCpu { get; private set; }

    /// <summary>Below this many ready addresses the refilling thread starts.</summary>
    private int LowWater => Capacity / 4;

    /// <summary>Derives <paramref name="capacity"/> addresses for <paramref name="cards"/> in turn, on every core, then starts the refilling thread.</summary>
    public static FreshAddressPool Create(AddressCard[] cards, int capacity, TimeSpan validFor, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(cards.Length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var pool = new FreshAddressPool(cards, capacity, validFor);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, capacity, new ParallelOptions { CancellationToken = cancellationToken }, pool.Derive);
        pool.PreDerivationTime = clock.Elapsed;
        self.Refresh();
        pool.PreDerivationCpu = self.TotalProcessorTime - cpu;
        for (int slot = 0; slot < capacity; slot++)
        {
            pool._ready.Writer.TryWrite(slot);
        }

        pool._readyCount = capacity;
        pool._refiller.Start();
        return pool;
    }

    public FreshAddressStats Stats => new(Capacity, PreDerived, Interlocked.Read(ref _derivedDuringRun), Interlocked.Read(ref _waits));

    /// <summary>A slot holding an address nobody has used; waits (and counts the wait) when none is ready.</summary>
    public ValueTask<int> TakeAsync(CancellationToken cancellationToken)
    {
        if (_ready.Reader.TryRead(out int slot))
        {
            if (Interlocked.Decrement(ref _readyCount) < LowWater)
            {
                _wake.Set();
            }

            return ValueTask.FromResult(slot);
        }

        return WaitForOneAsync(cancellationToken);
    }

    /// <summary>The 73 bytes of the address in <paramref name="slot"/>, valid until the slot is returned.</summary>
    public ReadOnlyMemory<byte> Address(int slot) => _addresses.AsMemory(slot * EphemeralAddress.Length, EphemeralAddress.Length);

    /// <summary>The queue (long-term address) the address in <paramref name="slot"/> was derived for.</summary>
    public int Queue(int slot) => slot % _cards.Length;

    /// <summary>Gives a taken slot back: <paramref name="unused"/> when the relay never opened its address (RATE_LIMITED).</summary>
    public void Return(int slot, bool unused)
    {
        if (unused)
        {
            Interlocked.Increment(ref _readyCount);
            _ready.Writer.TryWrite(slot);
        }
        else
        {
            _spent.Enqueue(slot);

            // The refilling thread may have looked at the spent queue just before this one arrived.
            if (Volatile.Read(ref _readyCount) < LowWater)
            {
                _wake.Set();
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        if (_refiller.IsAlive)
        {
            _refiller.Join();
        }

        _wake.Dispose();
    }

    private async ValueTask<int> WaitForOneAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waits);
        _wake.Set();
        int slot = await _ready.Reader.ReadAsync(cancellationToken);
        Interlocked.Decrement(ref _readyCount);
        return slot;
    }

    private void Derive(int slot)
    {
        var card = _cards[slot % _cards.Length];
        long notAfter = Math.Min(DateTimeOffset.UtcNow.Add(_validFor).ToUnixTimeSeconds(), card.ExpiresAtUnixSeconds);
        EphemeralAddress.Derive(card, notAfter, _addresses.AsSpan(slot * EphemeralAddress.Length, EphemeralAddress.Length));
    }

    /// <summary>The refilling thread: re-derives spent slots once the ready ones run low, until the pool is full again.</summary>
    private void Refill()
    {
        try
        {
            while (!_stopping)
            {
                _wake.WaitOne();
                while (!_stopping && Volatile.Read(ref _readyCount) < Capacity && _spent.TryDequeue(out int slot))
                {
                    Derive(slot);
                    Interlocked.Increment(ref _derivedDuringRun);
                    Interlocked.Increment(ref _readyCount);
                    _ready.Writer.TryWrite(slot);
                }
            }
        }
#pragma warning disable CA1031 // Handed to the SENDs waiting for an address, which count it as their error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _ready.Writer.TryComplete(ex);
        }
    }
}

/// <summary>
/// Where a run's fresh addresses came from: <paramref name="Pool"/> derived before the warm-up,
/// <paramref name="DerivedDuringRun"/> more by the generator while it applied load (its CPU is in the client's),
/// and <paramref name="Waits"/> SENDs that found none ready: the generator, not the server, held those back.
/// </summary>
internal sealed record FreshAddressStats(int Pool, long PreDerived, long DerivedDuringRun, long Waits)
{
    /// <summary>One line for the reports: which of the two the run was.</summary>
    public string Source => Waits > 0
        ? FormattableString.Invariant($"generator-bound: {Waits:N0} SENDs waited for a fresh address ({PreDerived:N0} pre-derived, {DerivedDuringRun:N0} derived during the run)")
        : DerivedDuringRun > 0
            ? FormattableString.Invariant($"{PreDerived:N0} pre-derived, {DerivedDuringRun:N0} more derived during the run on a dedicated thread (in the client CPU); no SEND waited")
            : FormattableString.Invariant($"{PreDerived:N0} pre-derived before the warm-up; none derived during the run");
}
