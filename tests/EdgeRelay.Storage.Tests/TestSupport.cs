using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Storage.Tests;

/// <summary>A fresh directory per test, deleted (with everything the store wrote) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "edgerelay-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string SnapshotPath => System.IO.Path.Combine(Path, "addresses.snapshot");

    public string[] SegmentFiles() =>
        Directory.GetFiles(System.IO.Path.Combine(Path, "log"), "relay.log.*");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

internal static class TestStore
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Small pages, memory and read cache so that tests run side by side without pinning 64 MiB each; maintenance
    /// effectively off (tests trigger it through the internal hook).
    /// </summary>
    public static RelayStoreOptions Options(string directory, Action<RelayStoreOptions>? configure = null)
    {
        var options = new RelayStoreOptions
        {
            DataDirectory = directory,
            PageSizeBits = 16,
            MemorySizeBits = 20,
            SegmentSizeBits = 22,
            ReadCacheSizeBits = 20,
            MaxPayloadBytes = 4096,
            MaintenanceInterval = TimeSpan.FromHours(1),
        };
        configure?.Invoke(options);
        return options;
    }

    public static FakeTimeProvider Clock() => new(Start);

    public static Task<RelayStore> OpenAsync(TempDirectory directory, TimeProvider? time = null, Action<RelayStoreOptions>? configure = null) =>
        RelayStore.OpenAsync(Options(directory.Path, configure), time ?? Clock());

    public static byte[] Key(int seed)
    {
        var key = new byte[AddressInfo.OwnerPublicKeyLength];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)(seed + (i * 7));
        }

        return key;
    }

    public static byte[] Payload(int seed, int length)
    {
        var payload = new byte[length];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((seed * 31) + i);
        }

        return payload;
    }

    /// <summary>Creates an address valid for a day from <paramref name="time"/>'s now, and waits until it is durable.</summary>
    public static async Task<AddressId> CreateAddressAsync(RelayStore store, TimeProvider time, int seed = 1)
    {
        var aid = AddressId.NewRandom();
        var record = store.CreateAddress(aid, Key(seed), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        await store.WaitForCommitAsync(record);
        return aid;
    }

    public static long Append(RelayStore store, AddressId aid, ReadOnlySpan<byte> payload)
    {
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, payload, out var id));
        return id;
    }

    /// <summary>Commits everything appended so far.</summary>
    public static async Task CommitAllAsync(RelayStore store)
    {
        var tail = store.GetStatistics().TailAddress;
        if (tail > store.CommittedUntilAddress)
        {
            await store.WaitForCommitAsync(tail - 1);
        }
    }

    public static PendingMessage[] Pending(RelayStore store, AddressId aid, int max = 100_000)
    {
        var buffer = new PendingMessage[max];
        var n = store.GetPending(aid, buffer);
        return buffer[..n];
    }

    /// <summary>Consumes the task once (as CA2012 wants) and tells whether it had completed synchronously.</summary>
    public static bool CompletedSynchronously(ValueTask task) => task.IsCompletedSuccessfully;

    /// <summary>A bound on every wait, so that a bug fails the test instead of hanging the run.</summary>
    public static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
