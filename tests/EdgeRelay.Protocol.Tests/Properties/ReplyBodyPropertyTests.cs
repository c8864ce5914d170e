using System.Buffers;
using System.Text;
using System.Text.Unicode;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>The server's replies and pushes that clients read (docs/PROTOCOL.md 4.1, 4.2, 4.6, 4.8, 4.16, 5).</summary>
[Properties(MaxTest = 300)]
public class ReplyBodyPropertyTests
{
    private static readonly Codec<Info> ServerInfoCodec = new(
        FrameType.HelloReply,
        from version in Gens.UInt16
        from limits in Gen.ArrayOf(Gens.Int32, 4)
        from maxPull in Gens.UInt16
        from lifetimes in Gen.ArrayOf(Gens.UInt32, 2)
        from key in Gens.BytesOf(ProtocolConstants.PublicKeyLength)
        from nonce in Gens.BytesOf(ProtocolConstants.NonceLength)
        from endpoint in Gens.Utf8(0, byte.MaxValue)
        from pin in Gen.OneOf(Gen.Constant(Array.Empty<byte>()), Gens.BytesOf(ProtocolConstants.TlsPinLength))
        select new Info(version, limits, maxPull, lifetimes, key, nonce, endpoint, pin),
        (output, value) => FrameWriter.WriteServerInfo(output, 1, value.ToServerInfo()),
        body => BodyReader.TryReadServerInfo(body, out var info) ? Info.From(info) : null,
        HelloReplyTheWriterNeverWrites);

    private static readonly Codec<AddressCreated> AddressCreatedCodec = new(
        FrameType.AddressCreated,
        from expires in Gens.Int64
        from card in Gens.BytesOf(0, 300)
        select new AddressCreated(expires, card),
        (output, value) => FrameWriter.WriteAddressCreated(output, 7, value.ExpiresAtUnixSeconds, value.Card.Value),
        body => BodyReader.TryReadAddressCreated(body, out var reply) ? new AddressCreated(reply.ExpiresAtUnixSeconds, reply.Card.ToArray()) : null);

    private static readonly Gen<Message[]> MessageLists = Gens.ArrayOf(
        from id in Gens.Int64
        from receivedAt in Gens.Int64
        from ciphertext in Gens.BytesOf(0, 40)
        select new Message(id, receivedAt, ciphertext),
        0,
        20);

    private static readonly Codec<Messages> MessagesCodec = new(
        FrameType.Messages,
        from more in Gen.Elements(false, true)
        from messages in MessageLists
        select new Messages(more, messages),
        (output, value) =>
        {
            var messages = value.List.Value;
            var length = FrameWriter.MessagesBodyLength([.. messages.Select(m => m.Ciphertext.Value.Length)]);
            FrameWriter.WriteMessagesHeader(output, 7, length, messages.Length, value.More);
            foreach (var message in messages)
            {
                FrameWriter.WriteDeliveredMessage(output, message.Id, message.ReceivedAtUnixMs, message.Ciphertext.Value);
            }
        },
        body => BodyReader.TryReadMessages(body, out var messages, out var more) ? new Messages(more, Message.From(messages)) : null,

        // Only bit 0 of the flags is assigned (4.6) and the reader ignores the others, so they do not survive a re-encoding.
        body => body.Length > 0 && (body[0] & ~1) != 0);

    private static readonly Codec<Deliver> DeliverCodec = new(
        FrameType.Deliver,
        from aid in Gens.Aid
        from messages in MessageLists
        select new Deliver(aid, messages),
        value =>
        {
            var messages = value.List.Value;
            var bodyLength = FrameWriter.DeliverBodyLength(messages.Length, messages.Sum(m => m.Ciphertext.Value.Length));
            var frame = new byte[ProtocolConstants.HeaderLength + bodyLength];
            var at = FrameWriter.WriteDeliverHeader(frame, bodyLength, value.Aid, messages.Length);
            foreach (var message in messages)
            {
                FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(at), message.Id, message.ReceivedAtUnixMs, message.Ciphertext.Value.Length);
                message.Ciphertext.Value.CopyTo(frame, at + DeliveredMessage.HeaderLength);
                at += DeliveredMessage.HeaderLength + message.Ciphertext.Value.Length;
            }

            return frame;
        },
        body => BodyReader.TryReadDeliver(body, out var aid, out var messages) ? new Deliver(aid, Message.From(messages)) : null);

    private static readonly Codec<Error> ErrorCodec = new(
        FrameType.Error,
        from code in Gens.UInt16
        from reason in Gens.Utf8(0, ErrorReply.MaxReasonBytes)
        select new Error(code, reason),
        (output, value) => FrameWriter.WriteError(output, 7, (ErrorCode)value.Code, value.Reason),
        body => BodyReader.TryReadError(body, out var error) ? new Error((ushort)error.Code, error.Reason) : null);

    private static readonly Codec<Status> StatusCodec = new(
        FrameType.StatusReply,
        from head in Gen.ArrayOf(Gens.Byte, 2)
        from reason in Gens.Utf8(0, byte.MaxValue)
        from sizes in Gen.ArrayOf(Gens.UInt32, 3)
        from counters in Gen.ArrayOf(Gens.UInt64, 5)
        from options in Gens.ArrayOf(
            from mode in Gens.Byte
            from delay in Gens.UInt32
            select new SendingOption((SendingMode)mode, delay),
            0,
            byte.MaxValue)
        select new Status(head, reason, sizes, counters, options),
        (output, value) => value.ToRelayStatus().Write(output, FrameType.StatusReply, 7),
        body => RelayStatus.TryRead(body, out var status) ? Status.From(status) : null);

    [Property]
    public Property Hello_reply_bodies_read_back_as_written() => ServerInfoCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_hello_reply_reader_accepts_are_what_the_writer_writes() => ServerInfoCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Address_created_bodies_read_back_as_written() => AddressCreatedCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_address_created_reader_accepts_are_what_the_writer_writes() => AddressCreatedCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Messages_bodies_read_back_as_written() => MessagesCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_messages_reader_accepts_are_what_the_writer_writes() => MessagesCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Deliver_bodies_read_back_as_written() => DeliverCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_deliver_reader_accepts_are_what_the_writer_writes() => DeliverCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Error_bodies_with_reasons_of_up_to_255_bytes_read_back_as_written() => ErrorCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_error_reader_accepts_are_what_the_writer_writes() => ErrorCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property A_longer_error_reason_is_cut_to_255_bytes_on_a_character_boundary_and_padded() =>
        Prop.ForAll(Gens.Utf8(ErrorReply.MaxReasonBytes + 1, 600).ToArbitrary(), reason =>
        {
            var kept = new StringBuilder();
            var bytes = 0;
            foreach (var rune in reason.EnumerateRunes())
            {
                if (bytes + rune.Utf8SequenceLength > ErrorReply.MaxReasonBytes)
                {
                    break;
                }

                kept.Append(rune.ToString());
                bytes += rune.Utf8SequenceLength;
            }

            var body = ErrorCodec.Body(new Error(1, reason));
            Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(body), out var error));
            Assert.Equal(kept.Append(' ', ErrorReply.MaxReasonBytes - bytes).ToString(), error.Reason);
        });

    [Fact]
    public void A_hello_reply_whose_endpoint_is_not_utf8_is_refused()
    {
        var body = ServerInfoCodec.Body(new Info(1, new[] { 1, 2, 3, 4 }, 5, new[] { 6u, 7u }, new byte[32], new byte[32], "relay.example:7400", Array.Empty<byte>()));
        body[93] = 0xFF; // the first byte of the endpoint

        Assert.False(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(body), out _));
    }

    [Fact]
    public void An_error_whose_reason_is_not_utf8_is_refused()
    {
        // Code 1, a 2-byte reason: a lone continuation byte, then 'a'.
        Assert.False(BodyReader.TryReadError(new ReadOnlySequence<byte>([0x00, 0x01, 0x02, 0x80, 0x61]), out _));
    }

    [Property]
    public Property Status_bodies_with_any_numbers_read_back_as_written() => StatusCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_status_reader_accepts_are_what_the_writer_writes() => StatusCodec.AcceptsOnlyWhatTheWriterWrites();

    /// <summary>
    /// Extensions of unknown type, which clients skip (4.1), or a second TLS pin.
    /// </summary>
    private static bool HelloReplyTheWriterNeverWrites(byte[] body)
    {
        const int EndpointAt = 93;
        if (body.Length < EndpointAt || body.Length < EndpointAt + body[EndpointAt - 1])
        {
            return false;
        }

        var end = EndpointAt + body[EndpointAt - 1];
        var pins = 0;
        for (var at = end; at + 2 <= body.Length; at += 2 + body[at + 1])
        {
            if (body[at] != ProtocolConstants.TlsPinExtension || ++pins > 1)
            {
                return true;
            }
        }

        return false;
    }

    internal sealed record Info(ushort Version, Items<int> Limits, ushort MaxPullCount, Items<uint> Lifetimes, Bytes ServiceKey, Bytes Nonce, string Endpoint, Bytes TlsPin)
    {
        public static Info From(ServerInfo info) => new(
            info.Version,
            new[] { info.MaxCiphertext, info.MaxRequestBody, info.MaxReplyBody, info.MaxInFlight },
            (ushort)info.MaxPullCount,
            new[] { info.DefaultAddressLifetimeSeconds, info.MaxAddressLifetimeSeconds },
            info.ServicePublicKey.ToArray(),
            info.AuthNonce.ToArray(),
            info.Endpoint,
            info.TlsPin.ToArray());

        public ServerInfo ToServerInfo() => new()
        {
            Version = Version,
            MaxCiphertext = Limits.Value[0],
            MaxRequestBody = Limits.Value[1],
            MaxReplyBody = Limits.Value[2],
            MaxInFlight = Limits.Value[3],
            MaxPullCount = MaxPullCount,
            DefaultAddressLifetimeSeconds = Lifetimes.Value[0],
            MaxAddressLifetimeSeconds = Lifetimes.Value[1],
            ServicePublicKey = ServiceKey.Value,
            AuthNonce = Nonce.Value,
            Endpoint = Endpoint,
            TlsPin = TlsPin.Value,
        };
    }

    internal sealed record AddressCreated(long ExpiresAtUnixSeconds, Bytes Card);

    internal sealed record Message(long Id, long ReceivedAtUnixMs, Bytes Ciphertext)
    {
        public static Items<Message> From(DeliveredMessage[] messages) =>
            messages.Select(m => new Message(m.Id, m.ReceivedAtUnixMs, m.Ciphertext.ToArray())).ToArray();
    }

    internal sealed record Messages(bool More, Items<Message> List);

    internal sealed record Deliver(AddressId Aid, Items<Message> List);

    internal sealed record Error(ushort Code, string Reason);

    /// <summary>A <see cref="RelayStatus"/> with its fields in arrays, so that equal statuses compare equal.</summary>
    internal sealed record Status(Items<byte> Head, string Reason, Items<uint> Sizes, Items<ulong> Counters, Items<SendingOption> Options)
    {
        public static Status From(RelayStatus status) => new(
            new[] { (byte)status.Availability, (byte)status.Roles },
            status.Reason,
            new[] { status.ConfigVersion, status.MaxCiphertext, status.MaxSendViaCiphertext },
            new[] { status.MaxAttachment, status.OutboundMessages, status.OutboundBytes, status.DiskHeadroom, status.AttachmentHeadroom },
            status.SendingOptions.ToArray());

        public RelayStatus ToRelayStatus() => new()
        {
            Availability = (Availability)Head.Value[0],
            Roles = (ServiceRoles)Head.Value[1],
            Reason = Reason,
            ConfigVersion = Sizes.Value[0],
            MaxCiphertext = Sizes.Value[1],
            MaxSendViaCiphertext = Sizes.Value[2],
            MaxAttachment = Counters.Value[0],
            OutboundMessages = Counters.Value[1],
            OutboundBytes = Counters.Value[2],
            DiskHeadroom = Counters.Value[3],
            AttachmentHeadroom = Counters.Value[4],
            SendingOptions = Options.Value,
        };
    }
}
