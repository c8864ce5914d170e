using System.Buffers;
using System.Buffers.Binary;
using EdgeRelay.Protocol;

namespace EdgeRelay.Fuzzing;

// The sending service's bodies (docs/PROTOCOL.md §4.13, 4.14, 4.17) and the replies and pushes a client parses.
public static partial class Targets
{
    private static IEnumerable<FuzzTarget> Sending()
    {
        var ephemeral = Bytes(ProtocolConstants.EphemeralAddressLength, 1);
        yield return Body("send-via", b => Outcome.Of(BodyReader.ReadSendVia(b, out var r),
                () => BodyOf(w => FrameWriter.WriteSendVia(w, 1, r.Endpoint, r.Pin, r.EphemeralAddress, r.Ciphertext))),
            w => FrameWriter.WriteSendVia(w, 1, "relay.example:7443", [], ephemeral, Bytes(48, 3)),
            w => FrameWriter.WriteSendVia(w, 1, "[::1]:7443", Bytes(ProtocolConstants.TlsPinLength, 9), ephemeral, Bytes(16, 3)));
        yield return Body("send-via-mode", b => Outcome.Of(BodyReader.ReadSendViaMode(b, out var mode, out var r),
                () => BodyOf(w => FrameWriter.WriteSendViaMode(w, 1, mode, r.Endpoint, r.Pin, r.EphemeralAddress, r.Ciphertext))),
            w => FrameWriter.WriteSendViaMode(w, 1, SendingMode.Immediate, "relay.example:7443", [], ephemeral, Bytes(48, 3)));
        yield return Body("send-status", b => Outcome.Of(BodyReader.ReadSendStatus(b, out var ids), () => BodyOf(w => FrameWriter.WriteSendStatus(w, 1, ids))),
            w => FrameWriter.WriteSendStatus(w, 1, [7, 8, 9]));
        yield return Body("send-state", b => Outcome.Of(BodyReader.TryReadSendState(b, out var e), () => BodyOf(w => FrameWriter.WriteSendState(w, FrameType.SendState, 0, e))),
            w => FrameWriter.WriteSendState(w, FrameType.SendQueued, 1, new SendStateEntry(42, SendStateEntry.Queued, 0)));
        yield return Body("send-states", b => Outcome.Of(BodyReader.TryReadSendStates(b, out var e), () => BodyOf(w => FrameWriter.WriteSendStates(w, 1, e))),
            w => FrameWriter.WriteSendStates(w, 1, [new SendStateEntry(1, SendStateEntry.Delivered, 0), new SendStateEntry(2, SendStateEntry.Failed, 12)]));
    }

    private static IEnumerable<FuzzTarget> Replies()
    {
        yield return Body("deliver", b => Outcome.Of(BodyReader.TryReadDeliver(b, out var address, out var messages), () => BodyOf(w => w.Write(DeliverFrame(address, messages)))),
            w => w.Write(DeliverFrame(Aid, [new DeliveredMessage(1, 1_800_000_000_000, Bytes(20, 1)), new DeliveredMessage(2, 1_800_000_000_001, Bytes(3, 9))])));
        yield return Body("messages", b => Outcome.Of(BodyReader.TryReadMessages(b, out var messages, out var more), () => BodyOf(w => WriteMessages(w, messages, more))),
            w => WriteMessages(w, [new DeliveredMessage(5, 1_800_000_000_000, Bytes(10, 1))], more: true),
            w => WriteMessages(w, [], more: false));
        yield return Body("error", b => Outcome.Of(BodyReader.TryReadError(b, out var e), () => BodyOf(w => FrameWriter.WriteError(w, 1, e.Code, e.Reason))),
            w => FrameWriter.WriteError(w, 1, ErrorCode.MalformedFrame, "the body is shorter than its header"),
            w => FrameWriter.WriteError(w, 1, ErrorCode.InvalidArgument, ""));
        yield return Body("server-info", b => Outcome.Of(BodyReader.TryReadServerInfo(b, out var info), () => BodyOf(w => FrameWriter.WriteServerInfo(w, 1, info))),
            w => FrameWriter.WriteServerInfo(w, 1, ServerInfo(pin: [])),
            w => FrameWriter.WriteServerInfo(w, 1, ServerInfo(pin: Bytes(ProtocolConstants.TlsPinLength, 4))));
        yield return Body("address-created", b => Outcome.Of(BodyReader.TryReadAddressCreated(b, out var r), () => BodyOf(w => FrameWriter.WriteAddressCreated(w, 1, r.ExpiresAtUnixSeconds, r.Card.Span))),
            w => FrameWriter.WriteAddressCreated(w, 1, 1_900_000_000, Bytes(90, 1)));
        yield return Body("relay-status", b => Outcome.Of(RelayStatus.TryRead(b, out var s), () => BodyOf(w => s.Write(w, FrameType.StatusReply, 1))),
            w => new RelayStatus
            {
                Reason = "draining",
                MaxCiphertext = 16384,
                MaxAttachment = 1 << 20,
                DiskHeadroom = RelayStatus.Unlimited,
                SendingOptions = [new SendingOption(SendingMode.Immediate, 0)],
            }.Write(w, FrameType.StatusReply, 1));
    }

    private static ServerInfo ServerInfo(byte[] pin) => new()
    {
        MaxCiphertext = 16384,
        MaxRequestBody = 16500,
        MaxReplyBody = 1 << 20,
        MaxPullCount = 1024,
        MaxInFlight = 64,
        DefaultAddressLifetimeSeconds = 86400,
        MaxAddressLifetimeSeconds = 864000,
        ServicePublicKey = Bytes(ProtocolConstants.PublicKeyLength, 1),
        AuthNonce = Bytes(ProtocolConstants.NonceLength, 2),
        Endpoint = "relay.example:7443",
        TlsPin = pin,
    };

    // DELIVER is written in place by the relay (a header, then each message): the same calls, into one array.
    private static byte[] DeliverFrame(AddressId address, DeliveredMessage[] messages)
    {
        var bodyLength = FrameWriter.DeliverBodyLength(messages.Length, messages.Sum(m => (long)m.Ciphertext.Length));
        var frame = new byte[ProtocolConstants.HeaderLength + bodyLength];
        var at = FrameWriter.WriteDeliverHeader(frame, bodyLength, address, messages.Length);
        foreach (var m in messages)
        {
            FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(at), m.Id, m.ReceivedAtUnixMs, m.Ciphertext.Length);
            m.Ciphertext.Span.CopyTo(frame.AsSpan(at + DeliveredMessage.HeaderLength));
            at += DeliveredMessage.HeaderLength + m.Ciphertext.Length;
        }

        OracleException.Check(at == frame.Length && BinaryPrimitives.ReadUInt32BigEndian(frame) == bodyLength, "deliver: the written length disagrees");
        return frame;
    }

    private static void WriteMessages(IBufferWriter<byte> output, DeliveredMessage[] messages, bool more)
    {
        var lengths = messages.Select(m => m.Ciphertext.Length).ToArray();
        FrameWriter.WriteMessagesHeader(output, 1, FrameWriter.MessagesBodyLength(lengths), messages.Length, more);
        foreach (var m in messages)
        {
            FrameWriter.WriteDeliveredMessage(output, m.Id, m.ReceivedAtUnixMs, m.Ciphertext.Span);
        }
    }

    private static IEnumerable<FuzzTarget> Uploads()
    {
        var upload = new UploadId(0x1111, 0x2222);
        yield return Body("upload-begin", b => Outcome.Of(BodyReader.ReadUploadBegin(b, out var r), () => BodyOf(w => FrameWriter.WriteUploadBegin(w, 1, r.Size, r.Sha256.Span))),
            w => FrameWriter.WriteUploadBegin(w, 1, 1 << 20, Bytes(UploadBeginRequest.DigestLength, 1)));
        yield return Body("upload-chunk", b => Outcome.Of(BodyReader.ReadUploadChunk(b, out var id, out var offset, out var data),
                () => BodyOf(w => FrameWriter.WriteUploadChunk(w, 1, id, offset, data.ToArray()))),
            w => FrameWriter.WriteUploadChunk(w, 1, upload, 0, Bytes(64, 1)),
            w => FrameWriter.WriteUploadChunk(w, 1, upload, 65536, Bytes(1, 1)));
        yield return Body("upload-id", b => Outcome.Of(BodyReader.TryReadUploadId(b, out var id), () => BodyOf(w => FrameWriter.WriteUploadId(w, FrameType.UploadCommit, 1, id))),
            w => FrameWriter.WriteUploadId(w, FrameType.UploadResume, 1, upload));
        yield return Body("upload-started", b => Outcome.Of(BodyReader.TryReadUploadStarted(b, out var r), () => BodyOf(w => FrameWriter.WriteUploadStarted(w, 1, r))),
            w => FrameWriter.WriteUploadStarted(w, 1, new UploadStartedReply(upload, 65536, 1_900_000_000)));
        yield return Body("upload-progress", b => Outcome.Of(BodyReader.TryReadUploadProgress(b, out var r), () => BodyOf(w => FrameWriter.WriteUploadProgress(w, 1, r))),
            w => FrameWriter.WriteUploadProgress(w, 1, new UploadProgressReply(upload, 100, 1000, 1_900_000_000)));
        yield return Body("attachment-stored", b => Outcome.Of(BodyReader.TryReadAttachmentStored(b, out var r), () => BodyOf(w => FrameWriter.WriteAttachmentStored(w, 1, r))),
            w => FrameWriter.WriteAttachmentStored(w, 1, new AttachmentStoredReply(new AttachmentId(3, 4), 1000, 1_900_000_000, "https://files.example/a/AAAAAAAAAAAAAAAAAAAAAA")));
    }
}
