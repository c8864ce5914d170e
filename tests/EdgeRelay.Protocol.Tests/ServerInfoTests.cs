using System.Buffers;

namespace EdgeRelay.Protocol.Tests;

/// <summary>HELLO_REPLY with and without the TLS pin extension, and extensions a client does not know.</summary>
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
}
