using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Forwarding;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // The sending service's forwarding (PROTOCOL.md 4.13, 4.14, 4.17): SEND_VIA queues a message for another relay
    // (or delivers it here when the endpoint is this relay's), SEND_VIA_MODE does the same in a sending mode of the
    // RM's choice, SEND_STATUS and WATCH_SENDS report what became of it. Every one needs an RM token. Not the SEND
    // path: these copy their bodies and allocate per request.

    /// <summary>The token whose settled sends this connection is told about (WATCH_SENDS); null when it is not watching.</summary>
    private string? _watchedOwner;

    private ValueTask HandleSendVia(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        var parsed = BodyReader.ReadSendVia(body, out var request);
        return parsed == BodyStatus.Ok ? SendViaInMode(requestId, 0, request) : FailSendViaBody(requestId, parsed);
    }

    private ValueTask HandleSendViaMode(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        var parsed = BodyReader.ReadSendViaMode(body, out var mode, out var request);
        if (parsed != BodyStatus.Ok)
        {
            return FailSendViaBody(requestId, parsed);
        }

        // One reading of the reloadable options: the mode offered and its interval are those of the same configuration.
        return _server.Sending.TryGetBatchInterval(mode, out var intervalMs)
            ? SendViaInMode(requestId, intervalMs, request)
            : Fail(requestId, ErrorCode.ModeUnavailable, $"sending mode {(byte)mode} is not offered by this relay now; STATUS lists the modes it offers");
    }

    private ValueTask FailSendViaBody(uint requestId, BodyStatus parsed) => FailBody(
        requestId,
        parsed,
        "SEND_VIA body is endpoint_len, endpoint (UTF-8), pin_len, pin, a 73-byte ephemeral address and the ciphertext (after the mode, for SEND_VIA_MODE)",
        "SEND_VIA needs a host:port endpoint, a pin of 0 or 32 bytes and a non-empty ciphertext");

    /// <summary>What SEND_VIA and SEND_VIA_MODE share once the body and the mode are accepted; <paramref name="batchIntervalMs"/> 0 forwards at once.</summary>
    private ValueTask SendViaInMode(uint requestId, long batchIntervalMs, SendViaRequest request)
    {
        if (_server.IsDraining)
        {
            return Fail(requestId, ErrorCode.Draining, DrainingReason);
        }

        if (request.Ciphertext.Length > _server.MaxSendViaCiphertext) // Sending:MaxCiphertextBytes, reloadable
        {
            return Fail(requestId, ErrorCode.CiphertextTooLarge, "ciphertext exceeds the advertised maximum");
        }

        if (request.EphemeralAddress[0] != EphemeralAddress.Version)
        {
            return Fail(requestId, ErrorCode.AddressMalformed, "ephemeral address has an unknown format version");
        }

        // A local delivery ignores the mode: nothing leaves the relay, so there is no timing on the way out to blur.
        // A card naming another node of this service (an alternative endpoint) is local too: that node's store is this one's.
        return _server.IsOwnEndpoint(request.Endpoint)
            ? SendViaLocally(requestId, request)
            : QueueForForwardingAsync(requestId, request, batchIntervalMs, _token!);
    }

    private async ValueTask QueueForForwardingAsync(uint requestId, SendViaRequest request, long batchIntervalMs, AccessToken token)
    {
        var length = request.Ciphertext.Length;
        if (!token.TryReserveQueued(length))
        {
            await Fail(requestId, ErrorCode.QuotaToken, "this token's queued messages or bytes are at their limit; retry once some are delivered");
            return;
        }

        OutboundEnqueueResult queued;
        try
        {
            queued = await _server.Forwarding.Engine.SubmitAsync(new OutboundRequest(token.Id, request.Endpoint, request.Pin, request.EphemeralAddress, request.Ciphertext, batchIntervalMs), _aborted.Token);
        }
        catch
        {
            token.ReleaseQueued(length);
            throw;
        }

        if (queued.Status != OutboundEnqueueStatus.Queued)
        {
            token.ReleaseQueued(length);
            await (queued.Status == OutboundEnqueueStatus.QueueFull
                ? Fail(requestId, ErrorCode.QueueFull, "the relay's outbound queue is full; retry later")
                : Fail(requestId, ErrorCode.QuotaToken, "this token's queued messages are at their limit; retry later"));
            return;
        }

        // The ticket is the outbound log's, not the relay log's the outbox redeems: the reply carries the wait
        // itself, which the outbox's writer awaits in request order. The read loop goes on reading, so the
        // SEND_VIAs in flight on a connection share the outbound log's commits instead of taking one each.
        var frame = SendStateFrame(FrameType.SendQueued, requestId, new SendStateEntry(queued.SendId, SendStateEntry.Queued, 0));
        var queue = _server.Forwarding.Queue;
        await ReplyAsync(queue.IsDurable(queued.Ticket)
            ? OutboxItem.Frame(frame)
            : OutboxItem.GatedFrame(frame, queue.WaitDurableAsync(queued.Ticket, CancellationToken.None).AsTask()));
    }

    /// <summary>A SEND_VIA to this relay's own endpoint: stored like a SEND, answered "delivered" with send id 0 once durable.</summary>
    private ValueTask SendViaLocally(uint requestId, SendViaRequest request)
    {
        var time = _server.Time;
        var resolved = _server.Resolver.Resolve(request.EphemeralAddress, ref _missLimiter, time.GetUtcNow().ToUnixTimeSeconds(), time.GetTimestamp(), out var aid);
        return resolved switch
        {
            ResolveStatus.Resolved => AppendLocallyAsync(requestId, aid, request.Ciphertext),
            ResolveStatus.Malformed => Fail(requestId, ErrorCode.AddressMalformed, "ephemeral address has the wrong length or version"),
            ResolveStatus.Invalid => Fail(requestId, ErrorCode.AddressInvalid, "ephemeral address does not open with this service's key"),
            ResolveStatus.Expired => Fail(requestId, ErrorCode.AddressExpired, "ephemeral address has expired"),
            ResolveStatus.RateLimited => Fail(requestId, ErrorCode.RateLimited, "too many unresolvable addresses; slow down"),
            _ => Fail(requestId, ErrorCode.InternalError, "unexpected resolution status"),
        };
    }

    private async ValueTask AppendLocallyAsync(uint requestId, AddressId aid, byte[] ciphertext)
    {
        var appended = await _server.Storage.AppendAsync(aid, ciphertext, _aborted.Token);
        if (appended.Status != AppendStatus.Appended)
        {
            await RefuseSend(requestId, appended.Status);
            return;
        }

        _server.Push.OnAppended(aid, appended.Ticket);
        _server.Metrics.SendsAccepted.Inc();
        _server.Storage.RequestFlush();
        await ReplyAsync(OutboxItem.Frame(SendStateFrame(FrameType.SendQueued, requestId, new SendStateEntry(0, SendStateEntry.Delivered, 0)), appended.Ticket));
    }

    private ValueTask HandleSendStatus(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        var parsed = BodyReader.ReadSendStatus(body, out var ids);
        if (parsed != BodyStatus.Ok)
        {
            return FailBody(requestId, parsed, "SEND_STATUS body is a count then that many 8-byte send ids", "SEND_STATUS asks about 1 to 256 send ids");
        }

        // Another token's send, an id never issued and a status past its retention all read "unknown": a
        // token learns nothing about sends that are not its own, not even whether they exist.
        var owner = _token!.Id;
        var entries = new SendStateEntry[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            entries[i] = _server.Forwarding.Queue.TryGetStatus(ids[i], out var status) && status.Owner == owner
                ? new SendStateEntry(ids[i], (byte)status.State, status.Code)
                : new SendStateEntry(ids[i], SendStateEntry.Unknown, 0);
        }

        var frame = new ArrayBufferWriter<byte>(ProtocolConstants.HeaderLength + 2 + (entries.Length * SendStateEntry.Length));
        FrameWriter.WriteSendStates(frame, requestId, entries);
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    private ValueTask HandleWatchSends(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        if (!body.IsEmpty)
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "WATCH_SENDS has an empty body");
        }

        var owner = _token!.Id;
        if (_watchedOwner is { } previous && previous != owner)
        {
            _server.Forwarding.Unwatch(previous, this);
        }

        _watchedOwner = owner;
        _server.Forwarding.Watch(owner, this);
        return ReplyAsync(OutboxItem.Ok(requestId));
    }

    /// <summary>A send of the watched token settled: queue its SEND_STATE push (request id 0), waiting for room if the outbox is full.</summary>
    internal void PushSendState(SendSettled settled)
    {
        var frame = SendStateFrame(FrameType.SendState, 0, new SendStateEntry(settled.SendId, (byte)settled.State, settled.Code));
        _ = _outbox.PushAsync(OutboxItem.Frame(frame)).AsTask();
    }

    private void EndSendWatch()
    {
        if (_watchedOwner is { } owner)
        {
            _server.Forwarding.Unwatch(owner, this);
            _watchedOwner = null;
        }
    }

    private static byte[] SendStateFrame(FrameType type, uint requestId, SendStateEntry entry)
    {
        var frame = new ArrayBufferWriter<byte>(ProtocolConstants.HeaderLength + SendStateEntry.Length);
        FrameWriter.WriteSendState(frame, type, requestId, entry);
        return frame.WrittenSpan.ToArray();
    }
}
