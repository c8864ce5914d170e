using System.Buffers;
using System.Text;

namespace EdgeRelay.Protocol.Tests;

/// <summary>Every frame the writer produces parses back, whole and split into one-byte segments.</summary>
public class BodyCodecTests
{
    private static (FrameHeader Header, ReadOnlySequence<byte> Body) Roundtrip(Action<ArrayBufferWriter<byte>> write, bool bytewise)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        var bytes = writer.WrittenSpan.ToArray();
        var buffer = bytewise ? Segments.Bytewise(bytes) : new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body));
        Assert.True(buffer.IsEmpty);
        return (header, body);
    }

    private static readonly AddressId Aid = new(0x0102030405060708, 0x1112131415161718);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hello_roundtrips(bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteHello(w, 3), bytewise);
        Assert.Equal(FrameType.Hello, header.Type);
        Assert.True(BodyReader.TryReadHello(body, out var hello));
        Assert.Equal(ProtocolConstants.HelloMagic, hello.Magic);
        Assert.Equal(1, hello.MinVersion);
        Assert.Equal(1, hello.MaxVersion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Server_info_roundtrips(bool bytewise)
    {
        var info = new ServerInfo
        {
            MaxCiphertext = 16384,
            MaxRequestBody = 20553,
            MaxReplyBody = 1 << 20,
            MaxPullCount = 256,
            MaxInFlight = 1024,
            DefaultAddressLifetimeSeconds = 3600,
            MaxAddressLifetimeSeconds = 7200,
            ServicePublicKey = Enumerable.Repeat((byte)7, 32).ToArray(),
            AuthNonce = Enumerable.Repeat((byte)9, 32).ToArray(),
            Endpoint = "relay.example:7400",
        };
        var (header, body) = Roundtrip(w => FrameWriter.WriteServerInfo(w, 1, info), bytewise);
        Assert.Equal(FrameType.HelloReply, header.Type);
        Assert.True(BodyReader.TryReadServerInfo(body, out var parsed));
        Assert.Equal(info.MaxCiphertext, parsed.MaxCiphertext);
        Assert.Equal(info.MaxRequestBody, parsed.MaxRequestBody);
        Assert.Equal(info.MaxReplyBody, parsed.MaxReplyBody);
        Assert.Equal(info.MaxPullCount, parsed.MaxPullCount);
        Assert.Equal(info.MaxInFlight, parsed.MaxInFlight);
        Assert.Equal(info.DefaultAddressLifetimeSeconds, parsed.DefaultAddressLifetimeSeconds);
        Assert.Equal(info.MaxAddressLifetimeSeconds, parsed.MaxAddressLifetimeSeconds);
        Assert.Equal(info.ServicePublicKey.ToArray(), parsed.ServicePublicKey.ToArray());
        Assert.Equal(info.AuthNonce.ToArray(), parsed.AuthNonce.ToArray());
        Assert.Equal(info.Endpoint, parsed.Endpoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Send_splits_address_and_ciphertext(bool bytewise)
    {
        var ephemeral = Enumerable.Range(0, 73).Select(i => (byte)i).ToArray();
        var ciphertext = Encoding.ASCII.GetBytes("ciphertext bytes");
        var (header, body) = Roundtrip(w => FrameWriter.WriteSend(w, 42, ephemeral, ciphertext), bytewise);
        Assert.Equal(FrameType.Send, header.Type);
        Assert.Equal(42u, header.RequestId);
        var address = new byte[73];
        Assert.True(BodyReader.TryReadSend(body, address, out var parsedCiphertext));
        Assert.Equal(ephemeral, address);
        Assert.Equal(ciphertext, parsedCiphertext.ToArray());
    }

    [Fact]
    public void Send_shorter_than_an_address_is_refused()
    {
        Assert.False(BodyReader.TryReadSend(new ReadOnlySequence<byte>(new byte[72]), new byte[73], out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Create_address_roundtrips(bool bytewise)
    {
        var key = Enumerable.Repeat((byte)5, 32).ToArray();
        var (_, body) = Roundtrip(w => FrameWriter.WriteCreateAddress(w, 1, key, 3600), bytewise);
        Assert.True(BodyReader.TryReadCreateAddress(body, out var request));
        Assert.Equal(key, request.OwnerPublicKey.ToArray());
        Assert.Equal(3600u, request.LifetimeSeconds);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Address_created_roundtrips(bool bytewise)
    {
        var card = Enumerable.Range(0, 90).Select(i => (byte)i).ToArray();
        var (_, body) = Roundtrip(w => FrameWriter.WriteAddressCreated(w, 1, 1_900_000_000, card), bytewise);
        Assert.True(BodyReader.TryReadAddressCreated(body, out var reply));
        Assert.Equal(1_900_000_000, reply.ExpiresAtUnixSeconds);
        Assert.Equal(card, reply.Card.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Revoke_roundtrips(bool bytewise)
    {
        var signature = Enumerable.Repeat((byte)3, 64).ToArray();
        var (_, body) = Roundtrip(w => FrameWriter.WriteRevokeAddress(w, 1, Aid, signature), bytewise);
        Assert.True(BodyReader.TryReadRevokeAddress(body, out var request));
        Assert.Equal(Aid, request.Address);
        Assert.Equal(signature, request.Signature.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Auth_roundtrips_several_claims(bool bytewise)
    {
        var claims = new[]
        {
            new AuthClaim(Aid, Enumerable.Repeat((byte)1, 64).ToArray()),
            new AuthClaim(new AddressId(9, 9), Enumerable.Repeat((byte)2, 64).ToArray()),
        };
        var (_, body) = Roundtrip(w => FrameWriter.WriteAuth(w, 1, claims), bytewise);
        Assert.True(BodyReader.TryReadAuth(body, out var parsed));
        Assert.Equal(2, parsed.Length);
        Assert.Equal(claims[1].Address, parsed[1].Address);
        Assert.Equal(claims[1].Signature.ToArray(), parsed[1].Signature.ToArray());
    }

    [Fact]
    public void Auth_with_a_count_that_disagrees_with_the_length_is_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteAuth(writer, 1, [new AuthClaim(Aid, new byte[64])]);
        var body = writer.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();
        body[1] = 2; // claims two, carries one
        Assert.False(BodyReader.TryReadAuth(new ReadOnlySequence<byte>(body), out _));
        Assert.False(BodyReader.TryReadAuth(new ReadOnlySequence<byte>(new byte[] { 0, 0 }), out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pull_and_ack_roundtrip(bool bytewise)
    {
        var (_, pull) = Roundtrip(w => FrameWriter.WritePull(w, 1, Aid, 50), bytewise);
        Assert.True(BodyReader.TryReadPull(pull, out var request));
        Assert.Equal(Aid, request.Address);
        Assert.Equal(50, request.MaxCount);

        var ids = new long[] { 1, 1 << 40, long.MaxValue };
        var (_, ack) = Roundtrip(w => FrameWriter.WriteAck(w, 1, Aid, ids), bytewise);
        Assert.True(BodyReader.TryReadAck(ack, out var aid, out var parsedIds));
        Assert.Equal(Aid, aid);
        Assert.Equal(ids, parsedIds);
    }

    [Fact]
    public void Pull_of_zero_messages_is_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WritePull(writer, 1, Aid, 0);
        Assert.False(BodyReader.TryReadPull(new ReadOnlySequence<byte>(writer.WrittenMemory[ProtocolConstants.HeaderLength..]), out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Messages_roundtrip(bool bytewise)
    {
        var payloads = new[] { new byte[] { 1, 2, 3 }, new byte[1000], new byte[] { 9 } };
        var lengths = payloads.Select(p => p.Length).ToArray();
        var (header, body) = Roundtrip(
            w =>
            {
                FrameWriter.WriteMessagesHeader(w, 8, FrameWriter.MessagesBodyLength(lengths), payloads.Length, more: true);
                for (int i = 0; i < payloads.Length; i++)
                {
                    FrameWriter.WriteDeliveredMessage(w, 100 + i, 1_700_000_000_000 + i, payloads[i]);
                }
            },
            bytewise);
        Assert.Equal(FrameType.Messages, header.Type);
        Assert.True(BodyReader.TryReadMessages(body, out var messages, out var more));
        Assert.True(more);
        Assert.Equal(3, messages.Length);
        Assert.Equal(101, messages[1].Id);
        Assert.Equal(1_700_000_000_002, messages[2].ReceivedAtUnixMs);
        Assert.Equal(payloads[1], messages[1].Ciphertext.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Error_roundtrips(bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteError(w, 5, ErrorCode.AddressRevoked, "address was revoked"), bytewise);
        Assert.Equal(FrameType.Error, header.Type);
        Assert.True(BodyReader.TryReadError(body, out var error));
        Assert.Equal(ErrorCode.AddressRevoked, error.Code);
        Assert.Equal("address was revoked", error.Reason);
    }

    [Fact]
    public void A_long_error_reason_is_cut_on_a_character_boundary()
    {
        var reason = new string('é', 200); // 400 bytes of UTF-8
        var (_, body) = Roundtrip(w => FrameWriter.WriteError(w, 5, ErrorCode.InternalError, reason), false);
        Assert.True(BodyReader.TryReadError(body, out var error));
        Assert.True(Encoding.UTF8.GetByteCount(error.Reason) <= ErrorReply.MaxReasonBytes);
        Assert.DoesNotContain('\uFFFD', error.Reason);
        Assert.StartsWith("ééé", error.Reason);
    }

    [Fact]
    public void Error_codes_are_stable_and_named()
    {
        // The numbers are the wire contract: this test fails if one is renumbered.
        Assert.Equal(2, (int)ErrorCode.FrameTooLarge);
        Assert.Equal(10, (int)ErrorCode.CiphertextTooLarge);
        Assert.Equal(21, (int)ErrorCode.AddressInvalid);
        Assert.Equal(24, (int)ErrorCode.AddressRevoked);
        Assert.Equal(31, (int)ErrorCode.NotAuthenticated);
        Assert.Equal(40, (int)ErrorCode.UnknownMessage);
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            Assert.DoesNotContain("ERROR_", ErrorCodes.Name(code), StringComparison.Ordinal);
        }
    }
}
