using System.Buffers;

namespace EdgeRelay.Protocol.Tests;

/// <summary>HELLO_REPLY with and without the TLS pin extension, with alternative endpoints, and extensions a client does not know.</summary>
public sealed class ServerInfoTests
{
    private static ServerInfo Info(byte[] pin) => new()
    {
        MaxCiphertext = 16384,
        MaxRequestBody = 20000,
        MaxReplyBody = 1 << 20,
        MaxPullCount = 256,
        MaxInFlight = 1024,
        DefaultAddressLifetimeSeconds = 100,
        MaxAddressLifetimeSeconds = 1000,
        ServicePublicKey = new byte[32],
        AuthNonce = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
        Endpoint = "relay.example:7400",
        TlsPin = pin,
    };

    private static byte[] Body(ServerInfo info)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteServerInfo(writer, 1, info);
        return writer.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();
    }

    [Fact]
    public void The_pin_round_trips_and_a_relay_without_tls_announces_none()
    {
        var pin = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(Body(Info(pin))), out var withPin));
        Assert.Equal(pin, withPin.TlsPin.ToArray());
        Assert.Equal("relay.example:7400", withPin.Endpoint);

        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(Body(Info([]))), out var withoutPin));
        Assert.True(withoutPin.TlsPin.IsEmpty);
        Assert.Equal("relay.example:7400", withoutPin.Endpoint);
    }

    [Fact]
    public void Unknown_extensions_are_skipped_and_a_truncated_or_misshapen_one_is_refused()
    {
        var body = Body(Info([]));
        byte[] unknown = [.. body, 0x7F, 3, 1, 2, 3];
        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(unknown), out var info));
        Assert.True(info.TlsPin.IsEmpty);

        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. body, 0x7F, 3, 1]), out _)); // cut short
        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. body, ProtocolConstants.TlsPinExtension, 2, 1, 2]), out _)); // a pin is 32 bytes
        Assert.Throws<ArgumentException>(() => Body(Info(new byte[31])));
    }

    [Fact]
    public void Alternative_endpoints_follow_the_pin_in_order_and_are_held_to_the_card_rules()
    {
        var pin = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        var info = Info(pin) with { AlternativeEndpoints = ["b.example:7400", "[::1]:7400"] };
        var body = Body(info);
        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(body), out var read));
        Assert.Equal(["b.example:7400", "[::1]:7400"], read.AlternativeEndpoints);
        Assert.Equal(pin, read.TlsPin.ToArray());
        Assert.Equal(body.Length - (2 + 14) - (2 + 10), Body(Info(pin)).Length);

        // A client that predates type 2 skips it and reads the rest as before.
        var withoutAlternatives = Body(Info(pin));
        Assert.Equal(withoutAlternatives, body[..withoutAlternatives.Length]);

        var plain = Body(Info([]));
        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. plain, ProtocolConstants.AlternativeEndpointExtension, 0]), out _)); // empty
        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. plain, ProtocolConstants.AlternativeEndpointExtension, 2, 0xFF, 0xFE]), out _)); // not UTF-8
        var nine = Enumerable.Range(1, 9).SelectMany(i => new byte[] { ProtocolConstants.AlternativeEndpointExtension, 6, (byte)'h', (byte)('0' + i), (byte)':', (byte)'7', (byte)'4', (byte)'0' }).ToArray();
        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. plain, .. nine]), out _)); // more than 8
        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>([.. plain, .. nine[..^8]]), out var eight));
        Assert.Equal(8, eight.AlternativeEndpoints.Count);
        Assert.Throws<ArgumentException>(() => Body(Info([]) with { AlternativeEndpoints = [.. Enumerable.Range(1, 9).Select(i => $"h{i}:7400")] }));
        Assert.Throws<ArgumentException>(() => Body(Info([]) with { AlternativeEndpoints = [new string('a', 256)] }));
    }
}
