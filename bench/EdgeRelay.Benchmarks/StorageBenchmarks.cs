using BenchmarkDotNet.Attributes;
using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using FASTER.core;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// Ingest cost of the durable queue against its floor: a raw <c>FasterLog.TryEnqueue</c> of a
/// prebuilt record of the same size (the baseline) versus <c>FasterStorage.TryAppend</c>
/// (size check, registry lookup, expiry check, the address' lock, serialising header and ciphertext
/// into the page, index insert). Both logs live on disk in a temporary directory, with the store's
/// settings (<see cref="FasterLogSetup"/>: per-entry checksums, fast commit, its commit manager) and its
/// default page (4 MiB) and memory (64 MiB) sizes. A third method is the raw log without per-entry
/// checksums, the store's setting before it turned them on: its ratio to the baseline is what the checksums cost.
/// </summary>
/// <remarks>
/// <para>How commits are handled, the same way on both sides: each invocation appends
/// <see cref="Batch"/> records, then asks for a commit without waiting (<c>FasterLog.Commit()</c>;
/// <c>FasterStorage.RequestFlush()</c>, served by the store's committer task), so commits run out of band
/// while the next batch is appended. When the memory buffer is full, the raw side awaits a
/// <c>CommitAsync</c> and retries; the store side falls back to <c>AppendAsync</c>, which does
/// the same inside the store. Neither spins on a failed enqueue. Because the disk is slower than
/// memcpy, a long run ends up measuring the disk (the ratio is then ~1); a short one measures CPU.</para>
/// <para>Allocations: FASTER allocates ~1.4 KB per page turn (the flush of the full page) and ~64 B
/// per refused enqueue; the store adds nothing per message (see AllocationTests).</para>
/// <para>Between iterations, outside the measurement, everything is committed, the store's
/// messages are acked and both logs truncated, so the disk does not fill and the store's index does
/// not grow across iterations. Run: <c>dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter *StorageBenchmarks*</c>.</para>
/// </remarks>
[MemoryDiagnoser]
[InvocationCount(64)]
public class StorageBenchmarks
{
    // 64 invocations × 1,024 appends per iteration: ~30 ms at 1 KiB, ~1 s (1 GiB written) at 16 KiB,
    // a compromise between BenchmarkDotNet's 100 ms minimum and the disk space a 16 KiB iteration fills.
    private const int Batch = 1024;

    private string _directory = null!;
    private IDevice _device = null!;
    private FasterLog _log = null!;
    private DeviceLogCommitCheckpointManager? _commits;
    private byte[] _record = null!;
    private FasterStorage _store = null!;
    private AddressId _aid;
    private byte[] _payload = null!;

    [Params(1024, 16384)]
    public int PayloadBytes { get; set; }

    [GlobalSetup(Target = nameof(RawFasterLogTryEnqueue))]
    public void SetupRaw() => SetupRawLog(checksums: true);

    [GlobalSetup(Target = nameof(RawFasterLogWithoutChecksums))]
    public void SetupRawWithoutChecksums() => SetupRawLog(checksums: false);

    [GlobalSetup(Target = nameof(FasterStorageTryAppend))]
    public void SetupStore()
    {
        _directory = NewDirectory();
        var options = new FasterStorageOptions
        {
            DataDirectory = Path.Combine(_directory, "store"),
            MaxPayloadBytes = 16384,
            MaintenanceInterval = TimeSpan.FromHours(1), // run between iterations instead, see StoreCleanup

            // An iteration appends 64 × 1,024 messages to one address (1 GiB at 16 KiB) before they are
            // acked: the default quotas (256 MiB per address) would refuse most of them, cheaply.
            MaxPendingMessagesPerAddress = 100_000_000,
            MaxPendingBytesPerAddress = 1L << 50,
            MaxLogBytes = 0,
        };
        _store = FasterStorage.OpenAsync(options, TimeProvider.System).GetAwaiter().GetResult();
        _aid = AddressId.NewRandom();
        var ticket = _store.CreateAddressAsync(_aid, new byte[32], DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()).AsTask().GetAwaiter().GetResult();
        _store.WaitDurableAsync(ticket).AsTask().GetAwaiter().GetResult();
        _payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(_payload);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long RawFasterLogTryEnqueue() => AppendRaw();

    [Benchmark(OperationsPerInvoke = Batch)]
    public long RawFasterLogWithoutChecksums() => AppendRaw();

    [Benchmark(OperationsPerInvoke = Batch)]
    public long FasterStorageTryAppend()
    {
        MessageId id = default;
        for (var i = 0; i < Batch; i++)
        {
            var status = _store.TryAppend(_aid, _payload, out id, out _);
            if (status == AppendStatus.Backpressure)
            {
                var appended = _store.AppendAsync(_aid, _payload).AsTask().GetAwaiter().GetResult();
                (status, id) = (appended.Status, appended.Id);
            }

            if (status != AppendStatus.Appended)
            {
                // A refusal costs next to nothing; counting it as an append would flatter the store.
                throw new InvalidOperationException($"Append refused: {status}.");
            }
        }

        _store.RequestFlush();
        return id.Value;
    }

    [IterationCleanup(Targets = [nameof(RawFasterLogTryEnqueue), nameof(RawFasterLogWithoutChecksums)])]
    public void RawCleanup()
    {
        _log.CommitAsync().AsTask().GetAwaiter().GetResult();
        _log.TruncateUntil(_log.TailAddress);
        _log.CommitAsync().AsTask().GetAwaiter().GetResult();
    }

    [IterationCleanup(Target = nameof(FasterStorageTryAppend))]
    public void StoreCleanup()
    {
        _store.FlushAsync().GetAwaiter().GetResult();
        var page = new PendingMessage[4096];
        var ids = new MessageId[page.Length];
        int n;
        while ((n = _store.GetPending(_aid, MessageId.None, page)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                ids[i] = page[i].Id;
            }

            _store.AckAsync(_aid, ids.AsMemory(0, n)).AsTask().GetAwaiter().GetResult();
        }

        _store.RunMaintenanceAsync().GetAwaiter().GetResult(); // snapshot + truncation
    }

    [GlobalCleanup(Targets = [nameof(RawFasterLogTryEnqueue), nameof(RawFasterLogWithoutChecksums)])]
    public void RawTeardown()
    {
        _log.Dispose();
        _commits?.Dispose();
        _device.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [GlobalCleanup(Target = nameof(FasterStorageTryAppend))]
    public void StoreTeardown()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    private void SetupRawLog(bool checksums)
    {
        _directory = NewDirectory();
        var logDirectory = Path.Combine(_directory, "raw");
        _device = Devices.CreateLogDevice(Path.Combine(logDirectory, "raw.log"));

        // The store's log settings, commit manager included: without them the baseline would pay a commit
        // file per commit that the store does not, and the ratio would measure that instead of the store.
        _commits = FasterLogSetup.CreateCommitManager(logDirectory);
        using var settings = FasterLogSetup.CreateSettings(_device, _commits, logDirectory, pageSizeBits: 22, memorySizeBits: 26, segmentSizeBits: 28);
        settings.TryRecoverLatest = false; // a fresh folder: nothing to recover
        if (!checksums)
        {
            settings.LogChecksum = LogChecksumType.None;
        }

        _log = new FasterLog(settings);

        // The same bytes the store writes: its 25-byte message header, then the ciphertext.
        _record = new byte[LogRecords.MessageHeaderSize + PayloadBytes];
        LogRecords.WriteMessageHeader(_record, AddressId.NewRandom(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Random.Shared.NextBytes(_record.AsSpan(LogRecords.MessageHeaderSize));
    }

    private long AppendRaw()
    {
        long address = 0;
        for (var i = 0; i < Batch; i++)
        {
            while (!_log.TryEnqueue(_record, out address))
            {
                _log.CommitAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        _log.Commit();
        return address;
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "edgerelay-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
