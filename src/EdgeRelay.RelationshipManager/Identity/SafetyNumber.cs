using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The number two people compare to know that no one stands between them (docs/RM-PROTOCOL.md §2.1):
/// 60 digits derived from both identities, the same on both sides.
/// </summary>
public static class SafetyNumber
{
    public const int Groups = 12;

    public const int DigitsPerGroup = 5;

    private const int BytesPerGroup = 5;

    private static ReadOnlySpan<byte> Context => "EdgeRelay-RM-v1 safety number"u8;

    /// <summary>Twelve groups of five digits separated by single spaces.</summary>
    public static string Compute(PublicIdentity one, PublicIdentity other)
    {
        ArgumentNullException.ThrowIfNull(one);
        ArgumentNullException.ThrowIfNull(other);

        // Sorted so that both people compute the same number whichever side they stand on.
        var (lo, hi) = one.Bytes.SequenceCompareTo(other.Bytes) <= 0 ? (one, other) : (other, one);
        Span<byte> input = stackalloc byte[Context.Length + 2 * PublicIdentity.Length];
        Context.CopyTo(input);
        lo.Bytes.CopyTo(input[Context.Length..]);
        hi.Bytes.CopyTo(input[(Context.Length + PublicIdentity.Length)..]);
        Span<byte> digest = stackalloc byte[SHA512.HashSizeInBytes];
        SHA512.HashData(input, digest);

        Span<char> text = stackalloc char[(Groups * (DigitsPerGroup + 1)) - 1];
        Span<byte> group = stackalloc byte[sizeof(ulong)];
        for (int i = 0; i < Groups; i++)
        {
            group.Clear();
            digest.Slice(i * BytesPerGroup, BytesPerGroup).CopyTo(group[(sizeof(ulong) - BytesPerGroup)..]);
            var value = BinaryPrimitives.ReadUInt64BigEndian(group) % 100_000;
            var slot = text.Slice(i * (DigitsPerGroup + 1), DigitsPerGroup);
            value.TryFormat(slot, out _, "D5", System.Globalization.CultureInfo.InvariantCulture);
            if (i < Groups - 1)
            {
                text[(i * (DigitsPerGroup + 1)) + DigitsPerGroup] = ' ';
            }
        }

        return new string(text);
    }

    /// <summary>
    /// Whether what the other person read out is this number: digits compared, spaces and any other
    /// separators ignored, so "12345-67890…" and "1234567890…" both match.
    /// </summary>
    public static bool Matches(string expected, string spoken)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(spoken);
        var a = expected.Where(char.IsAsciiDigit);
        var b = spoken.Where(char.IsAsciiDigit);
        return a.SequenceEqual(b);
    }
}
