using System.Buffers;
using System.Runtime.InteropServices;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    /// <summary>Addresses this connection proved ownership of. Small; allocated at the first AUTH.</summary>
    private HashSet<AddressId>? _authenticated;

    private ValueTask HandleAuth(uint requestId, in ReadOnlySequence<byte> body)
    {
        var parsed = BodyReader.ReadAuth(body, out var claims);
        if (parsed != BodyStatus.Ok)
        {
            return FailBody(requestId, parsed, "AUTH body does not match its claim count", "AUTH claim count must be 1 to 256");
        }

        // Lookups first: they cost no cryptography, so a frame of unknown addresses is refused without touching
        // the signature budget. Then every claim is paid for at once, before the first verification.
        foreach (var claim in claims)
        {
            if (!_server.Storage.TryGetAddress(claim.Address, out _))
            {
                return Fail(requestId, ErrorCode.AddressUnknown, "no such address");
            }
        }

        if (!TryTakeSignatureChecks(claims.Length, out var byConnection))
        {
            return RefuseSignatureChecks(requestId, byConnection);
        }

        // All or nothing: a connection is never left authenticated for part of what it asked.
        foreach (var claim in claims)
        {
            if (!_server.Storage.TryGetAddress(claim.Address, out var info))
            {
                return Fail(requestId, ErrorCode.AddressUnknown, "no such address"); // found above: a registry that forgets is the only way here
            }

            if (!Signatures.VerifyAuth(info.OwnerPublicKey, _authNonce, claim.Address, claim.Signature.Span))
            {
                return Fail(requestId, ErrorCode.BadSignature, "signature does not verify with the owner key");
            }
        }

        _authenticated ??= [];
        foreach (var claim in claims)
        {
            _authenticated.Add(claim.Address);
        }

        return ReplyAsync(OutboxItem.Ok(requestId));
    }

    private bool IsAuthenticated(AddressId aid) => _authenticated is not null && _authenticated.Contains(aid);

    private ValueTask HandlePullAsync(uint requestId, in ReadOnlySequence<byte> body)
    {
        var parsed = BodyReader.ReadPull(body, out var request);
        if (parsed != BodyStatus.Ok)
        {
            return FailBody(requestId, parsed, "PULL body must be 18 bytes", "PULL max_count must be 1 to 1024");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        return PullAsync(requestId, request);
    }

    private async ValueTask PullAsync(uint requestId, PullRequest request)
    {
        _server.Push.OwnerActive(request.Address);
        int max = Math.Min(request.MaxCount, _server.Options.Relay.MaxPullCount);
        var pending = new PendingMessage[max + 1];
        int available = _server.Storage.GetPending(request.Address, MessageId.None, pending);

        // Take messages in order while they fit in one reply; always at least one. A message in flight
        // to a push subscriber is left to it: each message is on its way to one place at a time.
        int budget = _server.Options.Relay.MaxReplyBytes - 3;
        var take = new PendingMessage[Math.Min(available, max)];
        var taken = 0;
        long bytes = 0;
        bool more = false;
        for (int i = 0; i < available; i++)
        {
            var message = pending[i];
            if (_server.Push.IsInFlight(request.Address, message.Id))
            {
                continue;
            }

            int size = DeliveredMessage.HeaderLength + message.Length;
            if (taken == max || (taken > 0 && size > budget))
            {
                more = true;
                break;
            }

            budget -= size;
            bytes += message.Length;
            take[taken++] = message;
        }

        // Payloads are read from the storage straight into the reply. A message acknowledged by another
        // connection meanwhile may be gone: skip it, it was delivered.
        // The reply budget (max_pull_bytes) keeps this far below int.MaxValue.
        var length = checked((int)(ProtocolConstants.HeaderLength + 3 + (taken * DeliveredMessage.HeaderLength) + bytes));
        var (frame, offset, count) = await MessageFrames.FillRentedAsync(_server.Storage, request.Address, take.AsMemory(0, taken), length, ProtocolConstants.HeaderLength + 3, _aborted.Token);
        _server.Metrics.PulledMessages.Inc(count);
        FrameWriter.WriteMessagesHeader(frame, requestId, offset - ProtocolConstants.HeaderLength, count, more);
        await ReplyAsync(OutboxItem.RentedFrame(frame, offset));
    }

    private ValueTask HandleAck(uint requestId, in ReadOnlySequence<byte> body)
    {
        // The wire carries plain 64-bit ids; the storage names them MessageId (one long each). Pooled: an ACK
        // arrives for every push batch, and the ids are needed only until the removal is queued.
        var ids = ArrayPool<MessageId>.Shared.Rent(ProtocolLimits.MaxAckIds);
        var parsed = BodyReader.ReadAck(body, out var aid, MemoryMarshal.Cast<MessageId, long>(ids.AsSpan()), out var count);
        if (parsed != BodyStatus.Ok)
        {
            ArrayPool<MessageId>.Shared.Return(ids);
            return FailBody(requestId, parsed, "ACK body does not match its id count", "ACK count must be 1 to 1024");
        }

        if (!IsAuthenticated(aid))
        {
            ArrayPool<MessageId>.Shared.Return(ids);
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        return AckAsync(requestId, aid, ids, count);
    }

    private async ValueTask AckAsync(uint requestId, AddressId aid, MessageId[] rented, int count)
    {
        AckStatus status;
        DurabilityTicket ticket;
        try
        {
            // Waits for room in the storage asynchronously when it is momentarily full; never blocks the thread.
            var ids = rented.AsMemory(0, count);
            (status, ticket) = await _server.Storage.AckAsync(aid, ids, _aborted.Token);
            if (status == AckStatus.Acked)
            {
                _server.Push.OnAcked(aid, ids.Span);
                _server.Metrics.MessagesAcked.Inc(count);
            }
        }
        finally
        {
            ArrayPool<MessageId>.Shared.Return(rented);
        }

        await (status switch
        {
            AckStatus.Acked => ReplyAsync(OutboxItem.Ok(requestId, ticket)),
            AckStatus.UnknownMessage => Fail(requestId, ErrorCode.UnknownMessage, "an id is not a pending message of this address; nothing was acknowledged"),
            _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
        });
    }
}
