using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // The SEND path: resolve the ephemeral address (RelaySession.Resolve.cs), append the ciphertext to the storage, queue an OK that the
    // outbox releases once its durability ticket is redeemed. Nothing here allocates: the address is copied to the stack,
    // the ciphertext goes straight from the pipe's memory into the storage (through a pooled buffer only when
    // it straddles two pipe segments), and the reply is a struct.
    private ValueTask HandleSendAsync(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (body.Length < ProtocolConstants.EphemeralAddressLength)
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "SEND body is shorter than an ephemeral address");
        }

        var ciphertext = body.Slice(ProtocolConstants.EphemeralAddressLength);
        if (ciphertext.Length > _server.Options.Relay.MaxCiphertextBytes)
        {
            return Fail(requestId, ErrorCode.CiphertextTooLarge, "ciphertext exceeds the advertised maximum");
        }

        if (ciphertext.IsEmpty)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "empty ciphertext");
        }

        if (_server.IsDraining)
        {
            return Fail(requestId, ErrorCode.Draining, DrainingReason);
        }

        Span<byte> ephemeral = stackalloc byte[ProtocolConstants.EphemeralAddressLength];
        body.Slice(0, ProtocolConstants.EphemeralAddressLength).CopyTo(ephemeral);

        if (!TryResolve(ephemeral, _server.Time.GetUtcNow().ToUnixTimeSeconds(), out var resolved, out var aid))
        {
            return ResolveRoundAsync(requestId, body);
        }

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
                return Fail(requestId, ErrorCode.RateLimited, "too many addresses this relay had not seen; slow down");
            default:
                return Fail(requestId, ErrorCode.InternalError, "unexpected resolution status");
        }

        AppendStatus status;
        MessageId messageId;
        DurabilityTicket ticket;
        var storage = _server.Storage;
        if (ciphertext.IsSingleSegment)
        {
            status = storage.TryAppend(aid, ciphertext.FirstSpan, out messageId, out ticket);
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent((int)ciphertext.Length);
            try
            {
                ciphertext.CopyTo(rented);
                status = storage.TryAppend(aid, rented.AsSpan(0, (int)ciphertext.Length), out messageId, out ticket);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return status == AppendStatus.Backpressure
            ? AppendSlowAsync(requestId, aid, ciphertext)
            : CompleteSend(requestId, aid, status, ticket);
    }

    private ValueTask CompleteSend(uint requestId, AddressId aid, AppendStatus status, DurabilityTicket ticket)
    {
        if (status == AppendStatus.Appended)
        {
            _server.Push.OnAppended(aid, ticket);
            _server.Metrics.SendsAccepted.Inc();
            return ReplyAsync(OutboxItem.SendOk(requestId, ticket, System.Diagnostics.Stopwatch.GetTimestamp()));
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
    /// The store cannot take the message without waiting (a full log buffer): wait for room rather than
    /// spinning on TryAppend (which starves the committer). The connection reads nothing meanwhile, which
    /// is the back-pressure.
    /// </summary>
    private async ValueTask AppendSlowAsync(uint requestId, AddressId aid, ReadOnlySequence<byte> ciphertext)
    {
        var length = (int)ciphertext.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            ciphertext.CopyTo(rented);
            _server.Storage.RequestFlush();
            var appended = await _server.Storage.AppendAsync(aid, rented.AsMemory(0, length), _aborted.Token);
            await CompleteSend(requestId, aid, appended.Status, appended.Ticket);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
