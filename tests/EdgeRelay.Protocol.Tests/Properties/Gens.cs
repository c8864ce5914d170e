using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>Generators of wire field values and of ways to cut and damage bodies.</summary>
internal static class Gens
{
    public static readonly Gen<byte> Byte = Gen.Choose(0, 255).Select(i => (byte)i);

    /// <summary>Uniform over all 64 bits, not FsCheck's size-bound numbers, with the edges a codec gets wrong often.</summary>
    public static readonly Gen<ulong> UInt64 = Gen.Frequency(
        (4, BytesOf(8).Select(b => BinaryPrimitives.ReadUInt64BigEndian(b))),
        (1, Gen.Elements(0UL, 1UL, 0x7FUL << 56, 0x80UL << 56, ulong.MaxValue)));

    // The top bits of UInt64, so that the edges (0, the sign bit, all ones) carry over to each width.
    public static readonly Gen<long> Int64 = UInt64.Select(v => (long)v);

    public static readonly Gen<uint> UInt32 = UInt64.Select(v => (uint)(v >> 32));

    public static readonly Gen<int> Int32 = UInt32.Select(v => (int)v);

    public static readonly Gen<ushort> UInt16 = UInt64.Select(v => (ushort)(v >> 48));

    public static readonly Gen<AddressId> Aid = Gen.Zip(UInt64, UInt64).Select(t => new AddressId(t.Item1, t.Item2));

    public static readonly Gen<UploadId> Upload = Gen.Zip(UInt64, UInt64).Select(t => new UploadId(t.Item1, t.Item2));

    public static readonly Gen<AttachmentId> Attachment = Gen.Zip(UInt64, UInt64).Select(t => new AttachmentId(t.Item1, t.Item2));

    /// <summary>FsCheck's own byte arrays: what a peer could send.</summary>
    public static readonly Gen<byte[]> AnyBytes = ArbMap.Default.GeneratorFor<byte[]>();

    /// <summary>Up to four cut points, reduced modulo the length: bodies arrive in pieces, empty ones included.</summary>
    public static readonly Gen<int[]> Cuts = Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 1 << 20), n));

    // One to four UTF-8 bytes each, so that byte limits are met with characters of every width.
    private static readonly Gen<string> Character = Gen.Elements("a", "Z", "0", ":", "/", " ", "é", "€", "😀");

    private static readonly Gen<string> HostCharacter = Gen.Elements("a", "z", "0", "9", ".", "-", "é");

    public static Gen<byte[]> BytesOf(int length) => Gen.ArrayOf(Byte, length);

    public static Gen<byte[]> BytesOf(int min, int max) => Count(min, max).SelectMany(BytesOf);

    /// <summary>A count in range, the bounds themselves often.</summary>
    public static Gen<int> Count(int min, int max) => Gen.Frequency((3, Gen.Choose(min, max)), (1, Gen.Elements(min, max)));

    /// <summary>Text of <paramref name="min"/> to <paramref name="max"/> UTF-8 bytes (a character that does not fit is left out).</summary>
    public static Gen<string> Utf8(int min, int max) =>
        Count(min, max).SelectMany(target => Gen.ArrayOf(Character, target).Select(pieces => Fit(pieces, target, min)));

    /// <summary>"host:port" as cards and SEND_VIA carry it: a name or a bracketed IPv6 literal, a port 1..65535.</summary>
    public static readonly Gen<string> HostAndPort = Gen.Zip(
            Gen.OneOf(
                Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(HostCharacter, n)).Select(string.Concat),
                Gen.Elements("[::1]", "[2001:db8::7]", "127.0.0.1")),
            Count(1, 65535))
        .Select(t => t.Item1 + ":" + t.Item2.ToString(CultureInfo.InvariantCulture));

    public static Gen<T[]> ArrayOf<T>(Gen<T> item, int min, int max) => Count(min, max).SelectMany(n => Gen.ArrayOf(item, n));

    /// <summary>The body unchanged, with one byte replaced, cut short (often by its last few bytes, where a length prefix is off by one), or with bytes appended.</summary>
    public static Gen<byte[]> Mutated(byte[] body)
    {
        var mutations = new List<Gen<byte[]>>
        {
            Gen.Constant(body),
            Gen.Choose(0, body.Length).Select(n => body[..n]),
            Gen.Choose(1, 3).Select(n => body[..Math.Max(0, body.Length - n)]),
            BytesOf(1, 8).Select(extra => body.Concat(extra).ToArray()),
        };
        if (body.Length > 0)
        {
            mutations.Add(Gen.Zip(Gen.Choose(0, body.Length - 1), Byte).Select(t =>
            {
                var copy = (byte[])body.Clone();
                copy[t.Item1] = t.Item2;
                return copy;
            }));
        }

        return Gen.OneOf(mutations);
    }

    public static ReadOnlySequence<byte> Split(byte[] data, int[] cuts) =>
        Segments.Split(data, [.. cuts.Select(c => c % (data.Length + 1))]);

    private static string Fit(string[] pieces, int target, int min)
    {
        var text = new StringBuilder();
        var bytes = 0;
        foreach (var piece in pieces)
        {
            var size = Encoding.UTF8.GetByteCount(piece);
            if (bytes + size <= target)
            {
                text.Append(piece);
                bytes += size;
            }
        }

        // Wide characters may leave the text short of its minimum: ASCII makes it up.
        return text.Append('x', Math.Max(0, min - bytes)).ToString();
    }
}
