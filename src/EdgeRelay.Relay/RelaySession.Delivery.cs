using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

public sealed partial class RelaySession
{
    /// <summary>Addresses this connection proved ownership of. Small; allocated at the first AUTH.</summary>
    private HashSet<AddressId>? _authenticated;

    private ValueTask HandleAuth(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadAuth(body, out var claims))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "AUTH body does not match its claim count");
        }

        // All or nothing: a connection is never left authenticated for part of what it asked.
        foreach (var claim in claims)
        {
            if (!_relay.Store.TryGetAddress(claim.Address, out var info))
            {
                return Fail(requestId, ErrorCode.AddressUnknown, "no such address");
            }

            if (!Signatures.VerifyAuth(info.OwnerPublicKey.Span, _authNonce, claim.Address, claim.Signature.Span))
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
        if (!BodyReader.TryReadPull(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "PULL body must be 18 bytes with a count of 1 to 1024");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        return PullAsync(requestId, request);
    }

    private async ValueTask PullAsync(uint requestId, PullRequest request)
    {
        int max = Math.Min(request.MaxCount, _relay.Options.Relay.MaxPullCount);
        var pending = new PendingMessage[max + 1];
        int available = _relay.Store.GetPending(request.Address, pending);

        // Take messages in order while they fit in one reply; always at least one.
        int budget = _relay.Options.Relay.MaxReplyBytes - 3;
        int take = 0;
        while (take < Math.Min(available, max))
        {
            int size = DeliveredMessage.HeaderLength + pending[take].Length;
            if (take > 0 && size > budget)
            {
                break;
            }

            budget -= size;
            take++;
        }

        // A message acknowledged by another connection meanwhile may be gone: skip it, it was delivered.
        var delivered = new List<(PendingMessage Message, byte[] Payload)>(take);
        for (int i = 0; i < take; i++)
        {
            if (await _relay.Store.ReadPayloadAsync(pending[i].Id, _aborted.Token) is { } payload)
            {
                delivered.Add((pending[i], payload));
            }
        }

        var lengths = delivered.Select(d => d.Payload.Length).ToArray();
        int bodyLength = FrameWriter.MessagesBodyLength(lengths);
        var frame = new ArrayBufferWriter<byte>(ProtocolConstants.HeaderLength + bodyLength);
        FrameWriter.WriteMessagesHeader(frame, requestId, bodyLength, delivered.Count, more: available > take);
        foreach (var (message, payload) in delivered)
        {
            FrameWriter.WriteDeliveredMessage(frame, message.Id, message.ReceivedAtUnixMs, payload);
        }

        await ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    private ValueTask HandleAck(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadAck(body, out var aid, out var ids))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "ACK body does not match its id count");
        }

        if (!IsAuthenticated(aid))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        return AckAsync(requestId, aid, ids);
    }

    private async ValueTask AckAsync(uint requestId, AddressId aid, long[] ids)
    {
        // The async form: when the log buffer is full it waits for a commit instead of blocking the thread.
        var (status, record) = await _relay.Store.AckAsync(aid, ids, _aborted.Token);
        await (status switch
        {
            AckStatus.Acked => ReplyAsync(OutboxItem.Ok(requestId, record)),
            AckStatus.UnknownMessage => Fail(requestId, ErrorCode.UnknownMessage, "an id is not a pending message of this address; nothing was acknowledged"),
            _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
        });
    }
}
