using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace EdgeRelay.Addressing;

/// <summary>
/// What a relationship manager hands to a correspondent so that they can reach one long-term
/// address: the relay's endpoint and service key, the <c>aid</c> (only ever sent sealed, inside
/// ephemeral addresses), and the card's expiry.
/// </summary>
/// <remarks>
/// Binary v1, integers big-endian: version u8 (1) | aid (16) | expiresAt u64 unix seconds |
/// service X25519 public key (32) | endpoint length u8 (1..255) | endpoint UTF-8 "host:port" |
/// extensions, each type u8 | length u8 | value, to the end. Extensions this version does not
/// know are carried, not interpreted, so new ones can be added without a version bump; a
/// truncated one is an error. Type 2 (alternative endpoints) is interpreted and checked here:
/// see <see cref="AlternativeEndpoints"/>. Text form: <c>edgerelay1:</c> + unpadded base64url of the binary.
/// Decoding is strict (exact lengths, canonical base64url) because cards come from strangers.
/// </remarks>
public sealed partial class AddressCard
{
    public const byte Version = 1;

    public const string TextPrefix = "edgerelay1:";

    /// <summary>
    /// Upper bound on an encoded card, so a hostile one cannot make a decoder allocate without
    /// limit; generous next to a real card (~90 bytes plus a few extensions).
    /// </summary>
    public const int MaxEncodedLength = 2048;

    public const int MaxEndpointLength = byte.MaxValue;

    private const int FixedLength = 1 + AddressId.Length + sizeof(ulong) + Hpke.PublicKeyLength + 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _servicePublicKey;
    private readonly AddressCardExtension[] _extensions;
    private readonly int _endpointByteCount;

    /// <exception cref="ArgumentException">Any field that could not be encoded or would not decode.</exception>
    public AddressCard(
        AddressId aid,
        long expiresAtUnixSeconds,
        ReadOnlySpan<byte> servicePublicKey,
        string endpoint,
        IEnumerable<AddressCardExtension>? extensions = null)
    {
        if (aid.IsEmpty)
        {
            throw new ArgumentException("The empty address id names no address.", nameof(aid));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(expiresAtUnixSeconds);
        if (servicePublicKey.Length != Hpke.PublicKeyLength)
        {
            throw new ArgumentException("A service public key is 32 bytes.", nameof(servicePublicKey));
        }

        ArgumentNullException.ThrowIfNull(endpoint);
        var endpointError = ValidateEndpoint(endpoint, out _endpointByteCount);
        if (endpointError is not null)
        {
            throw new ArgumentException(endpointError, nameof(endpoint));
        }

        Aid = aid;
        ExpiresAtUnixSeconds = expiresAtUnixSeconds;
        _servicePublicKey = servicePublicKey.ToArray();
        Endpoint = endpoint;
        _extensions = extensions is null ? [] : [.. extensions];
        var alternativesError = ReadAlternatives(endpoint, _extensions, out _alternatives);
        if (alternativesError is not null)
        {
            throw new ArgumentException(alternativesError, nameof(extensions));
        }

        if (GetEncodedLength() > MaxEncodedLength)
        {
            throw new ArgumentException($"The card would encode to more than {MaxEncodedLength} bytes.", nameof(extensions));
        }
    }

    public AddressId Aid { get; }

    public long ExpiresAtUnixSeconds { get; }

    /// <summary>The relay's X25519 service public key (32 bytes): ephemeral addresses are sealed to it.</summary>
    public ReadOnlyMemory<byte> ServicePublicKey => _servicePublicKey;

    /// <summary>"host:port" of the relay's message endpoint.</summary>
    public string Endpoint { get; }

    public IReadOnlyList<AddressCardExtension> Extensions => _extensions;

    public int GetEncodedLength()
    {
        var length = FixedLength + _endpointByteCount;
        foreach (var extension in _extensions)
        {
            length += 2 + extension.Value.Length;
        }

        return length;
    }

    /// <summary>Writes the binary form; returns the number of bytes written.</summary>
    public int Encode(Span<byte> destination)
    {
        var length = GetEncodedLength();
        if (destination.Length < length)
        {
            throw new ArgumentException($"The card needs {length} bytes.", nameof(destination));
        }

        destination[0] = Version;
        var rest = destination[1..];
        Aid.Write(rest);
        rest = rest[AddressId.Length..];
        BinaryPrimitives.WriteUInt64BigEndian(rest, (ulong)ExpiresAtUnixSeconds);
        rest = rest[sizeof(ulong)..];
        _servicePublicKey.CopyTo(rest);
        rest = rest[Hpke.PublicKeyLength..];
        rest[0] = (byte)_endpointByteCount;
        StrictUtf8.GetBytes(Endpoint, rest.Slice(1, _endpointByteCount));
        rest = rest[(1 + _endpointByteCount)..];
        foreach (var extension in _extensions)
        {
            rest[0] = extension.Type;
            rest[1] = (byte)extension.Value.Length;
            extension.Value.Span.CopyTo(rest[2..]);
            rest = rest[(2 + extension.Value.Length)..];
        }

        return length;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[GetEncodedLength()];
        Encode(bytes);
        return bytes;
    }

    /// <summary>The text form: <c>edgerelay1:</c> followed by unpadded base64url.</summary>
    public override string ToString() => TextPrefix + Base64Url.EncodeToString(ToArray());

    /// <exception cref="FormatException">The bytes are not a valid v1 card; the message says why.</exception>
    public static AddressCard Decode(ReadOnlySpan<byte> source)
    {
        if (!TryDecode(source, out var card, out var error))
        {
            throw new FormatException("Invalid address card: " + error);
        }

        return card;
    }

    public static bool TryDecode(ReadOnlySpan<byte> source, [NotNullWhen(true)] out AddressCard? card, [NotNullWhen(false)] out string? error)
    {
        card = null;
        if (source.Length > MaxEncodedLength)
        {
            error = $"{source.Length} bytes is longer than the {MaxEncodedLength} a card may have.";
            return false;
        }

        if (source.IsEmpty)
        {
            error = "empty input.";
            return false;
        }

        if (source[0] != Version)
        {
            error = $"version {source[0]} is not supported (expected {Version}).";
            return false;
        }

        if (source.Length < FixedLength)
        {
            error = $"truncated: {source.Length} bytes, the fixed part alone is {FixedLength}.";
            return false;
        }

        var rest = source[1..];
        var aid = AddressId.Read(rest);
        rest = rest[AddressId.Length..];
        if (aid.IsEmpty)
        {
            error = "the address id is all zeros.";
            return false;
        }

        var expiresAt = BinaryPrimitives.ReadUInt64BigEndian(rest);
        rest = rest[sizeof(ulong)..];
        if (expiresAt > long.MaxValue)
        {
            error = "the expiry is out of range.";
            return false;
        }

        var servicePublicKey = rest[..Hpke.PublicKeyLength];
        rest = rest[Hpke.PublicKeyLength..];

        int endpointLength = rest[0];
        rest = rest[1..];
        if (endpointLength == 0)
        {
            error = "the endpoint is empty.";
            return false;
        }

        if (rest.Length < endpointLength)
        {
            error = $"truncated endpoint: {endpointLength} bytes announced, {rest.Length} present.";
            return false;
        }

        string endpoint;
        try
        {
            endpoint = StrictUtf8.GetString(rest[..endpointLength]);
        }
        catch (DecoderFallbackException)
        {
            error = "the endpoint is not valid UTF-8.";
            return false;
        }

        var endpointError = ValidateEndpoint(endpoint, out _);
        if (endpointError is not null)
        {
            error = endpointError;
            return false;
        }

        rest = rest[endpointLength..];
        var extensions = new List<AddressCardExtension>();
        while (!rest.IsEmpty)
        {
            if (rest.Length < 2)
            {
                error = "truncated extension header.";
                return false;
            }

            var type = rest[0];
            int length = rest[1];
            if (rest.Length - 2 < length)
            {
                error = $"truncated extension of type {type}: {length} bytes announced, {rest.Length - 2} present.";
                return false;
            }

            extensions.Add(new AddressCardExtension(type, rest.Slice(2, length)));
            rest = rest[(2 + length)..];
        }

        var alternativesError = ReadAlternatives(endpoint, [.. extensions], out _);
        if (alternativesError is not null)
        {
            error = alternativesError;
            return false;
        }

        card = new AddressCard(aid, (long)expiresAt, servicePublicKey, endpoint, extensions);
        error = null;
        return true;
    }

    /// <exception cref="FormatException">Not a valid text card; the message says why.</exception>
    public static AddressCard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var card, out var error))
        {
            throw new FormatException("Invalid address card: " + error);
        }

        return card;
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out AddressCard? card) =>
        TryParse(text, out card, out _);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out AddressCard? card, [NotNullWhen(false)] out string? error)
    {
        card = null;
        if (text is null)
        {
            error = "no text.";
            return false;
        }

        if (!text.StartsWith(TextPrefix, StringComparison.Ordinal))
        {
            error = $"the text does not start with \"{TextPrefix}\".";
            return false;
        }

        var payload = text.AsSpan(TextPrefix.Length);
        if (Base64Url.GetMaxDecodedLength(payload.Length) > MaxEncodedLength)
        {
            error = $"the text is longer than a card of {MaxEncodedLength} bytes can be.";
            return false;
        }

        if (payload.Contains('='))
        {
            error = "the base64url payload must not be padded.";
            return false;
        }

        Span<byte> buffer = stackalloc byte[MaxEncodedLength];
        if (Base64Url.DecodeFromChars(payload, buffer, out _, out var written) != System.Buffers.OperationStatus.Done)
        {
            error = "the payload is not base64url.";
            return false;
        }

        var bytes = buffer[..written];
        // One card, one text: refuse whitespace and non-zero spare bits the decoder tolerates,
        // so equal cards always compare equal as strings.
        Span<char> canonical = stackalloc char[Base64Url.GetEncodedLength(written)];
        if (!Base64Url.TryEncodeToChars(bytes, canonical, out var charsWritten)
            || !canonical[..charsWritten].SequenceEqual(payload))
        {
            error = "the base64url payload is not in canonical form.";
            return false;
        }

        return TryDecode(bytes, out card, out error);
    }

    // Shared by the constructor and the decoder so that whatever encodes also decodes.
    private static string? ValidateEndpoint(string endpoint, out int byteCount)
    {
        byteCount = 0;
        try
        {
            byteCount = StrictUtf8.GetByteCount(endpoint);
        }
        catch (EncoderFallbackException)
        {
            return "the endpoint is not valid Unicode.";
        }

        if (byteCount is 0 or > MaxEndpointLength)
        {
            return $"the endpoint is {byteCount} bytes of UTF-8; it must be 1 to {MaxEndpointLength}.";
        }

        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0
            || !ushort.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port == 0)
        {
            return $"the endpoint \"{endpoint}\" is not \"host:port\" with a port from 1 to 65535.";
        }

        return null;
    }
}
