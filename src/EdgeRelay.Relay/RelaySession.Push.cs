using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Relay.Notifications;
using EdgeRelay.Relay.Push;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

public sealed partial class RelaySession
{
    /// <summary>This connection's push subscriptions; allocated at the first SUBSCRIBE.</summary>
    private Dictionary<AddressId, Subscription>? _subscriptions;

    /// <summary>Queues a DELIVER frame from a push pump; false when the session is ending.</summary>
    internal ValueTask<bool> PushAsync(byte[] rentedFrame, int length) => _outbox.PushAsync(OutboxItem.RentedFrame(rentedFrame, length));

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

        var credit = Math.Min(request.Credit, (uint)_relay.Options.Relay.MaxPushCredit);
        _subscriptions ??= [];
        _subscriptions[request.Address] = _relay.Push.Subscribe(request.Address, this, credit);
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

        subscription.Address.Grant(subscription, request.Credit, (uint)_relay.Options.Relay.MaxPushCredit);
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

        _relay.Push.Unsubscribe(subscription);
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
            _relay.Push.Unsubscribe(subscription);
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

        var policy = new DeliveryPolicy((DeliveryPolicyKind)request.Kind, request.WindowMilliseconds);
        if (!policy.IsValid)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "policy kind must be 0 (immediate), 1 (batched, window > 0) or 2 (pull-only), with window 0 unless batched");
        }

        if (policy.WindowMilliseconds > _relay.Options.Relay.MaxBatchWindow.TotalMilliseconds)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "batch window exceeds the server's maximum");
        }

        var status = _relay.Store.SetPolicy(request.Address, policy, out var record);
        _relay.Push.Poke(request.Address);
        return AddressUpdated(requestId, status, record);
    }

    private ValueTask HandleSetNotify(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadSetNotify(body, out var request))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "SET_NOTIFY body must be an address, a length and that many bytes of UTF-8");
        }

        if (!IsAuthenticated(request.Address))
        {
            return Fail(requestId, ErrorCode.NotAuthenticated, "AUTH for this address first");
        }

        string? endpoint = null;
        if (request.Endpoint.Length > 0)
        {
            var notify = _relay.Options.Notify;
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

        var status = _relay.Store.SetNotifyEndpoint(request.Address, endpoint, out var record);
        return AddressUpdated(requestId, status, record);
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

        var options = _relay.Options.Relay;
        var lifetime = request.LifetimeSeconds == 0 ? options.DefaultAddressLifetime : TimeSpan.FromSeconds(request.LifetimeSeconds);
        if (lifetime > options.MaxAddressLifetime)
        {
            return Fail(requestId, ErrorCode.InvalidArgument, "lifetime exceeds the server's maximum");
        }

        var expiresAt = _relay.Time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        var status = _relay.Store.Renew(request.Address, expiresAt, out var record);
        if (status != AddressUpdateStatus.Updated)
        {
            return AddressUpdated(requestId, status, record);
        }

        var card = new Addressing.AddressCard(request.Address, expiresAt, _relay.ServiceKey.PublicKey.Span, _relay.CardEndpoint, _relay.CardExtensions);
        var frame = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteAddressCreated(frame, requestId, expiresAt, card.ToArray());
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray(), record));
    }

    private ValueTask AddressUpdated(uint requestId, AddressUpdateStatus status, long record) => status switch
    {
        AddressUpdateStatus.Updated => ReplyAsync(OutboxItem.Ok(requestId, record)),
        AddressUpdateStatus.Revoked => Fail(requestId, ErrorCode.AddressRevoked, "address was revoked"),
        AddressUpdateStatus.Expired => Fail(requestId, ErrorCode.AddressExpired, "address has expired; create a new one"),
        _ => Fail(requestId, ErrorCode.AddressUnknown, "no such address"),
    };
}
