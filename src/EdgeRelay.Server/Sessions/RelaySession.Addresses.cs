using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    private ValueTask HandleCreateAddress(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadCreateAddress(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "CREATE_ADDRESS body must be 36 bytes");
        }

        var options = _server.Options.Relay;
        var lifetime = request.LifetimeSeconds == 0 ? options.DefaultAddressLifetime : TimeSpan.FromSeconds(request.LifetimeSeconds);
        if (lifetime > options.MaxAddressLifetime)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "lifetime exceeds the server's maximum");
        }

        if (!Signatures.IsValidPublicKey(request.OwnerPublicKey.Span))
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "owner key is not an Ed25519 public key");
        }

        var expiresAt = _server.Time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        return CreateAddressAsync(requestId, request.OwnerPublicKey, expiresAt);
    }

    private async ValueTask CreateAddressAsync(uint requestId, ReadOnlyMemory<byte> ownerPublicKey, long expiresAt)
    {
        var aid = AddressId.NewRandom();
        var ticket = await _server.Storage.CreateAddressAsync(aid, ownerPublicKey, expiresAt, _aborted.Token);
        var card = new AddressCard(aid, expiresAt, _server.ServiceKey.PublicKey.Span, _server.CardEndpoint, _server.CardExtensions);
        var frame = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteAddressCreated(frame, requestId, expiresAt, card.ToArray());
        RelayLog.AddressCreated(Logger, _connection.ConnectionId, expiresAt);
        await ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray(), ticket));
    }

    private ValueTask HandleRevokeAddress(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadRevokeAddress(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "REVOKE_ADDRESS body must be 80 bytes");
        }

        if (!_server.Storage.TryGetAddress(request.Address, out var info))
        {
            return Fail(requestId, ErrorCode.AddressUnknown, "no such address");
        }

        if (!TryTakeSignatureChecks(1, out var byConnection))
        {
            return RefuseSignatureChecks(requestId, byConnection);
        }

        if (!Signatures.VerifyRevoke(info.OwnerPublicKey, request.Address, request.Signature.Span))
        {
            return Fail(requestId, ErrorCode.BadSignature, "signature does not verify with the owner key");
        }

        return RevokeAsync(requestId, request.Address);
    }

    private async ValueTask RevokeAsync(uint requestId, AddressId aid)
    {
        // Revoking twice is not an error: the owner's intent holds either way (and nothing is written).
        var (status, ticket) = await _server.Storage.RevokeAsync(aid, _aborted.Token);
        await (status switch
        {
            RevokeStatus.Revoked or RevokeStatus.AlreadyRevoked => ReplyAsync(OutboxItem.Ok(requestId, ticket)),
            _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
        });
    }
}
