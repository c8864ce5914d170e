using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Fuzzing;

/// <summary>What a body decoder made of some bytes: its status, and on success the value written back by the encoder.</summary>
/// <param name="Encoded">The encoder's body for the decoded value; null when refused or when there is no encoder.</param>
internal readonly record struct Outcome(string Status, byte[]? Encoded)
{
    public const string Ok = "Ok";

    public static Outcome Refused { get; } = new("Refused", null);

    public static Outcome Of(BodyStatus status, Func<byte[]> encode) => status == BodyStatus.Ok ? new(Ok, encode()) : new(status.ToString(), null);

    public static Outcome Of(bool accepted, Func<byte[]> encode) => accepted ? new(Ok, encode()) : Refused;
}

/// <summary>The registry of targets, by name (fuzz.sh and the replay tests select them by it).</summary>
public static partial class Targets
{
    private static readonly AddressId Aid = new(0x0102030405060708, 0x090a0b0c0d0e0f10);

    public static IReadOnlyList<FuzzTarget> All { get; } = [.. Frames(), .. Requests(), .. Sending(), .. Replies(), .. Uploads(), .. Addressing(), .. Attachments(), .. RelationshipManager(), .. SelfTests()];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>
    /// A protocol body decoder, checked three ways: it decodes one segment and many alike; a value it accepts,
    /// written back by the encoder, decodes again to the same bytes; the encoder's frame header tells the body's
    /// true length.
    /// </summary>
    private static FuzzTarget Body(string name, Func<ReadOnlySequence<byte>, Outcome> decode, params Action<IBufferWriter<byte>>[] seeds) =>
        new(name, data =>
        {
            var whole = decode(new ReadOnlySequence<byte>(data));
            var split = decode(Sequences.Split(data));
            OracleException.Check(whole.Status == split.Status && Same(whole.Encoded, split.Encoded),
                $"{name}: one segment gives {whole.Status}, several give {split.Status} (or another value)");
            if (whole.Encoded is { } encoded)
            {
                var again = decode(new ReadOnlySequence<byte>(encoded));
                OracleException.Check(again.Status == Outcome.Ok && Same(again.Encoded, encoded),
                    $"{name}: the accepted value, re-encoded, decodes as {again.Status} or to other bytes");
            }

            return whole.Status == Outcome.Ok;
        }, () => seeds.Select(BodyOf));

    /// <summary>The body of the one frame <paramref name="write"/> writes, checked against its header's length.</summary>
    private static byte[] BodyOf(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        var header = FrameHeader.Read(output.WrittenSpan);
        var body = output.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();
        OracleException.Check(header.BodyLength == body.Length, $"the encoder's header says {header.BodyLength} bytes, its body has {body.Length}");
        return body;
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static byte[] Bytes(int length, byte first) => [.. Enumerable.Range(first, length).Select(i => (byte)i)];

    /// <summary>
    /// Proves the chain: a target that crashes on any input starting with 0xFF, which afl-fuzz finds in seconds. It
    /// runs a real decoder first because afl-fuzz refuses a target that reaches no instrumented code.
    /// </summary>
    private static IEnumerable<FuzzTarget> SelfTests()
    {
        yield return new FuzzTarget("selftest-crash", data =>
        {
            var accepted = BodyReader.TryReadHello(new ReadOnlySequence<byte>(data), out _);
            return data is [0xFF, ..] ? throw new InvalidOperationException("self-test crash") : accepted;
        }, () => [[0x00]], Hidden: true);
    }
}
