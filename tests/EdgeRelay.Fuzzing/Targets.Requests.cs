using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Fuzzing;

// The frame reader and the request body decoders (docs/PROTOCOL.md §4): what a client sends, the relay parses.
public static partial class Targets
{
    private const int MaxBody = 1 << 16;

    private static IEnumerable<FuzzTarget> Frames()
    {
        // A stream of frames: read until the reader stops, one segment and many alike; each frame written back
        // (header then body) is exactly the bytes it was read from.
        yield return new FuzzTarget("frame", data =>
        {
            var whole = ReadFrames(new ReadOnlySequence<byte>(data), data);
            var split = ReadFrames(Sequences.Split(data), data);
            OracleException.Check(whole == split, $"frame: one segment reads {whole}, several read {split}");
            return whole.EndsWith(nameof(FrameParseStatus.Incomplete), StringComparison.Ordinal);
        }, () =>
        [
            Frame(w => FrameWriter.WriteHello(w, 1)),
            Frame(w => { FrameWriter.WritePull(w, 2, Aid, 10); FrameWriter.WriteOk(w, 3); }),
            Frame(w => FrameWriter.WriteSend(w, 4, Bytes(ProtocolConstants.EphemeralAddressLength, 1), Bytes(40, 9))),
        ]);
    }

    private static string ReadFrames(ReadOnlySequence<byte> buffer, byte[] data)
    {
        var trace = new System.Text.StringBuilder();
        long at = 0;
        while (true)
        {
            var before = buffer.Length;
            var status = FrameReader.TryRead(ref buffer, MaxBody, out var header, out var body);
            trace.Append(status).Append(' ');
            if (status != FrameParseStatus.Complete)
            {
                OracleException.Check(buffer.Length == before, "frame: a frame not read consumed input");
                OracleException.Check(status != FrameParseStatus.TooLarge || header.BodyLength > MaxBody, "frame: TooLarge under the limit");
                return trace.ToString().TrimEnd();
            }

            var frameLength = ProtocolConstants.HeaderLength + body.Length;
            OracleException.Check(body.Length == header.BodyLength && before - buffer.Length == frameLength && header.Flags == 0,
                "frame: the body or the bytes consumed disagree with the header");
            var written = new byte[frameLength];
            header.Write(written);
            body.CopyTo(written.AsSpan(ProtocolConstants.HeaderLength));
            OracleException.Check(written.AsSpan().SequenceEqual(data.AsSpan((int)at, (int)frameLength)), "frame: the frame written back differs");
            trace.Append(header.Type).Append(':').Append(header.BodyLength).Append(' ');
            at += frameLength;
        }
    }

    private static byte[] Frame(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }

    private static IEnumerable<FuzzTarget> Requests()
    {
        yield return Body("hello", b => Outcome.Of(BodyReader.TryReadHello(b, out var h), () => BodyOf(w => FrameWriter.WriteHello(w, 1, h.MinVersion, h.MaxVersion))),
            w => FrameWriter.WriteHello(w, 1));
        yield return Body("create-address", b => Outcome.Of(BodyReader.TryReadCreateAddress(b, out var r),
                () => BodyOf(w => FrameWriter.WriteCreateAddress(w, 1, r.OwnerPublicKey.Span, r.LifetimeSeconds))),
            w => FrameWriter.WriteCreateAddress(w, 1, Bytes(ProtocolConstants.PublicKeyLength, 7), 3600));
        yield return Body("revoke-address", b => Outcome.Of(BodyReader.TryReadRevokeAddress(b, out var r),
                () => BodyOf(w => FrameWriter.WriteRevokeAddress(w, 1, r.Address, r.Signature.Span))),
            w => FrameWriter.WriteRevokeAddress(w, 1, Aid, Bytes(ProtocolConstants.SignatureLength, 3)));
        yield return Body("send", b =>
            {
                var ephemeral = new byte[ProtocolConstants.EphemeralAddressLength];
                return Outcome.Of(BodyReader.TryReadSend(b, ephemeral, out var ciphertext),
                    () => BodyOf(w => FrameWriter.WriteSend(w, 1, ephemeral, ciphertext.ToArray())));
            },
            w => FrameWriter.WriteSend(w, 1, Bytes(ProtocolConstants.EphemeralAddressLength, 1), Bytes(32, 100)));
        yield return Body("auth", b => Outcome.Of(BodyReader.ReadAuth(b, out var claims), () => BodyOf(w => FrameWriter.WriteAuth(w, 1, claims))),
            w => FrameWriter.WriteAuth(w, 1, [new AuthClaim(Aid, Bytes(ProtocolConstants.SignatureLength, 5))]),
            w => FrameWriter.WriteAuth(w, 1, [new AuthClaim(Aid, Bytes(64, 5)), new AuthClaim(new AddressId(1, 2), Bytes(64, 6))]));
        yield return Body("auth-token", b =>
            {
                var token = new byte[AuthTokenRequest.MaxTokenBytes];
                var status = BodyReader.ReadAuthToken(b, token, out var length);
                return Outcome.Of(status, () => BodyOf(w => FrameWriter.WriteAuthToken(w, 1, token.AsSpan(0, length))));
            },
            w => FrameWriter.WriteAuthToken(w, 1, "relay-token-1"u8));
        yield return Body("pull", b => Outcome.Of(BodyReader.ReadPull(b, out var r), () => BodyOf(w => FrameWriter.WritePull(w, 1, r.Address, r.MaxCount))),
            w => FrameWriter.WritePull(w, 1, Aid, 100));
        yield return Body("ack", b =>
            {
                // Both forms: the allocating one and the span one the relay's ACK path uses must agree.
                var status = BodyReader.ReadAck(b, out var address, out long[] ids);
                var span = new long[ProtocolLimits.MaxAckIds];
                var spanStatus = BodyReader.ReadAck(b, out var spanAddress, span, out var count);
                OracleException.Check(status == spanStatus && address == spanAddress && span.AsSpan(0, count).SequenceEqual(ids), "ack: the two forms disagree");
                return Outcome.Of(status, () => BodyOf(w => FrameWriter.WriteAck(w, 1, address, ids)));
            },
            w => FrameWriter.WriteAck(w, 1, Aid, [1, 2, long.MaxValue]));
        yield return Body("credit", b => Outcome.Of(BodyReader.TryReadCredit(b, out var r), () => BodyOf(w => FrameWriter.WriteCredit(w, FrameType.Credit, 1, r.Address, r.Credit))),
            w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 1, Aid, 16));
        yield return Body("address-only", b => Outcome.Of(BodyReader.TryReadAddressOnly(b, out var a), () => BodyOf(w => FrameWriter.WriteUnsubscribe(w, 1, a))),
            w => FrameWriter.WriteUnsubscribe(w, 1, Aid));
        yield return Body("set-policy", b => Outcome.Of(BodyReader.TryReadSetPolicy(b, out var r), () => BodyOf(w => FrameWriter.WriteSetPolicy(w, 1, r.Address, r.Policy))),
            w => FrameWriter.WriteSetPolicy(w, 1, Aid, DeliveryPolicy.PullOnly),
            w => FrameWriter.WriteSetPolicy(w, 1, Aid, new DeliveryPolicy(DeliveryPolicyKind.Batched, 250)));
        yield return Body("set-notify", b =>
            {
                var status = BodyReader.ReadSetNotify(b, out var r);
                OracleException.Check(BodyReader.TryReadSetNotify(b, out _) == (status == BodyStatus.Ok), "set-notify: Try and Read disagree");
                return Outcome.Of(status, () => BodyOf(w => FrameWriter.WriteSetNotify(w, 1, r.Address, r.Endpoint)));
            },
            w => FrameWriter.WriteSetNotify(w, 1, Aid, "https://push.example/v1/abc"),
            w => FrameWriter.WriteSetNotify(w, 1, Aid, null));
        yield return Body("renew-address", b => Outcome.Of(BodyReader.TryReadRenewAddress(b, out var r), () => BodyOf(w => FrameWriter.WriteRenewAddress(w, 1, r.Address, r.LifetimeSeconds))),
            w => FrameWriter.WriteRenewAddress(w, 1, Aid, 86400));
    }
}
