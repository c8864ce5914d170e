using System.Diagnostics.CodeAnalysis;
using EdgeRelay.Testing.Conformance;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Storage.Tests;

/// <summary>
/// The in-memory storage as a backend whose engine numbers messages only when it stores them (a stream's
/// sequence) would look: appends return <see cref="MessageId.None"/>, and the id is learnt from
/// <see cref="IMessageQueue.GetPending"/> once the message is durable. Everything else is the in-memory
/// storage's, so the conformance suites running on it prove they hold both kinds of backend to the contract.
/// </summary>
public sealed class LateIdStorage(InMemoryStorage inner) : IRelayStorage
{
    public InMemoryStorage Inner { get; } = inner;

    public int MaxPayloadBytes => Inner.MaxPayloadBytes;

    public int MaxAckIds => Inner.MaxAckIds;

    public Exception? Failure => Inner.Failure;

    public Action<double>? FlushObserver
    {
        get => Inner.FlushObserver;
        set => Inner.FlushObserver = value;
    }

    public AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out MessageId id, out DurabilityTicket ticket)
    {
        var status = Inner.TryAppend(aid, ciphertext, out _, out ticket);
        id = MessageId.None;
        return status;
    }

    public async ValueTask<AppendResult> AppendAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default) =>
        (await Inner.AppendAsync(aid, ciphertext, ct)) with { Id = MessageId.None };

    public int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination) => Inner.GetPending(aid, after, destination);

    public ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default) =>
        Inner.ReadAsync(aid, message, destination, ct);

    public ValueTask<WriteResult<AckStatus>> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, CancellationToken ct = default) =>
        Inner.AckAsync(aid, ids, ct);

    public ValueTask<long> ExpireAsync(long receivedAtOrBeforeUnixMs, CancellationToken ct = default) => Inner.ExpireAsync(receivedAtOrBeforeUnixMs, ct);

    public bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info) => Inner.TryGetAddress(aid, out info);

    public ValueTask<DurabilityTicket> CreateAddressAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct = default) =>
        Inner.CreateAddressAsync(aid, ownerPublicKey, expiresAtUnixSeconds, ct);

    public ValueTask<WriteResult<RevokeStatus>> RevokeAsync(AddressId aid, CancellationToken ct = default) => Inner.RevokeAsync(aid, ct);

    public ValueTask<WriteResult<AddressUpdateStatus>> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct = default) =>
        Inner.RenewAsync(aid, expiresAtUnixSeconds, ct);

    public ValueTask<WriteResult<AddressUpdateStatus>> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct = default) =>
        Inner.SetPolicyAsync(aid, policy, ct);

    public ValueTask<WriteResult<AddressUpdateStatus>> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct = default) =>
        Inner.SetNotifyEndpointAsync(aid, endpoint, ct);

    public int ListAddresses(AddressId after, Span<AddressListing> destination) => Inner.ListAddresses(after, destination);

    public bool TryGetListing(AddressId aid, out AddressListing listing) => Inner.TryGetListing(aid, out listing);

    public ValueTask<PurgeResult> PurgeAsync(AddressId aid, CancellationToken ct = default) => Inner.PurgeAsync(aid, ct);

    public bool IsDurable(DurabilityTicket ticket) => Inner.IsDurable(ticket);

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => Inner.WaitDurableAsync(ticket, ct);

    public void RequestFlush() => Inner.RequestFlush();

    public Task FlushAsync() => Inner.FlushAsync();

    public StorageStatistics GetStatistics() => Inner.GetStatistics();

    public ValueTask DisposeAsync() => Inner.DisposeAsync();
}

/// <summary>The in-memory storage behind <see cref="LateIdStorage"/>; a crash keeps what it had flushed.</summary>
public sealed class LateIdBackend : StorageBackend
{
    private readonly InMemoryStoragePlace _place = new();

    public override bool IdsKnownAtAppend => false;

    public override Task<IRelayStorage> OpenAsync(Action<StorageLimits>? limits = null)
    {
        var configured = new StorageLimits();
        DefaultLimits(configured);
        limits?.Invoke(configured);
        return Task.FromResult<IRelayStorage>(new LateIdStorage(InMemoryStorage.Open(_place, Time, configured)));
    }

    public override Task<IRelayStorage> CrashAndReopenAsync(IRelayStorage storage, Action<StorageLimits>? limits = null)
    {
        ((LateIdStorage)storage).Inner.Abandon();
        return OpenAsync(limits);
    }

    public override ValueTask DisposeAsync() => default;
}

public sealed class LateIdMessageQueueConformance : MessageQueueConformance
{
    protected override StorageBackend CreateBackend() => new LateIdBackend();
}

public sealed class LateIdAddressRegistryConformance : AddressRegistryConformance
{
    protected override StorageBackend CreateBackend() => new LateIdBackend();
}

public sealed class LateIdDurabilityConformance : DurabilityConformance
{
    protected override StorageBackend CreateBackend() => new LateIdBackend();
}

public sealed class LateIdAddressAdministrationConformance : AddressAdministrationConformance
{
    protected override StorageBackend CreateBackend() => new LateIdBackend();
}
