using System.Buffers;
using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>The request bodies of <see cref="FrameWriter"/> and <see cref="BodyReader"/> (docs/PROTOCOL.md 4.1 to 4.12).</summary>
[Properties(MaxTest = 300)]
public class RequestBodyPropertyTests
{
    private static readonly Codec<Hello> HelloCodec = new(
        FrameType.Hello,
        from magic in Gen.Frequency((3, Gen.Constant(ProtocolConstants.HelloMagic)), (1, Gens.UInt32))
        from min in Gens.UInt16
        from max in Gens.UInt16
        select new Hello(magic, min, max),
        value =>
        {
            var output = new ArrayBufferWriter<byte>();
            FrameWriter.WriteHello(output, 1, value.Min, value.Max);
            var frame = output.WrittenSpan.ToArray();

            // The writer only speaks ERLY; the reader hands any magic up so that the server can answer
            // UNSUPPORTED_VERSION (4.1), so another magic is what a stray client's writer would put there.
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(ProtocolConstants.HeaderLength), value.Magic);
            return frame;
        },
        body => BodyReader.TryReadHello(body, out var hello) ? new Hello(hello.Magic, hello.MinVersion, hello.MaxVersion) : null);

    private static readonly Codec<CreateAddress> CreateAddressCodec = new(
        FrameType.CreateAddress,
        from key in Gens.BytesOf(ProtocolConstants.PublicKeyLength)
        from lifetime in Gens.UInt32
        select new CreateAddress(key, lifetime),
        (output, value) => FrameWriter.WriteCreateAddress(output, 7, value.OwnerKey.Value, value.LifetimeSeconds),
        body => BodyReader.TryReadCreateAddress(body, out var request) ? new CreateAddress(request.OwnerPublicKey.ToArray(), request.LifetimeSeconds) : null);

    private static readonly Gen<Claim> Claims =
        from aid in Gens.Aid
        from signature in Gens.BytesOf(ProtocolConstants.SignatureLength)
        select new Claim(aid, signature);

    private static readonly Codec<Claim> RevokeCodec = new(
        FrameType.RevokeAddress,
        Claims,
        (output, value) => FrameWriter.WriteRevokeAddress(output, 7, value.Aid, value.Signature.Value),
        body => BodyReader.TryReadRevokeAddress(body, out var request) ? new Claim(request.Address, request.Signature.ToArray()) : null);

    private static readonly Codec<Send> SendCodec = new(
        FrameType.Send,
        from ephemeral in Gens.BytesOf(ProtocolConstants.EphemeralAddressLength)
        from ciphertext in Gens.BytesOf(0, 300)
        select new Send(ephemeral, ciphertext),
        (output, value) => FrameWriter.WriteSend(output, 7, value.EphemeralAddress.Value, value.Ciphertext.Value),
        body =>
        {
            var ephemeral = new byte[ProtocolConstants.EphemeralAddressLength];
            return BodyReader.TryReadSend(body, ephemeral, out var ciphertext) ? new Send(ephemeral, ciphertext.ToArray()) : null;
        });

    private static readonly Codec<Items<Claim>> AuthCodec = new(
        FrameType.Auth,
        Gens.ArrayOf(Claims, 1, ProtocolLimits.MaxAuthClaims).Select(claims => new Items<Claim>(claims)),
        (output, value) => FrameWriter.WriteAuth(output, 7, [.. value.Value.Select(c => new AuthClaim(c.Aid, c.Signature.Value))]),
        body => BodyReader.ReadAuth(body, out var claims) == BodyStatus.Ok ? new Items<Claim>([.. claims.Select(c => new Claim(c.Address, c.Signature.ToArray()))]) : null);

    private static readonly Codec<Bytes> AuthTokenCodec = new(
        FrameType.AuthToken,
        Gens.ArrayOf(Gen.Choose(0x21, 0x7E).Select(c => (byte)c), 1, AuthTokenRequest.MaxTokenBytes).Select(token => new Bytes(token)),
        (output, value) => FrameWriter.WriteAuthToken(output, 7, value.Value),
        body =>
        {
            var token = new byte[AuthTokenRequest.MaxTokenBytes];
            return BodyReader.ReadAuthToken(body, token, out var length) == BodyStatus.Ok ? new Bytes(token[..length]) : null;
        });

    private static readonly Codec<Pull> PullCodec = new(
        FrameType.Pull,
        from aid in Gens.Aid
        from count in Gens.Count(1, ProtocolLimits.MaxPullCount)
        select new Pull(aid, (ushort)count),
        (output, value) => FrameWriter.WritePull(output, 7, value.Aid, value.MaxCount),
        body => BodyReader.ReadPull(body, out var request) == BodyStatus.Ok ? new Pull(request.Address, request.MaxCount) : null);

    private static readonly Codec<Ack> AckCodec = new(
        FrameType.Ack,
        from aid in Gens.Aid
        from ids in Gens.ArrayOf(Gens.Int64, 1, ProtocolLimits.MaxAckIds)
        select new Ack(aid, ids),
        (output, value) => FrameWriter.WriteAck(output, 7, value.Aid, value.Ids.Value),
        body => BodyReader.ReadAck(body, out var aid, out long[] ids) == BodyStatus.Ok ? new Ack(aid, ids) : null);

    private static readonly Gen<AddressAnd> AddressAndNumber =
        from aid in Gens.Aid
        from number in Gens.UInt32
        select new AddressAnd(aid, number);

    private static readonly Codec<AddressAnd> SubscribeCodec = CreditCodec(FrameType.Subscribe);

    private static readonly Codec<AddressAnd> CreditFrameCodec = CreditCodec(FrameType.Credit);

    private static readonly Codec<AddressAnd> UnsubscribeCodec = new(
        FrameType.Unsubscribe,
        Gens.Aid.Select(aid => new AddressAnd(aid, 0)),
        (output, value) => FrameWriter.WriteUnsubscribe(output, 7, value.Aid),
        body => BodyReader.TryReadAddressOnly(body, out var aid) ? new AddressAnd(aid, 0) : null);

    private static readonly Codec<SetPolicy> SetPolicyCodec = new(
        FrameType.SetPolicy,
        from aid in Gens.Aid
        from kind in Gens.Byte
        from window in Gens.UInt32
        select new SetPolicy(aid, new DeliveryPolicy((DeliveryPolicyKind)kind, window)),
        (output, value) => FrameWriter.WriteSetPolicy(output, 7, value.Aid, value.Policy),
        body => BodyReader.TryReadSetPolicy(body, out var request) ? new SetPolicy(request.Address, request.Policy) : null);

    private static readonly Codec<SetNotify> SetNotifyCodec = new(
        FrameType.SetNotify,
        from aid in Gens.Aid
        from endpoint in Gens.Utf8(0, SetNotifyRequest.MaxEndpointBytes)
        select new SetNotify(aid, endpoint),
        (output, value) => FrameWriter.WriteSetNotify(output, 7, value.Aid, value.Endpoint),
        body => BodyReader.ReadSetNotify(body, out var request) == BodyStatus.Ok ? new SetNotify(request.Address, request.Endpoint) : null);

    private static readonly Codec<AddressAnd> RenewCodec = new(
        FrameType.RenewAddress,
        AddressAndNumber,
        (output, value) => FrameWriter.WriteRenewAddress(output, 7, value.Aid, value.Number),
        body => BodyReader.TryReadRenewAddress(body, out var request) ? new AddressAnd(request.Address, request.LifetimeSeconds) : null);

    [Property]
    public Property Hello_bodies_read_back_as_written() => HelloCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_hello_reader_accepts_are_what_the_writer_writes() => HelloCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Create_address_bodies_read_back_as_written() => CreateAddressCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_create_address_reader_accepts_are_what_the_writer_writes() => CreateAddressCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Revoke_address_bodies_read_back_as_written() => RevokeCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_revoke_address_reader_accepts_are_what_the_writer_writes() => RevokeCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Send_bodies_read_back_as_written() => SendCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_reader_accepts_are_what_the_writer_writes() => SendCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Auth_bodies_of_1_to_256_claims_read_back_as_written() => AuthCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_auth_reader_accepts_are_what_the_writer_writes() => AuthCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Auth_token_bodies_of_printable_ascii_read_back_as_written() => AuthTokenCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_auth_token_reader_accepts_are_what_the_writer_writes() => AuthTokenCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Pull_bodies_of_1_to_1024_read_back_as_written() => PullCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_pull_reader_accepts_are_what_the_writer_writes() => PullCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Ack_bodies_of_1_to_1024_ids_read_back_as_written() => AckCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_ack_reader_accepts_are_what_the_writer_writes() => AckCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Subscribe_bodies_read_back_as_written() => SubscribeCodec.ReadsBackAsWritten();

    [Property]
    public Property Credit_bodies_read_back_as_written() => CreditFrameCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_credit_reader_accepts_are_what_the_writer_writes() => CreditFrameCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Unsubscribe_bodies_read_back_as_written() => UnsubscribeCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_address_only_reader_accepts_are_what_the_writer_writes() => UnsubscribeCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Set_policy_bodies_of_any_kind_read_back_as_written() => SetPolicyCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_set_policy_reader_accepts_are_what_the_writer_writes() => SetPolicyCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Set_notify_bodies_of_up_to_2048_utf8_bytes_read_back_as_written() => SetNotifyCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_set_notify_reader_accepts_are_what_the_writer_writes() => SetNotifyCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Renew_address_bodies_read_back_as_written() => RenewCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_renew_address_reader_accepts_are_what_the_writer_writes() => RenewCodec.AcceptsOnlyWhatTheWriterWrites();

    private static Codec<AddressAnd> CreditCodec(FrameType type) => new(
        type,
        AddressAndNumber,
        (output, value) => FrameWriter.WriteCredit(output, type, 7, value.Aid, value.Number),
        body => BodyReader.TryReadCredit(body, out var request) ? new AddressAnd(request.Address, request.Credit) : null);

    internal sealed record Hello(uint Magic, ushort Min, ushort Max);

    internal sealed record CreateAddress(Bytes OwnerKey, uint LifetimeSeconds);

    internal sealed record Claim(AddressId Aid, Bytes Signature);

    internal sealed record Send(Bytes EphemeralAddress, Bytes Ciphertext);

    internal sealed record Pull(AddressId Aid, ushort MaxCount);

    internal sealed record Ack(AddressId Aid, Items<long> Ids);

    /// <summary>An address and the u32 that follows it (SUBSCRIBE's and CREDIT's credit, RENEW_ADDRESS's lifetime).</summary>
    internal sealed record AddressAnd(AddressId Aid, uint Number);

    internal sealed record SetPolicy(AddressId Aid, DeliveryPolicy Policy);

    internal sealed record SetNotify(AddressId Aid, string Endpoint);
}
