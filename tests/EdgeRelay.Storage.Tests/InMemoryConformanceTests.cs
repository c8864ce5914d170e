using EdgeRelay.Testing.Conformance;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Storage.Tests;

/// <summary>The in-memory storage of the tests at one place; a crash keeps what it had flushed.</summary>
public sealed class InMemoryBackend : StorageBackend
{
    private readonly InMemoryStoragePlace _place = new();

    public override Task<IRelayStorage> OpenAsync(Action<StorageLimits>? limits = null)
    {
        var configured = new StorageLimits();
        DefaultLimits(configured);
        limits?.Invoke(configured);
        return Task.FromResult<IRelayStorage>(InMemoryStorage.Open(_place, Time, configured));
    }

    public override Task<IRelayStorage> CrashAndReopenAsync(IRelayStorage storage, Action<StorageLimits>? limits = null)
    {
        ((InMemoryStorage)storage).Abandon();
        return OpenAsync(limits);
    }

    public override ValueTask DisposeAsync() => default;
}

public sealed class InMemoryMessageQueueConformance : MessageQueueConformance
{
    protected override StorageBackend CreateBackend() => new InMemoryBackend();
}

public sealed class InMemoryAddressRegistryConformance : AddressRegistryConformance
{
    protected override StorageBackend CreateBackend() => new InMemoryBackend();
}

public sealed class InMemoryDurabilityConformance : DurabilityConformance
{
    protected override StorageBackend CreateBackend() => new InMemoryBackend();
}

public sealed class InMemoryAddressAdministrationConformance : AddressAdministrationConformance
{
    protected override StorageBackend CreateBackend() => new InMemoryBackend();
}

public sealed class InMemoryOutboundBackend : OutboundBackend
{
    private readonly InMemoryOutboundQueue.Place _place = new();

    public override Task<IOutboundQueue> OpenAsync(Action<OutboundLimits>? limits = null)
    {
        var options = new OutboundLimits();
        limits?.Invoke(options);
        return Task.FromResult<IOutboundQueue>(new InMemoryOutboundQueue(_place, options, Time));
    }

    public override async Task<IOutboundQueue> CrashAndReopenAsync(IOutboundQueue queue, Action<OutboundLimits>? limits = null)
    {
        await queue.DisposeAsync(); // every write of the in-memory queue is durable at once: all of it survives
        return await OpenAsync(limits);
    }

    public override ValueTask DisposeAsync() => default;
}

public sealed class InMemoryOutboundQueueConformance : OutboundQueueConformance
{
    protected override OutboundBackend CreateBackend() => new InMemoryOutboundBackend();
}
