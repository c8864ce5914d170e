using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

public sealed partial class RelaySession
{
    // The SEND path: resolve the ephemeral address, append the ciphertext to the log, queue an OK that the
    // outbox releases once a commit covers it. Nothing here allocates: the address is copied to the stack,
    // the ciphertext goes straight from the pipe's memory into the log (through a pooled buffer only when
    // it straddles two pipe segments), and the reply is a struct.
    private ValueTask HandleSendAsync(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (body.Length < ProtocolConstants.EphemeralAddressLength)
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "SEND body is shorter than an ephemeral address");
        }

        var ciphertext = body.Slice(ProtocolConstants.EphemeralAddressLength);
        if (ciphertext.Length > _relay.Options.Relay.MaxCiphertextBytes)
        {
            return Fail(requestId, ErrorCode.CiphertextTooLarge, "ciphertext exceeds the advertised maximum");
        }

        if (ciphertext.IsEmpty)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "empty ciphertext");
        }

        Span<byte> ephemeral = stackalloc byte[ProtocolConstants.EphemeralAddressLength];
        body.Slice(0, ProtocolConstants.EphemeralAddressLength).CopyTo(ephemeral);

        var time = _relay.Time;
        var resolved = _relay.Resolver.Resolve(ephemeral, ref _missLimiter, time.GetUtcNow().ToUnixTimeSeconds(), time.GetTimestamp(), out var aid);
        switch (resolved)
        {
            case ResolveStatus.Resolved:
                break;
            case ResolveStatus.Malformed:
                return Fail(requestId, ErrorCode.AddressMalformed, "ephemeral address has the wrong length or version");
            case ResolveStatus.Invalid:
                return Fail(requestId, ErrorCode.AddressInvalid, "ephemeral address does not open with this service's key");
            case ResolveStatus.Expired:
                return Fail(requestId, ErrorCode.AddressExpired, "ephemeral address has expired");
            case ResolveStatus.RateLimited:
                return Fail(requestId, ErrorCode.RateLimited, "too many unresolvable addresses; slow down");
            default:
                return Fail(requestId, ErrorCode.InternalError, "unexpected resolution status");
        }

        AppendStatus status;
        long messageId;
        if (ciphertext.IsSingleSegment)
        {
            status = _relay.Store.TryAppendMessage(aid, ciphertext.FirstSpan, out messageId);
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent((int)ciphertext.Length);
            try
            {
                ciphertext.CopyTo(rented);
                status = _relay.Store.TryAppendMessage(aid, rented.AsSpan(0, (int)ciphertext.Length), out messageId);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return status == AppendStatus.Backpressure
            ? AppendSlowAsync(requestId, aid, ciphertext)
            : CompleteSend(requestId, aid, status, messageId);
    }

    private ValueTask CompleteSend(uint requestId, AddressId aid, AppendStatus status, long messageId)
    {
        if (status == AppendStatus.Appended)
        {
            _relay.Push.OnAppended(aid, messageId);
            _relay.Metrics.SendsAccepted.Inc();
            return ReplyAsync(OutboxItem.SendOk(requestId, messageId, System.Diagnostics.Stopwatch.GetTimestamp()));
        }

        return RefuseSend(requestId, status);
    }

    private ValueTask RefuseSend(uint requestId, AppendStatus status) => status switch
    {
        AppendStatus.UnknownAddress => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
        AppendStatus.Revoked => Fail(requestId, ErrorCode.AddressRevoked, "address was revoked"),
        AppendStatus.Expired => Fail(requestId, ErrorCode.AddressExpired, "address has expired"),
        AppendStatus.PayloadTooLarge => Fail(requestId, ErrorCode.CiphertextTooLarge, "ciphertext exceeds the advertised maximum"),
        AppendStatus.QuotaAddress => Fail(requestId, ErrorCode.QuotaAddress, "the address holds as much as the relay allows; retry later"),
        AppendStatus.QuotaServer => Fail(requestId, ErrorCode.QuotaServer, "the relay's disk budget is used up; retry later"),
        _ => Fail(requestId, ErrorCode.InternalError, "unexpected append status"),
    };

    /// <summary>
    /// The log's memory is full: wait for a commit to free it rather than spinning on TryEnqueue (which
    /// starves the committer). The connection reads nothing meanwhile, which is the back-pressure.
    /// </summary>
    private async ValueTask AppendSlowAsync(uint requestId, AddressId aid, ReadOnlySequence<byte> ciphertext)
    {
        var length = (int)ciphertext.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            ciphertext.CopyTo(rented);
            _relay.Store.RequestCommit();
            var (status, messageId) = await _relay.Store.AppendMessageAsync(aid, rented.AsMemory(0, length), _aborted.Token);
            await CompleteSend(requestId, aid, status, messageId);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
