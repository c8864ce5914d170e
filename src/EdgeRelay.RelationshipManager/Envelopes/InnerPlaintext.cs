using System.Buffers.Binary;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// The inner plaintext (docs/RM-PROTOCOL.md §4.1): <c>u32 body length || body || zero padding ||
/// signature (64)</c>, exactly as long as the envelope's bucket leaves, and the signed data.
/// </summary>
internal static class InnerPlaintext
{
    private static ReadOnlySpan<byte> SignatureContext => "EdgeRelay-RM-v1 signature"u8;

    /// <summary>Writes the length and the body and zeroes the rest (padding and the signature's place).</summary>
    public static void Write(Span<byte> inner, ReadOnlySpan<byte> body)
    {
        inner.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(inner, (uint)body.Length);
        body.CopyTo(inner[Envelope.BodyLengthPrefix..]);
    }

    /// <summary>The body of an opened inner plaintext, once its length fits and its padding is zero.</summary>
    /// <exception cref="EnvelopeException">Malformed (the length does not fit) or BadPadding.</exception>
    public static ReadOnlyMemory<byte> Body(ReadOnlyMemory<byte> inner)
    {
        var span = inner.Span;
        var room = span.Length - Envelope.BodyLengthPrefix - Envelope.SignatureLength;
        var length = BinaryPrimitives.ReadUInt32BigEndian(span);
        if (length > (uint)room)
        {
            EnvelopeException.Throw(EnvelopeError.Malformed, $"A body of {length} bytes does not fit the {room} bytes of this envelope.");
        }

        var end = Envelope.BodyLengthPrefix + (int)length;
        if (span[end..^Envelope.SignatureLength].ContainsAnyExcept((byte)0))
        {
            EnvelopeException.Throw(EnvelopeError.BadPadding, "A padding byte is not zero.");
        }

        return inner[Envelope.BodyLengthPrefix..end];
    }

    /// <summary>"EdgeRelay-RM-v1 signature" || recipient IKs.pub || header || enc || inner without its signature.</summary>
    public static byte[] SignedData(ReadOnlySpan<byte> recipientSigningKey, ReadOnlySpan<byte> header, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> inner)
    {
        var unsigned = inner[..^Envelope.SignatureLength];
        var data = new byte[SignatureContext.Length + recipientSigningKey.Length + header.Length + enc.Length + unsigned.Length];
        var rest = Append(data, SignatureContext);
        rest = Append(rest, recipientSigningKey);
        rest = Append(rest, header);
        rest = Append(rest, enc);
        Append(rest, unsigned);
        return data;
    }

    private static Span<byte> Append(Span<byte> destination, ReadOnlySpan<byte> part)
    {
        part.CopyTo(destination);
        return destination[part.Length..];
    }
}
