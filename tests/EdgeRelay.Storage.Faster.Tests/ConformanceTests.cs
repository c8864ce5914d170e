using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>The FASTER backend at one temporary folder; a crash is the folder's files as they are at that instant.</summary>
public sealed class FasterBackend : StorageBackend
{
    private readonly List<TempDirectory> _directories = [new TempDirectory("edgerelay-conformance")];

    private TempDirectory Current => _directories[^1];

    public override async Task<IRelayStorage> OpenAsync(Action<StorageLimits>? limits = null) =>
        await FasterStorage.OpenAsync(TestStore.Options(Current.Path, o => { DefaultLimits(o); limits?.Invoke(o); }), Time);

    public override async Task<IRelayStorage> CrashAndReopenAsync(IRelayStorage storage, Action<StorageLimits>? limits = null)
    {
        _directories.Add(Current.CopyAsIs("edgerelay-conformance-crash"));
        await storage.DisposeAsync(); // writes to the old folder only; the copy is what the crash left
        return await OpenAsync(limits);
    }

    public override ValueTask DisposeAsync()
    {
        foreach (var directory in _directories)
        {
            directory.Dispose();
        }

        return default;
    }
}

public sealed class FasterMessageQueueConformance : MessageQueueConformance
{
    protected override StorageBackend CreateBackend() => new FasterBackend();
}

public sealed class FasterAddressRegistryConformance : AddressRegistryConformance
{
    protected override StorageBackend CreateBackend() => new FasterBackend();
}

public sealed class FasterDurabilityConformance : DurabilityConformance
{
    protected override StorageBackend CreateBackend() => new FasterBackend();
}

public sealed class FasterAddressAdministrationConformance : AddressAdministrationConformance
{
    protected override StorageBackend CreateBackend() => new FasterBackend();
}
