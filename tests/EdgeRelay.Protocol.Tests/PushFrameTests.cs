using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol.Tests;

/// <summary>
/// The push and address-management frames (SUBSCRIBE, CREDIT, UNSUBSCRIBE, SET_POLICY, SET_NOTIFY,
/// RENEW_ADDRESS, DELIVER): each writer's output parses back, and each reader refuses what is not
/// exactly its layout, since the server answers MALFORMED_FRAME on nothing but a reader's false.
/// </summary>
public class PushFrameTests
{
    private static readonly AddressId Aid = new(0x0102030405060708, 0x1112131415161718);

    // Messages of a DELIVER, including an empty ciphertext: the length prefix alone must carry it.
    private static readonly (long Id, long ReceivedAt, byte[] Ciphertext)[] Delivered =
    [
        (1, 1_700_000_000_000, [1, 2, 3]),
        (long.MaxValue, 1_700_000_000_001, []),
        (1L << 40, 1_700_000_000_002, Enumerable.Range(0, 300).Select(i => (byte)i).ToArray()),
        (7, 0, [0xFF]),
    ];

    /// <summary>A well-formed body of each new frame, with the reader that must accept exactly that.</summary>
    private static readonly Dictionary<string, (Func<byte[]> Body, Func<ReadOnlySequence<byte>, bool> Read)> Readers = new()
    {
        ["SUBSCRIBE"] = (() => Body(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 1, Aid, 16)), b => BodyReader.TryReadCredit(b, out _)),
        ["CREDIT"] = (() => Body(w => FrameWriter.WriteCredit(w, FrameType.Credit, 1, Aid, 16)), b => BodyReader.TryReadCredit(b, out _)),
        ["UNSUBSCRIBE"] = (() => Body(w => FrameWriter.WriteUnsubscribe(w, 1, Aid)), b => BodyReader.TryReadAddressOnly(b, out _)),
        ["SET_POLICY"] = (() => Body(w => FrameWriter.WriteSetPolicy(w, 1, Aid, new DeliveryPolicy(DeliveryPolicyKind.Batched, 500))), b => BodyReader.TryReadSetPolicy(b, out _)),
        ["SET_NOTIFY"] = (() => Body(w => FrameWriter.WriteSetNotify(w, 1, Aid, "https://push.example/wake/abc")), b => BodyReader.TryReadSetNotify(b, out _)),
        ["RENEW_ADDRESS"] = (() => Body(w => FrameWriter.WriteRenewAddress(w, 1, Aid, 3600)), b => BodyReader.TryReadRenewAddress(b, out _)),
        ["DELIVER"] = (() => DeliverFrame(Delivered)[ProtocolConstants.HeaderLength..], b => BodyReader.TryReadDeliver(b, out _, out _)),
    };

    public static TheoryData<string> ReaderNames => [.. Readers.Keys];

    private static (FrameHeader Header, ReadOnlySequence<byte> Body) Roundtrip(byte[] bytes, bool bytewise)
    {
        var buffer = bytewise ? Segments.Bytewise(bytes) : new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(0, header.Flags);
        return (header, body);
    }

    private static (FrameHeader Header, ReadOnlySequence<byte> Body) Roundtrip(Action<ArrayBufferWriter<byte>> write, bool bytewise) =>
        Roundtrip(Frame(write), bytewise);

    private static byte[] Frame(Action<ArrayBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Body(Action<ArrayBufferWriter<byte>> write) => Frame(write)[ProtocolConstants.HeaderLength..];

    /// <summary>A whole DELIVER frame, laid out the way the server's push pump does it: header, then each message header and ciphertext.</summary>
    private static byte[] DeliverFrame((long Id, long ReceivedAt, byte[] Ciphertext)[] messages)
    {
        var bodyLength = FrameWriter.DeliverBodyLength(messages.Length, messages.Sum(m => (long)m.Ciphertext.Length));
        var frame = new byte[ProtocolConstants.HeaderLength + bodyLength];
        var offset = FrameWriter.WriteDeliverHeader(frame, bodyLength, Aid, messages.Length);
        foreach (var (id, receivedAt, ciphertext) in messages)
        {
            FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(offset), id, receivedAt, ciphertext.Length);
            offset += DeliveredMessage.HeaderLength;
            ciphertext.CopyTo(frame, offset);
            offset += ciphertext.Length;
        }

        Assert.Equal(frame.Length, offset);
        return frame;
    }

    private static void AssertDelivered(AddressId address, DeliveredMessage[] messages)
    {
        Assert.Equal(Aid, address);
        Assert.Equal(Delivered.Length, messages.Length);
        for (int i = 0; i < Delivered.Length; i++)
        {
            Assert.Equal(Delivered[i].Id, messages[i].Id);
            Assert.Equal(Delivered[i].ReceivedAt, messages[i].ReceivedAtUnixMs);
            Assert.Equal(Delivered[i].Ciphertext, messages[i].Ciphertext.ToArray());
        }
    }

    [Theory]
    [InlineData(FrameType.Subscribe, false)]
    [InlineData(FrameType.Subscribe, true)]
    [InlineData(FrameType.Credit, false)]
    [InlineData(FrameType.Credit, true)]
    public void Subscribe_and_credit_roundtrip(FrameType type, bool bytewise)
    {
        // The top bit set: credit is unsigned on the wire and must not come back negative or clipped.
        var (header, body) = Roundtrip(w => FrameWriter.WriteCredit(w, type, 31, Aid, 0x8000_0001), bytewise);
        Assert.Equal(type, header.Type);
        Assert.Equal(31u, header.RequestId);
        Assert.Equal(CreditRequest.Length, header.BodyLength);
        Assert.True(BodyReader.TryReadCredit(body, out var request));
        Assert.Equal(Aid, request.Address);
        Assert.Equal(0x8000_0001u, request.Credit);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unsubscribe_roundtrips(bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteUnsubscribe(w, 32, Aid), bytewise);
        Assert.Equal(FrameType.Unsubscribe, header.Type);
        Assert.Equal(32u, header.RequestId);
        Assert.Equal(ProtocolConstants.AddressIdLength, header.BodyLength);
        Assert.True(BodyReader.TryReadAddressOnly(body, out var address));
        Assert.Equal(Aid, address);
    }

    [Theory]
    [InlineData(0, 0u, false)]
    [InlineData(1, 3_600_000u, true)]
    [InlineData(2, 0u, true)]
    [InlineData(200, uint.MaxValue, false)] // the reader only parses; judging kind and window is the server's job
    public void Set_policy_roundtrips(byte kind, uint window, bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteSetPolicy(w, 33, Aid, new DeliveryPolicy((DeliveryPolicyKind)kind, window)), bytewise);
        Assert.Equal(FrameType.SetPolicy, header.Type);
        Assert.Equal(33u, header.RequestId);
        Assert.Equal(SetPolicyRequest.Length, header.BodyLength);
        Assert.True(BodyReader.TryReadSetPolicy(body, out var request));
        Assert.Equal(new SetPolicyRequest(Aid, new DeliveryPolicy((DeliveryPolicyKind)kind, window)), request);
    }

    [Theory]
    [InlineData("https://push.example/wake/0123456789abcdef", false)]
    [InlineData("https://push.example/wake/0123456789abcdef", true)]
    [InlineData("https://pöst.example/réveil/✉", true)] // multi-byte UTF-8 split across segments
    [InlineData("", false)]
    public void Set_notify_roundtrips(string endpoint, bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteSetNotify(w, 34, Aid, endpoint), bytewise);
        Assert.Equal(FrameType.SetNotify, header.Type);
        Assert.Equal(34u, header.RequestId);
        Assert.Equal(ProtocolConstants.AddressIdLength + 2 + Encoding.UTF8.GetByteCount(endpoint), header.BodyLength);
        Assert.True(BodyReader.TryReadSetNotify(body, out var request));
        Assert.Equal(Aid, request.Address);
        Assert.Equal(endpoint, request.Endpoint);
    }

    [Fact]
    public void Set_notify_with_no_endpoint_writes_the_clearing_form()
    {
        var (_, body) = Roundtrip(w => FrameWriter.WriteSetNotify(w, 34, Aid, null), false);
        Assert.Equal(ProtocolConstants.AddressIdLength + 2, body.Length);
        Assert.True(BodyReader.TryReadSetNotify(body, out var request));
        Assert.Equal("", request.Endpoint);
    }

    [Fact]
    public void Set_notify_endpoint_of_exactly_the_maximum_is_accepted()
    {
        var endpoint = "https://push.example/" + new string('a', SetNotifyRequest.MaxEndpointBytes - "https://push.example/".Length);
        var (_, body) = Roundtrip(w => FrameWriter.WriteSetNotify(w, 34, Aid, endpoint), true);
        Assert.True(BodyReader.TryReadSetNotify(body, out var request));
        Assert.Equal(endpoint, request.Endpoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Renew_address_roundtrips(bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteRenewAddress(w, 35, Aid, 0x8000_0000), bytewise);
        Assert.Equal(FrameType.RenewAddress, header.Type);
        Assert.Equal(35u, header.RequestId);
        Assert.Equal(RenewAddressRequest.Length, header.BodyLength);
        Assert.True(BodyReader.TryReadRenewAddress(body, out var request));
        Assert.Equal(new RenewAddressRequest(Aid, 0x8000_0000), request);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Deliver_roundtrips_several_messages(bool bytewise)
    {
        var frame = DeliverFrame(Delivered);
        var (header, body) = Roundtrip(frame, bytewise);

        // Unasked: request id 0, so a client can never mistake it for the reply to one of its requests.
        Assert.Equal(FrameType.Deliver, header.Type);
        Assert.Equal(0u, header.RequestId);
        Assert.Equal(ProtocolConstants.AddressIdLength + 2 + (Delivered.Length * DeliveredMessage.HeaderLength) + 304, header.BodyLength);
        Assert.True(BodyReader.TryReadDeliver(body, out var address, out var messages));
        AssertDelivered(address, messages);

        // The ciphertexts are copies: the receive buffer is reused once the pipe advances.
        Array.Clear(frame);
        AssertDelivered(address, messages);
    }

    [Fact]
    public void Deliver_of_only_an_empty_ciphertext_parses()
    {
        var frame = DeliverFrame([(5, 6, [])]);
        var (_, body) = Roundtrip(frame, false);
        Assert.True(BodyReader.TryReadDeliver(body, out _, out var messages));
        var message = Assert.Single(messages);
        Assert.Equal(5, message.Id);
        Assert.True(message.Ciphertext.IsEmpty);
    }

    [Fact]
    public void Deliver_body_split_at_every_offset_parses_the_same()
    {
        var body = DeliverFrame(Delivered)[ProtocolConstants.HeaderLength..];
        for (int cut = 1; cut < body.Length; cut++)
        {
            Assert.True(BodyReader.TryReadDeliver(Segments.Split(body, cut), out var address, out var messages), $"split at {cut}");
            AssertDelivered(address, messages);
        }
    }

    [Theory]
    [MemberData(nameof(ReaderNames))]
    public void A_body_one_byte_short_or_any_shorter_is_refused(string frame)
    {
        var (makeBody, read) = Readers[frame];
        var body = makeBody();
        Assert.True(read(new ReadOnlySequence<byte>(body)));

        Assert.False(read(new ReadOnlySequence<byte>(body[..^1])), "one byte short");
        for (int length = 0; length < body.Length - 1; length++)
        {
            Assert.False(read(new ReadOnlySequence<byte>(body[..length])), $"{length} of {body.Length} bytes");
        }
    }

    [Theory]
    [MemberData(nameof(ReaderNames))]
    public void A_body_one_byte_long_is_refused(string frame)
    {
        var (makeBody, read) = Readers[frame];
        var body = makeBody();
        Assert.False(read(new ReadOnlySequence<byte>([.. body, 0])));
        Assert.False(read(Segments.Bytewise([.. body, 0])));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })] // never valid in UTF-8
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong encoding of '/'
    [InlineData(new byte[] { 0xE2, 0x82 })] // a three-byte sequence cut short
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded UTF-16 surrogate
    [InlineData(new byte[] { (byte)'h', (byte)'t', 0x80, (byte)'p' })] // a stray continuation byte
    public void Set_notify_with_invalid_utf8_is_refused(byte[] endpoint)
    {
        // Decoding leniently would store U+FFFD in place of the bytes sent: a different URL than the owner asked for.
        var body = new byte[ProtocolConstants.AddressIdLength + 2 + endpoint.Length];
        Aid.Write(body);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(ProtocolConstants.AddressIdLength), (ushort)endpoint.Length);
        endpoint.CopyTo(body, ProtocolConstants.AddressIdLength + 2);

        Assert.False(BodyReader.TryReadSetNotify(new ReadOnlySequence<byte>(body), out _));
        Assert.False(BodyReader.TryReadSetNotify(Segments.Bytewise(body), out _));
    }

    [Theory]
    [InlineData(10, 9)]
    [InlineData(10, 11)]
    [InlineData(0, 1)]
    [InlineData(65535, 10)]
    public void Set_notify_whose_declared_length_does_not_match_is_refused(int declared, int carried)
    {
        var body = new byte[ProtocolConstants.AddressIdLength + 2 + carried];
        Aid.Write(body);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(ProtocolConstants.AddressIdLength), (ushort)declared);
        body.AsSpan(ProtocolConstants.AddressIdLength + 2).Fill((byte)'a');

        Assert.False(BodyReader.TryReadSetNotify(new ReadOnlySequence<byte>(body), out _));
    }

    [Theory]
    [InlineData(SetNotifyRequest.MaxEndpointBytes + 1)]
    [InlineData(ushort.MaxValue)]
    public void Set_notify_longer_than_2048_bytes_is_refused(int length)
    {
        // Consistent length and valid ASCII: only the size is wrong.
        var body = new byte[ProtocolConstants.AddressIdLength + 2 + length];
        Aid.Write(body);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(ProtocolConstants.AddressIdLength), (ushort)length);
        body.AsSpan(ProtocolConstants.AddressIdLength + 2).Fill((byte)'a');

        Assert.Equal(2048, SetNotifyRequest.MaxEndpointBytes);
        Assert.False(BodyReader.TryReadSetNotify(new ReadOnlySequence<byte>(body), out _));
    }

    [Fact]
    public void Set_notify_writer_refuses_an_endpoint_over_the_maximum()
    {
        var writer = new ArrayBufferWriter<byte>();
        var endpoint = new string('a', SetNotifyRequest.MaxEndpointBytes - 1) + "é"; // 2049 bytes, 2048 characters
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.WriteSetNotify(writer, 1, Aid, endpoint));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void Deliver_with_a_truncated_message_is_refused()
    {
        var body = DeliverFrame(Delivered)[ProtocolConstants.HeaderLength..];

        // The count promises one message more than the body carries.
        var extraCount = body.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(extraCount.AsSpan(ProtocolConstants.AddressIdLength), (ushort)(Delivered.Length + 1));
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(extraCount), out _, out _));

        // The last message's ciphertext is one byte short of its length prefix.
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(body[..^1]), out _, out _));

        // Only part of the last message's 20-byte header arrived.
        var lastHeader = body.Length - DeliveredMessage.HeaderLength - Delivered[^1].Ciphertext.Length;
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(body[..(lastHeader + 10)]), out _, out _));

        // A length prefix that is negative as a signed 32-bit integer must not be read as a huge or negative slice.
        var negative = DeliverFrame([(1, 2, [9])])[ProtocolConstants.HeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(negative.AsSpan(ProtocolConstants.AddressIdLength + 2 + 16), 0x8000_0000);
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(negative), out _, out _));
    }

    [Fact]
    public void Deliver_with_trailing_bytes_is_refused()
    {
        var body = DeliverFrame(Delivered)[ProtocolConstants.HeaderLength..];
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>([.. body, 0, 0, 0, 0]), out _, out _));

        // A count smaller than the messages carried leaves the rest as trailing bytes.
        var fewerCount = body.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(fewerCount.AsSpan(ProtocolConstants.AddressIdLength), (ushort)(Delivered.Length - 1));
        Assert.False(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(fewerCount), out _, out _));
    }

    [Theory]
    [InlineData(FrameType.Unsubscribe)]
    [InlineData(FrameType.Ping)]
    [InlineData(FrameType.Ack)]
    [InlineData(FrameType.RenewAddress)]
    [InlineData(FrameType.Deliver)]
    [InlineData(FrameType.Ok)]
    public void Write_credit_refuses_a_type_other_than_subscribe_or_credit(FrameType type)
    {
        // Same body, different meaning: a typo here would send a valid-looking frame of the wrong command.
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.WriteCredit(writer, type, 1, Aid, 16));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Theory]
    [InlineData(ErrorCode.QuotaAddress, 25, "QUOTA_ADDRESS")]
    [InlineData(ErrorCode.NotSubscribed, 41, "NOT_SUBSCRIBED")]
    [InlineData(ErrorCode.QuotaServer, 52, "QUOTA_SERVER")]
    public void New_error_codes_are_named_numbered_and_keep_the_connection(ErrorCode code, int number, string name)
    {
        // A client retries after a quota refusal and resubscribes after NOT_SUBSCRIBED, on the same connection.
        Assert.Equal(number, (int)code);
        Assert.Equal(name, ErrorCodes.Name(code));
        Assert.False(ErrorCodes.ClosesConnection(code));
    }

    [Theory]
    [InlineData(FrameType.Subscribe, 0x09)]
    [InlineData(FrameType.Credit, 0x0A)]
    [InlineData(FrameType.Unsubscribe, 0x0B)]
    [InlineData(FrameType.SetPolicy, 0x0C)]
    [InlineData(FrameType.SetNotify, 0x0D)]
    [InlineData(FrameType.RenewAddress, 0x0E)]
    [InlineData(FrameType.Deliver, 0x89)]
    public void New_frame_types_have_their_documented_numbers(FrameType type, int number)
    {
        // The numbers are the wire contract (docs/PROTOCOL.md section 4): this fails if one is renumbered.
        Assert.Equal(number, (int)type);
        var frame = Frame(w => FrameWriter.WriteEmpty(w, type, 1));
        Assert.Equal(number, frame[4]);
    }

    [Fact]
    public void Requests_are_below_0x80_and_deliver_is_a_server_frame()
    {
        FrameType[] requests = [FrameType.Subscribe, FrameType.Credit, FrameType.Unsubscribe, FrameType.SetPolicy, FrameType.SetNotify, FrameType.RenewAddress];
        Assert.All(requests, t => Assert.True((byte)t < 0x80, $"{t} is a request"));
        Assert.True((byte)FrameType.Deliver >= 0x80);
    }
}
