using System.Numerics;
using System.Runtime.CompilerServices;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

/// <summary>What the cache knows about one ephemeral address.</summary>
public readonly struct CacheEntry
{
    internal CacheEntry(bool isNegative, AddressId aid, long notAfterUnixSeconds)
    {
        IsNegative = isNegative;
        Aid = aid;
        NotAfterUnixSeconds = notAfterUnixSeconds;
    }

    /// <summary>The address is known not to open under the service key (garbage, forgery, another relay's).</summary>
    public bool IsNegative { get; }

    /// <summary>The address it resolves to; empty for a negative entry.</summary>
    public AddressId Aid { get; }

    /// <summary>The ephemeral address' own expiry (sealed inside it); 0 for a negative entry.</summary>
    public long NotAfterUnixSeconds { get; }
}

/// <summary>
/// A bounded, thread-safe map from 73-byte ephemeral addresses to what opening them gave, so
/// that an address seen before costs a hash and a compare instead of an X25519. A hit allocates
/// nothing.
/// </summary>
/// <remarks>
/// <para>Layout: <c>Capacity</c> slots in 4-way sets. Keys live in one preallocated byte slab,
/// entry metadata in a struct array; nothing is allocated after construction.</para>
/// <para>Placement: each key has two candidate sets (two choices), drawn from its one hash, and goes into
/// the emptier one. With one set per key, a working set of 38% of the capacity already leaves 1.6% of
/// keys without a slot (sets that draw five or more keys), and under round-robin traffic every key of
/// such a set misses on every use, each miss an HPKE open; with two choices that share is nil up to half
/// the capacity and under 1% at three quarters. A lookup reads at most both sets (8 slots).</para>
/// <para>Hash: SipHash-2-4 (libsodium <c>crypto_shorthash</c>) under a per-instance random key.
/// The keys are chosen by whoever connects; with an unkeyed or weakly keyed hash they could aim
/// every address at one set and flush it. The full key bytes are compared on every hit.</para>
/// <para>Eviction, inside the set: an empty slot, else a negative entry not used since the last
/// sweep, else a CLOCK sweep (second chance) over the set. Negative entries are inserted without
/// their reference bit and go first, so a flood of garbage does not flush real addresses.</para>
/// <para>Concurrency: sets are guarded by striped <see cref="Lock"/>s (a set's stripe is its index
/// modulo the stripe count; a key's two sets differ only above the stripe bits, so one lock covers both). An uncontended lock costs a couple of interlocked operations, small
/// next to hashing 73 bytes, and unlike a seqlock it needs no retry loop or torn-read reasoning
/// around the slab; taking a <see cref="Lock"/> allocates nothing. Counters are kept per stripe
/// under the same lock, so hot-path counting causes no shared-cache-line traffic.</para>
/// </remarks>
public sealed class ResolutionCache
{
    public const int KeyLength = EphemeralAddress.Length;

    public const int Ways = 4;

    public const int MinCapacity = Ways;

    public const int MaxCapacity = 1 << 24;

    private const byte StateEmpty = 0;
    private const byte StatePositive = 1;
    private const byte StateNegative = 2;

    private readonly Entry[] _entries;
    private readonly byte[] _keys;
    private readonly Stripe[] _stripes;
    private readonly byte[] _hashKey;
    private readonly byte[] _clockHands;
    private readonly int _setMask;
    private readonly int _stripeMask;

    /// <param name="capacity">Number of entries, a power of two from 4 to 2^24.</param>
    public ResolutionCache(int capacity)
    {
        if (capacity < MinCapacity || capacity > MaxCapacity || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"The cache capacity must be a power of two from {MinCapacity} to {MaxCapacity}.");
        }

        Capacity = capacity;
        var sets = capacity / Ways;
        _setMask = sets - 1;
        _entries = new Entry[capacity];
        _keys = new byte[capacity * KeyLength];
        _clockHands = new byte[sets];

        // Enough stripes that threads rarely meet, few enough that the lock objects stay small; at most an
        // eighth of the sets, so that a key's second set has several sets of its stripe to be drawn from.
        var stripeCount = Math.Max(1, Math.Min(sets / 8, (int)BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount * 16)));
        _stripeMask = stripeCount - 1;
        _stripes = new Stripe[stripeCount];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Stripe();
        }

        _hashKey = new byte[Sodium.ShortHashKeyBytes];
        Sodium.RandomBytes(_hashKey);
    }

    public int Capacity { get; }

    /// <summary>Lookups that found a positive entry.</summary>
    public long Hits => Sum(static s => Volatile.Read(ref s.Hits));

    /// <summary>Lookups that found a negative entry.</summary>
    public long NegativeHits => Sum(static s => Volatile.Read(ref s.NegativeHits));

    public long Misses => Sum(static s => Volatile.Read(ref s.Misses));

    /// <summary>Occupied entries; never more than <see cref="Capacity"/>.</summary>
    public int Count => (int)Sum(static s => Volatile.Read(ref s.Count));

    public bool TryGet(ReadOnlySpan<byte> ephemeral, out CacheEntry entry)
    {
        CheckKey(ephemeral);
        var hash = Hash(ephemeral);
        var set = (int)hash & _setMask;
        var stripe = _stripes[set & _stripeMask];
        lock (stripe.Gate)
        {
            var slot = Find(set, hash, ephemeral);
            if (slot < 0)
            {
                stripe.Misses++;
                entry = default;
                return false;
            }

            ref var e = ref _entries[slot];
            e.Referenced = true;
            if (e.State == StateNegative)
            {
                stripe.NegativeHits++;
                entry = new CacheEntry(isNegative: true, default, 0);
            }
            else
            {
                stripe.Hits++;
                entry = new CacheEntry(isNegative: false, new AddressId(e.AidHi, e.AidLo), e.NotAfter);
            }

            return true;
        }
    }

    /// <summary>
    /// Whether the cache holds <paramref name="ephemeral"/>, without counting a lookup or giving the entry
    /// its second chance: a look ahead at addresses that will be looked up for real shortly.
    /// </summary>
    public bool Contains(ReadOnlySpan<byte> ephemeral)
    {
        CheckKey(ephemeral);
        var hash = Hash(ephemeral);
        var set = (int)hash & _setMask;
        lock (_stripes[set & _stripeMask].Gate)
        {
            return Find(set, hash, ephemeral) >= 0;
        }
    }

    /// <summary>Records that <paramref name="ephemeral"/> opened to <paramref name="aid"/>, replacing any entry for it.</summary>
    public void AddPositive(ReadOnlySpan<byte> ephemeral, AddressId aid, long notAfterUnixSeconds) =>
        Add(ephemeral, StatePositive, aid, notAfterUnixSeconds);

    /// <summary>Records that <paramref name="ephemeral"/> does not open, so the next try is a cheap hit.</summary>
    public void AddNegative(ReadOnlySpan<byte> ephemeral) =>
        Add(ephemeral, StateNegative, default, 0);

    private void Add(ReadOnlySpan<byte> ephemeral, byte state, AddressId aid, long notAfter)
    {
        CheckKey(ephemeral);
        var hash = Hash(ephemeral);
        var set = (int)hash & _setMask;
        var stripe = _stripes[set & _stripeMask];
        lock (stripe.Gate)
        {
            var slot = Find(set, hash, ephemeral);
            if (slot < 0)
            {
                slot = ChooseVictim(set, OtherSet(set, hash));
                if (_entries[slot].State == StateEmpty)
                {
                    stripe.Count++;
                }

                ephemeral.CopyTo(_keys.AsSpan(slot * KeyLength, KeyLength));
            }

            ref var e = ref _entries[slot];
            e.Hash = hash;
            e.State = state;
            e.AidHi = aid.Hi;
            e.AidLo = aid.Lo;
            e.NotAfter = notAfter;
            // A positive entry starts with its second chance; garbage has to earn one by being hit.
            e.Referenced = state == StatePositive;
        }
    }

    /// <summary>The key's first set; <see cref="OtherSet"/> gives its second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(int set, ulong hash, ReadOnlySpan<byte> key)
    {
        var slot = FindIn(set, hash, key);
        return slot >= 0 ? slot : FindIn(OtherSet(set, hash), hash, key);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindIn(int set, ulong hash, ReadOnlySpan<byte> key)
    {
        var first = set * Ways;
        for (var slot = first; slot < first + Ways; slot++)
        {
            ref readonly var e = ref _entries[slot];
            if (e.State != StateEmpty && e.Hash == hash && _keys.AsSpan(slot * KeyLength, KeyLength).SequenceEqual(key))
            {
                return slot;
            }
        }

        return -1;
    }

    /// <summary>
    /// The key's second set: its first with bits above the stripe bits flipped by the hash' high bits, so both
    /// are under one stripe lock. The same set again only when the cache has a single stripe's worth of sets.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int OtherSet(int set, ulong hash)
    {
        var flip = (int)(hash >> 40) & _setMask & ~_stripeMask;
        return set ^ (flip != 0 ? flip : (_stripeMask + 1) & _setMask);
    }

    private int ChooseVictim(int set, int other)
    {
        // Into the emptier of the two sets; a tie goes to the first.
        var free = FreeSlot(set, out var freeCount);
        var otherFree = FreeSlot(other, out var otherFreeCount);
        if (free >= 0 || otherFree >= 0)
        {
            return otherFreeCount > freeCount ? otherFree : free;
        }

        var stale = StaleNegative(set);
        if (stale >= 0)
        {
            return stale;
        }

        stale = StaleNegative(other);
        return stale >= 0 ? stale : Sweep(set);
    }

    private int FreeSlot(int set, out int count)
    {
        var found = -1;
        count = 0;
        var first = set * Ways;
        for (var slot = first; slot < first + Ways; slot++)
        {
            if (_entries[slot].State == StateEmpty)
            {
                found = found < 0 ? slot : found;
                count++;
            }
        }

        return found;
    }

    private int StaleNegative(int set)
    {
        var first = set * Ways;
        for (var slot = first; slot < first + Ways; slot++)
        {
            if (_entries[slot].State == StateNegative && !_entries[slot].Referenced)
            {
                return slot;
            }
        }

        return -1;
    }

    private int Sweep(int set)
    {
        var first = set * Ways;

        // CLOCK: clear reference bits as the hand passes; at most two laps find a victim.
        ref var hand = ref _clockHands[set];
        while (true)
        {
            var slot = first + hand;
            hand = (byte)((hand + 1) & (Ways - 1));
            ref var e = ref _entries[slot];
            if (!e.Referenced)
            {
                return slot;
            }

            e.Referenced = false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Hash(ReadOnlySpan<byte> key) => Sodium.ShortHash(key, _hashKey);

    private long Sum(Func<Stripe, long> read)
    {
        long total = 0;
        foreach (var stripe in _stripes)
        {
            total += read(stripe);
        }

        return total;
    }

    private static void CheckKey(ReadOnlySpan<byte> ephemeral)
    {
        if (ephemeral.Length != KeyLength)
        {
            ThrowKeyLength();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowKeyLength() =>
        throw new ArgumentException($"Cache keys are {KeyLength}-byte ephemeral addresses.", "ephemeral");

    private struct Entry
    {
        public ulong Hash;
        public ulong AidHi;
        public ulong AidLo;
        public long NotAfter;
        public byte State;
        public bool Referenced;
    }

    // Counters are written by whichever core holds the stripe's lock; the padding keeps two
    // stripes allocated back to back from sharing a cache line (false sharing between cores).
    private sealed class Stripe
    {
        public readonly Lock Gate = new();
        public long Hits;
        public long NegativeHits;
        public long Misses;
        public long Count;
#pragma warning disable IDE0051, CS0169 // never read: it only takes up space
        private CacheLinePadding _padding;
#pragma warning restore IDE0051, CS0169
    }

    [InlineArray(8)]
    private struct CacheLinePadding
    {
        private long _element;
    }
}
