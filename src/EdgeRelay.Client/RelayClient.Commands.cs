using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client;

public sealed partial class RelayClient
{
    /// <summary>Asks the relay for a new long-term address owned by <paramref name="owner"/> (an Ed25519 public key).</summary>
    public async Task<CreatedAddress> CreateAddressAsync(PublicKey owner, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        var ownerKey = owner.Export(KeyBlobFormat.RawPublicKey);
        uint seconds = lifetime is null ? 0 : checked((uint)Math.Ceiling(lifetime.Value.TotalSeconds));
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteCreateAddress(w, id, s.ownerKey, s.seconds), (ownerKey, seconds), cancellationToken);
        if (reply.Type != FrameType.AddressCreated || !BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(reply.Body), out var created))
        {
            throw Unexpected(reply);
        }

        var card = AddressCard.Decode(created.Card.Span);
        return new CreatedAddress(card, DateTimeOffset.FromUnixTimeSeconds(created.ExpiresAtUnixSeconds));
    }

    /// <summary>Revokes an address; signed by its owner key. Revoking twice is not an error.</summary>
    public async Task RevokeAddressAsync(AddressId address, Key owner, CancellationToken cancellationToken = default)
    {
        var data = new byte[SignaturePayloads.RevokeLength];
        SignaturePayloads.WriteRevoke(data, address);
        var signature = SignatureAlgorithm.Ed25519.Sign(owner, data);
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteRevokeAddress(w, id, s.address, s.signature), (address, signature), cancellationToken));
    }

    /// <summary>
    /// Sends a ciphertext to an ephemeral address. Completes when the relay has made it durable;
    /// many sends may be in flight at once (up to the window).
    /// </summary>
    public async Task SendAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken = default)
    {
        if (ephemeralAddress.Length != EphemeralAddress.Length)
        {
            throw new ArgumentException($"An ephemeral address is {EphemeralAddress.Length} bytes.", nameof(ephemeralAddress));
        }

        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSend(w, id, s.ephemeralAddress.Span, s.ciphertext.Span), (ephemeralAddress, ciphertext), cancellationToken));
    }

    /// <summary>Sends to a card through a freshly derived ephemeral address (valid for <paramref name="validFor"/>, default 1 hour).</summary>
    public Task SendAsync(AddressCard card, ReadOnlyMemory<byte> ciphertext, TimeSpan? validFor = null, CancellationToken cancellationToken = default) =>
        SendAsync(DeriveEphemeralAddress(card, _time.GetUtcNow(), validFor), ciphertext, cancellationToken);

    /// <summary>
    /// Derives a fresh ephemeral address for a card, locally: no call to anyone. Each result looks random
    /// to everyone but the relay that issued the card.
    /// </summary>
    public static byte[] DeriveEphemeralAddress(AddressCard card, TimeSpan? validFor = null) =>
        DeriveEphemeralAddress(card, DateTimeOffset.UtcNow, validFor);

    /// <summary>As <see cref="DeriveEphemeralAddress(AddressCard, TimeSpan?)"/>, valid from <paramref name="now"/>.</summary>
    public static byte[] DeriveEphemeralAddress(AddressCard card, DateTimeOffset now, TimeSpan? validFor = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        var notAfter = now.Add(validFor ?? TimeSpan.FromHours(1)).ToUnixTimeSeconds();
        notAfter = Math.Min(notAfter, card.ExpiresAtUnixSeconds);
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(card, notAfter, address);
        return address;
    }

    /// <summary>Proves ownership of addresses by signing this connection's challenge; all or nothing.</summary>
    public async Task AuthenticateAsync(IEnumerable<(AddressId Address, Key Owner)> claims, CancellationToken cancellationToken = default)
    {
        var nonce = ServerInfo.AuthNonce.ToArray();
        var data = new byte[SignaturePayloads.AuthLength];
        var list = new List<AuthClaim>();
        foreach (var (address, owner) in claims)
        {
            SignaturePayloads.WriteAuth(data, nonce, address);
            list.Add(new AuthClaim(address, SignatureAlgorithm.Ed25519.Sign(owner, data)));
        }

        var array = list.ToArray();
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteAuth(w, id, s), array, cancellationToken));
    }

    public Task AuthenticateAsync(AddressId address, Key owner, CancellationToken cancellationToken = default) =>
        AuthenticateAsync([(address, owner)], cancellationToken);

    /// <summary>Fetches up to <paramref name="maxCount"/> pending messages, oldest first. They stay pending until acknowledged.</summary>
    public async Task<PullResult> PullAsync(AddressId address, int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCount, ProtocolLimits.MaxPullCount);
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WritePull(w, id, s.address, (ushort)s.maxCount), (address, maxCount), cancellationToken);
        if (reply.Type != FrameType.Messages || !BodyReader.TryReadMessages(new ReadOnlySequence<byte>(reply.Body), out var messages, out var more))
        {
            throw Unexpected(reply);
        }

        return new PullResult(ToReceived(messages), more);
    }

    /// <summary>Acknowledges stored messages; the relay removes them durably before it answers.</summary>
    public async Task AckAsync(AddressId address, IReadOnlyCollection<long> messageIds, CancellationToken cancellationToken = default)
    {
        var ids = messageIds.ToArray();
        for (int offset = 0; offset < ids.Length; offset += ProtocolLimits.MaxAckIds)
        {
            var chunk = ids.AsMemory(offset, Math.Min(ProtocolLimits.MaxAckIds, ids.Length - offset));
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteAck(w, id, s.address, s.chunk.Span), (address, chunk), cancellationToken));
        }
    }

    /// <summary>
    /// Subscribes to pushed messages of an authenticated address, granting <paramref name="credit"/>
    /// messages up front. The backlog is pushed at once (subject to the address' policy).
    /// </summary>
    /// <exception cref="InvalidOperationException">This connection already subscribed to the address.</exception>
    public async Task<PushSubscription> SubscribeAsync(AddressId address, int credit = 256, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(credit);
        var subscription = new PushSubscription(this, address);

        // Registered before the request: the first DELIVER may overtake the OK.
        if (!_subscriptions.TryAdd(address, subscription))
        {
            throw new InvalidOperationException($"This connection is already subscribed to {address}.");
        }

        try
        {
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteCredit(w, FrameType.Subscribe, id, s.address, s.credit), (address, credit: (uint)credit), cancellationToken));
            return subscription;
        }
        catch
        {
            _subscriptions.TryRemove(new KeyValuePair<AddressId, PushSubscription>(address, subscription));
            subscription.Complete();
            throw;
        }
    }

    internal async Task GrantAsync(AddressId address, int credit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(credit);
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteCredit(w, FrameType.Credit, id, s.address, s.credit), (address, credit: (uint)credit), cancellationToken));
    }

    internal async Task UnsubscribeAsync(PushSubscription subscription)
    {
        try
        {
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteUnsubscribe(w, id, s), subscription.Address, CancellationToken.None));
        }
        finally
        {
            _subscriptions.TryRemove(new KeyValuePair<AddressId, PushSubscription>(subscription.Address, subscription));
        }
    }

    /// <summary>Sets how the relay delivers this (authenticated) address' messages; persisted by the relay.</summary>
    public async Task SetPolicyAsync(AddressId address, DeliveryPolicy policy, CancellationToken cancellationToken = default)
    {
        if (!policy.IsValid)
        {
            throw new ArgumentException($"Not a valid delivery policy: {policy}.", nameof(policy));
        }

        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSetPolicy(w, id, s.address, s.policy), (address, policy), cancellationToken));
    }

    /// <summary>
    /// Presents an access token the relay's operator issued (<c>edgerelay tokens create</c>): an RM token opens
    /// the sending service to this connection, a peer token gives a forwarding relay its larger budget. Once per
    /// connection; refused with TOKEN_UNKNOWN or TOKEN_REVOKED as a <see cref="RelayException"/>.
    /// </summary>
    public async Task AuthenticateTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var bytes = System.Text.Encoding.ASCII.GetBytes(token);
        if (bytes.Length > AuthTokenRequest.MaxTokenBytes)
        {
            throw new ArgumentException($"A token is at most {AuthTokenRequest.MaxTokenBytes} bytes.", nameof(token));
        }

        ExpectOk(await RequestAsync(static (w, id, b) => FrameWriter.WriteAuthToken(w, id, b), bytes, cancellationToken));
    }

    /// <summary>
    /// Registers where the relay sends a content-free wake-up when a message arrives and no connection of
    /// the owner is subscribed (a UnifiedPush endpoint, for instance); null clears it.
    /// </summary>
    public async Task SetNotifyEndpointAsync(AddressId address, string? endpoint, CancellationToken cancellationToken = default) =>
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSetNotify(w, id, s.address, s.endpoint), (address, endpoint), cancellationToken));

    /// <summary>
    /// Extends an (authenticated, live) address to <paramref name="lifetime"/> from now (default: the
    /// relay's default) and returns a fresh card carrying the new expiry. Cards handed out earlier keep
    /// working until their own expiry. To rotate instead, create a new address and revoke this one later.
    /// </summary>
    public async Task<CreatedAddress> RenewAddressAsync(AddressId address, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        uint seconds = lifetime is null ? 0 : checked((uint)Math.Ceiling(lifetime.Value.TotalSeconds));
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteRenewAddress(w, id, s.address, s.seconds), (address, seconds), cancellationToken);
        if (reply.Type != FrameType.AddressCreated || !BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(reply.Body), out var created))
        {
            throw Unexpected(reply);
        }

        return new CreatedAddress(AddressCard.Decode(created.Card.Span), DateTimeOffset.FromUnixTimeSeconds(created.ExpiresAtUnixSeconds));
    }

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(static (w, id, _) => FrameWriter.WriteEmpty(w, FrameType.Ping, id), 0, cancellationToken);
        if (reply.Type != FrameType.Pong)
        {
            throw Unexpected(reply);
        }
    }
}
