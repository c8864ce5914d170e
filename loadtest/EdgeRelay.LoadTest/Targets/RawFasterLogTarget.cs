using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using FASTER.core;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The storage ceiling: each "send" appends a record of the relay's message-record size straight to a
/// FASTER log on a temporary directory (same page, memory and segment sizes, the relay's device, fast-commit
/// mode) and completes when a group commit covers it. No network, no protocol, no index: what the disk
/// and FASTER give a durable ack on this machine.
/// </summary>
/// <remarks>
/// One committer task commits whenever a sender asks and a commit is not already running, as the relay's
/// committer does; waiting uses FASTER's own <c>WaitForCommitAsync</c>. In-process only (no --endpoint).
/// </remarks>
internal sealed class RawFasterLogTarget : ILoadTarget
{
    // The relay's message record header: type (1), aid (16), received-at (8).
    private const int RecordHeaderBytes = 1 + 16 + 8;

    private readonly SemaphoreSlim _commitRequested = new(0);
    private readonly CancellationTokenSource _stop = new();
    private string? _directory;
    private IDevice? _device;
    private DeviceLogCommitCheckpointManager? _commits;
    private FasterLog? _log;
    private Task _committer = Task.CompletedTask;
    private int _requested;

    public string Name => TargetCatalog.RawFasterLog;

    public string Label => TargetCatalog.RawFasterLog;

    public string Durability => "FASTER log on the relay's device, commit (fdatasync) before the ack (no network)";

    public string Description { get; private set; } = TargetCatalog.RawFasterLog;

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        if (settings.Endpoint is not null)
        {
            throw new LoadTestException("raw-fasterlog runs in-process only; it has no --endpoint.");
        }

        _directory = Path.Combine(Path.GetTempPath(), "edgerelay-loadtest-fasterlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _device = FasterLogSetup.CreateDeviceAt(Path.Combine(_directory, "raw.log"));

        // The relay's own device and log settings (per-entry checksums, fast commit, a commit file every 1,000 commits):
        // the baseline does exactly the log work the relay does, and nothing of the relay's own.
        _commits = FasterLogSetup.CreateCommitManager(_directory);
        using var logSettings = FasterLogSetup.CreateSettings(_device, _commits, _directory, pageSizeBits: 22, memorySizeBits: 26, segmentSizeBits: 28);
        _log = await FasterLog.CreateAsync(logSettings, cancellationToken);
        _committer = Task.Run(CommitLoopAsync, CancellationToken.None);
        Description = $"raw-fasterlog in-process on {_directory}";
        log(Description);
    }

    public Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken) =>
        Task.FromResult<ILoadConnection>(new Connection(this));

    public LoadError Classify(Exception error) => new(error.GetType().Name, ConnectionLost: false);

    private void RequestCommit()
    {
        if (Interlocked.Exchange(ref _requested, 1) == 0)
        {
            _commitRequested.Release();
        }
    }

    private async Task CommitLoopAsync()
    {
        var log = _log!;
        try
        {
            while (true)
            {
                await _commitRequested.WaitAsync(_stop.Token);
                Interlocked.Exchange(ref _requested, 0);
                if (log.TailAddress > log.CommittedUntilAddress)
                {
                    await log.CommitAsync(_stop.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _committer;
        _log?.Dispose();
        _commits?.Dispose();
        _device?.Dispose();
        _stop.Dispose();
        _commitRequested.Dispose();
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed class Connection(RawFasterLogTarget target) : ILoadConnection
    {
        private byte[] _record = [];

        public async ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            var log = target._log!;
            long address;
            var length = RecordHeaderBytes + payload.Length;
            var record = Interlocked.Exchange(ref _record, []);
            if (record.Length != length)
            {
                record = new byte[length];
            }

            // A header like the relay's (the bytes do not matter to FASTER), then the payload.
            record[0] = 3;
            BitConverter.TryWriteBytes(record.AsSpan(1), queue);
            payload.Span.CopyTo(record.AsSpan(RecordHeaderBytes));
            if (!log.TryEnqueue(record, out address))
            {
                target.RequestCommit(); // never spin on a full buffer: wait for a commit to free it
                address = await log.EnqueueAsync(record, cancellationToken);
            }

            Interlocked.Exchange(ref _record, record);
            target.RequestCommit();
            await log.WaitForCommitAsync(address + 1, token: cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
