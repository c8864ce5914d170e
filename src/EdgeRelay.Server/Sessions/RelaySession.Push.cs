using System.Buffers;
using EdgeRelay.Delivery;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Webhooks;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    /// <summary>This connection's push subscriptions; allocated at the first SUBSCRIBE.</summary>
    private Dictionary<AddressId, Subscription>? _subscriptions;

    /// <summary>
    /// A push pump assigned these messages to this connection: read them from the storage straight into one
    /// DELIVER frame (see <see cref="OutboxItem.RentedFrame"/>) and queue it.
    /// </summary>
    async ValueTask<DeliveryOutcome> IDeliveryTarget.DeliverAsync(AddressId aid, ReadOnlyMemory<PendingMessage> messages, IMessageQueue queue)
    {
        long ciphertextBytes = 0;
        foreach (var message in messages.Span)
        {
            ciphertextBytes += message.Length;
        }

        var bodyLength = FrameWriter.DeliverBodyLength(messages.Length, ciphertextBytes);
        var (frame, offset, count) = await MessageFrames.FillRentedAsync(
            queue, aid, messages, ProtocolConstants.HeaderLength + bodyLength, ProtocolConstants.HeaderLength + ProtocolConstants.AddressIdLength + 2, CancellationToken.None);
        if (count == 0)
        {
            MessageFrames.Return(frame);
            return DeliveryOutcome.NothingReadable;
        }

        FrameWriter.WriteDeliverHeader(frame, offset - ProtocolConstants.HeaderLength, aid, count);
        if (!await _outbox.PushAsync(OutboxItem.RentedFrame(frame, offset)))
        {
            // The session is ending; the frame the outbox refused is still ours to give back.
            MessageFrames.Return(frame);
            return DeliveryOutcome.Closed;
        }

        var metrics = _server.Metrics;
        metrics.PushedMessages.Inc(count);
        var now = _server.Time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var message in messages.Span)
        {
            metrics.DeliveryLatency.Observe(Math.Max(0, now - message.ReceivedAtUnixMs) / 1000.0);
        }

        return DeliveryOutcome.Sent;
    }

    private ValueTask HandleSubscribe(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadCredit(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "SUBSCRIBE body must be 20 bytes");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        _subscriptions ??= [];
        _subscriptions[request.Address] = _server.Push.Subscribe(request.Address, this, request.Credit);
        return ReplyAsync(OutboxItem.Ok(requestId));
    }

    private ValueTask HandleCredit(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadCredit(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "CREDIT body must be 20 bytes");
        }

        if (_subscriptions is null || !_subscriptions.TryGetValue(request.Address, out var subscription))
        {
            return Fail(requestId, ErrorCode.NotSubscribed, "SUBSCRIBE to this address first");
        }

        _server.Push.Grant(subscription, request.Credit);
        return ReplyAsync(OutboxItem.Ok(requestId));
    }

    private ValueTask HandleUnsubscribe(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadAddressOnly(body, out var aid))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "UNSUBSCRIBE body must be 16 bytes");
        }

        if (_subscriptions is null || !_subscriptions.Remove(aid, out var subscription))
        {
            return Fail(requestId, ErrorCode.NotSubscribed, "not subscribed to this address");
        }

        _server.Push.Unsubscribe(subscription);
        return ReplyAsync(OutboxItem.Ok(requestId));
    }

    /// <summary>Ends every subscription of this connection: what was in flight to it is pushed again elsewhere or waits.</summary>
    private void EndSubscriptions()
    {
        if (_subscriptions is null)
        {
            return;
        }

        foreach (var subscription in _subscriptions.Values)
        {
            _server.Push.Unsubscribe(subscription);
        }

        _subscriptions.Clear();
    }

    private ValueTask HandleSetPolicy(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadSetPolicy(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "SET_POLICY body must be 21 bytes");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        var policy = request.Policy;
        if (!policy.IsValid)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "policy kind must be 0 (immediate), 1 (batched, window > 0) or 2 (pull-only), with window 0 unless batched");
        }

        if (policy.WindowMilliseconds > _server.Options.Relay.MaxBatchWindow.TotalMilliseconds)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "batch window exceeds the server's maximum");
        }

        return SetPolicyAsync(requestId, request.Address, policy);
    }

    private async ValueTask SetPolicyAsync(uint requestId, AddressId aid, DeliveryPolicy policy)
    {
        var (status, ticket) = await _server.Storage.SetPolicyAsync(aid, policy, _aborted.Token);
        _server.Push.Poke(aid);
        await AddressUpdated(requestId, status, ticket);
    }

    private ValueTask HandleSetNotify(uint requestId, in ReadOnlySequence<byte> body)
    {
        var parsed = BodyReader.ReadSetNotify(body, out var request);
        if (parsed != BodyStatus.Ok)
        {
            return FailBody(requestId, parsed, "SET_NOTIFY body must be an address, a length and that many bytes of UTF-8", "SET_NOTIFY endpoint length must be at most 2048");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        string? endpoint = null;
        if (request.Endpoint.Length > 0)
        {
            var notify = _server.Options.Notify;
            if (!notify.Enabled)
            {
                return Fail(requestId, ErrorCode.InvalidArgument, "wake-up notifications are disabled on this relay");
            }

            if (!WebhookNotifier.TryValidateEndpoint(request.Endpoint, notify, out var problem))
            {
                return Fail(requestId, ErrorCode.InvalidArgument, problem);
            }

            endpoint = request.Endpoint;
        }

        return SetNotifyAsync(requestId, request.Address, endpoint);
    }

    private async ValueTask SetNotifyAsync(uint requestId, AddressId aid, string? endpoint)
    {
        var (status, ticket) = await _server.Storage.SetNotifyEndpointAsync(aid, endpoint, _aborted.Token);
        await AddressUpdated(requestId, status, ticket);
    }

    private ValueTask HandleRenewAddress(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadRenewAddress(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "RENEW_ADDRESS body must be 20 bytes");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        var options = _server.Options.Relay;
        var lifetime = request.LifetimeSeconds == 0 ? options.DefaultAddressLifetime : TimeSpan.FromSeconds(request.LifetimeSeconds);
        if (lifetime > options.MaxAddressLifetime)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "lifetime exceeds the server's maximum");
        }

        var expiresAt = _server.Time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        return RenewAsync(requestId, request.Address, expiresAt);
    }

    private async ValueTask RenewAsync(uint requestId, AddressId aid, long expiresAt)
    {
        var (status, ticket) = await _server.Storage.RenewAsync(aid, expiresAt, _aborted.Token);
        if (status != AddressUpdateStatus.Updated)
        {
            await AddressUpdated(requestId, status, ticket);
            return;
        }

        var card = new Addressing.AddressCard(aid, expiresAt, _server.ServiceKey.PublicKey.Span, _server.CardEndpoint, _server.CardExtensions);
        var frame = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteAddressCreated(frame, requestId, expiresAt, card.ToArray());
        await ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray(), ticket));
    }

    private ValueTask AddressUpdated(uint requestId, AddressUpdateStatus status, DurabilityTicket ticket) => status switch
    {
        AddressUpdateStatus.Updated => ReplyAsync(OutboxItem.Ok(requestId, ticket)),
        AddressUpdateStatus.Revoked => Fail(requestId, ErrorCode.AddressRevoked, "address was revoked"),
        AddressUpdateStatus.Expired => Fail(requestId, ErrorCode.AddressExpired, "address has expired; create a new one"),
        _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
    };
}
