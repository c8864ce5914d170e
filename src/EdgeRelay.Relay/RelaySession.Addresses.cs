using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

public sealed partial class RelaySession
{
    private ValueTask HandleCreateAddress(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadCreateAddress(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "CREATE_ADDRESS body must be 36 bytes");
        }

        var options = _relay.Options.Relay;
        var lifetime = request.LifetimeSeconds == 0 ? options.DefaultAddressLifetime : TimeSpan.FromSeconds(request.LifetimeSeconds);
        if (lifetime > options.MaxAddressLifetime)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "lifetime exceeds the server's maximum");
        }

        if (!Signatures.IsValidPublicKey(request.OwnerPublicKey.Span))
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "owner key is not an Ed25519 public key");
        }

        var expiresAt = _relay.Time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        var aid = AddressId.NewRandom();
        var record = _relay.Store.CreateAddress(aid, request.OwnerPublicKey.Span, expiresAt);
        var card = new AddressCard(aid, expiresAt, _relay.ServiceKey.PublicKey.Span, _relay.CardEndpoint, _relay.CardExtensions);
        var frame = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteAddressCreated(frame, requestId, expiresAt, card.ToArray());
        RelayLog.AddressCreated(Logger, _connection.ConnectionId, expiresAt);
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray(), record));
    }

    private ValueTask HandleRevokeAddress(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadRevokeAddress(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "REVOKE_ADDRESS body must be 80 bytes");
        }

        if (!_relay.Store.TryGetAddress(request.Address, out var info))
        {
            return Fail(requestId, ErrorCode.AddressUnknown, "no such address");
        }

        if (!Signatures.VerifyRevoke(info.OwnerPublicKey.Span, request.Address, request.Signature.Span))
        {
            return Fail(requestId, ErrorCode.BadSignature, "signature does not verify with the owner key");
        }

        // Revoking twice is not an error: the owner's intent holds either way.
        return _relay.Store.Revoke(request.Address, out var record) switch
        {
            RevokeStatus.Revoked => ReplyAsync(OutboxItem.Ok(requestId, record)),
            RevokeStatus.AlreadyRevoked => ReplyAsync(OutboxItem.Ok(requestId)),
            _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
        };
    }
}
