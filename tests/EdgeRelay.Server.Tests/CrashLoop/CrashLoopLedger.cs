using System.Buffers.Binary;
using System.Collections.Concurrent;
using EdgeRelay.Client;

namespace EdgeRelay.Server.Tests.CrashLoop;

/// <summary>
/// What the clients of a crash loop were promised and what they were given: every SEND and SEND_VIA that got
/// OK, every id whose ACK got OK (with the relay's life it was acknowledged in), every delivery seen. Payloads
/// are unique and self-describing (<see cref="Payload"/>), so a delivery says which send it is and whether it
/// arrived intact.
/// </summary>
internal sealed class CrashLoopLedger
{
    /// <summary>The address index SEND_VIA payloads carry: they are for the receiving relay's address.</summary>
    public const byte ViaTarget = 0xFF;

    /// <summary>The epoch of the final drain, after the last restart: nothing acknowledged may appear in it.</summary>
    public const int FinalEpoch = int.MaxValue;

    private readonly ConcurrentDictionary<long, byte> _sent = new();
    private readonly ConcurrentDictionary<long, byte> _sentVia = new();
    private readonly ConcurrentDictionary<(byte Address, long Id), long> _sequenceOfId = new();
    private readonly ConcurrentDictionary<long, long> _idOfSequence = new();
    private readonly ConcurrentDictionary<(byte Address, long Id), int> _ackedIn = new();
    private readonly ConcurrentDictionary<long, int> _viaSeen = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private long _next;
    private long _deliveries;
    private long _redeliveries;

    public int SentCount => _sent.Count;

    public int SentViaCount => _sentVia.Count;

    public int AckedCount => _ackedIn.Count;

    public IReadOnlyCollection<string> Problems => _problems;

    public long NextSequence() => Interlocked.Increment(ref _next);

    public void Sent(long sequence, byte address) => _sent[sequence] = address;

    public void SentVia(long sequence) => _sentVia[sequence] = ViaTarget;

    public void Problem(string problem) => _problems.Enqueue(problem);

    public void Acked(byte address, IEnumerable<long> ids, int epoch)
    {
        foreach (var id in ids)
        {
            _ackedIn.TryAdd((address, id), epoch);
        }
    }

    /// <summary>
    /// A message an owner was given on <paramref name="address"/> in relay life <paramref name="epoch"/>. With
    /// <paramref name="orderedAfterAcks"/> (a PULL on the connection that sent the ACKs, or the final drain) an id
    /// acknowledged in this same life must not come back either; a push may cross its own ACK on the wire, so for
    /// it only an acknowledgement of an earlier life counts.
    /// </summary>
    public void Delivered(byte address, ReceivedMessage message, int epoch, bool orderedAfterAcks)
    {
        Interlocked.Increment(ref _deliveries);
        if (!Payload.TryRead(message.Ciphertext.Span, out var sequence, out var target))
        {
            Problem($"id {message.Id} on address {address}: delivered content is not any payload sent (damaged)");
            return;
        }

        if (target != address)
        {
            Problem($"id {message.Id} on address {address}: carries send {sequence} meant for address {target}");
        }

        if (_sequenceOfId.TryAdd((address, message.Id), sequence))
        {
            if (_idOfSequence.GetOrAdd(sequence, message.Id) is var id && id != message.Id)
            {
                Problem($"send {sequence} stored twice: ids {id} and {message.Id} (the client never retries a SEND)");
            }
        }
        else
        {
            Interlocked.Increment(ref _redeliveries);
            if (_sequenceOfId[(address, message.Id)] is var first && first != sequence)
            {
                Problem($"id {message.Id} on address {address}: delivered with send {first}'s content, then with send {sequence}'s");
            }
        }

        if (_ackedIn.TryGetValue((address, message.Id), out var ackedIn) && (ackedIn < epoch || (orderedAfterAcks && ackedIn == epoch)))
        {
            Problem($"id {message.Id} on address {address} (send {sequence}) came back in relay life {Life(epoch)} after its ACK got OK in life {ackedIn}");
        }
    }

    /// <summary>A message the receiving relay's owner was given: a SEND_VIA that arrived.</summary>
    public void ViaDelivered(ReceivedMessage message)
    {
        if (!Payload.TryRead(message.Ciphertext.Span, out var sequence, out var target) || target != ViaTarget)
        {
            Problem($"id {message.Id} on the receiving relay: not a SEND_VIA payload that was sent (damaged)");
            return;
        }

        _viaSeen.AddOrUpdate(sequence, 1, (_, n) => n + 1);
    }

    public bool AllViaArrived() => _sentVia.Keys.All(_viaSeen.ContainsKey);

    public CrashLoopSummary Summarise()
    {
        var lost = _sent.Where(s => !_idOfSequence.ContainsKey(s.Key)).Select(s => s.Key).Order().ToList();
        var viaLost = _sentVia.Keys.Where(s => !_viaSeen.ContainsKey(s)).Order().ToList();
        return new CrashLoopSummary(
            _sent.Count,
            _ackedIn.Count,
            _idOfSequence.Count,
            Interlocked.Read(ref _deliveries),
            Interlocked.Read(ref _redeliveries),
            lost,
            _sentVia.Count,
            _viaSeen.Count(v => _sentVia.ContainsKey(v.Key)),
            _viaSeen.Values.Sum(n => n - 1),
            viaLost);
    }

    private static string Life(int epoch) => epoch == FinalEpoch ? "final" : epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The figures of a crash loop, and what it lost.</summary>
internal sealed record CrashLoopSummary(
    int Sent,
    int Acked,
    int Delivered,
    long Deliveries,
    long Redeliveries,
    IReadOnlyList<long> Lost,
    int SentVia,
    int ViaArrived,
    int ViaDuplicates,
    IReadOnlyList<long> ViaLost)
{
    public override string ToString() =>
        $"SEND ok {Sent}, delivered {Delivered} (in {Deliveries} deliveries, {Redeliveries} redelivered), ACK ok {Acked}, lost {Lost.Count}; " +
        $"SEND_VIA ok {SentVia}, arrived {ViaArrived} ({ViaDuplicates} duplicates), lost {ViaLost.Count}";
}

/// <summary>
/// A payload that names itself: its sequence number, the address index it was sent to, and a filler drawn from
/// the sequence, so that any delivery can be checked byte for byte against the send it claims to be.
/// </summary>
internal static class Payload
{
    private const int Header = 9;

    public static byte[] Make(long sequence, byte target)
    {
        var filler = new Random(unchecked((int)sequence * 31 + target));
        var payload = new byte[Header + filler.Next(8, 600)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
        payload[8] = target;
        filler.NextBytes(payload.AsSpan(Header));
        return payload;
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out long sequence, out byte target)
    {
        sequence = 0;
        target = 0;
        if (payload.Length < Header)
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadInt64LittleEndian(payload);
        target = payload[8];
        return payload.SequenceEqual(Make(sequence, target));
    }
}
