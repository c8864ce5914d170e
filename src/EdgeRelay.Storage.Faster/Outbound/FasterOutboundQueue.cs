using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The outbound queue on a FASTER log of its own (a folder beside the relay's log): a record per message
/// queued and per message settled, the state rebuilt from them on open (<see cref="OutboundBook"/>), group
/// commit before any acknowledgement, and maintenance that forgets old statuses, carries old live records
/// forward and truncates the head.
/// </summary>
/// <remarks>
/// <para>A log of its own rather than records in the relay's: forwarding's records live by other rules (a
/// queued message dies when it settles, a status lives for days) and would otherwise pin the message log's
/// head or need a second compaction policy there; and the relay's log format stays unchanged.</para>
/// <para>Send ids are the log address of the message's first Queued record: unique, increasing, and never
/// handed out again (FASTER's tail never moves back, truncation included). A carried copy keeps the id.</para>
/// <para>Opening reuses the message log's verified recovery (<see cref="OpenLog"/>): FASTER recovers to its
/// last commit, then the segments past it are checked, so a damaged committed record refuses the open.</para>
/// </remarks>
public sealed partial class FasterOutboundQueue : IOutboundQueue, IBackupSource
{
    private readonly Lock _sync = new();
    private readonly SemaphoreSlim _maintenanceLock = new(1, 1);
    private readonly StoreGate _gate = new();
    private readonly FasterOutboundQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OpenLog _open;
    private readonly GroupCommitter _committer;
    private readonly LogDurability _durability;
    private readonly LogWriter _log;
    private readonly OutboundBook _book;
    private readonly ITimer _maintenance;
    private int _disposeStarted;

    private FasterOutboundQueue(FasterOutboundQueueOptions options, TimeProvider time, ILogger logger, OpenLog open, OutboundBook book)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _open = open;
        _book = book;
        _committer = new GroupCommitter(open.Log, logger);
        _log = new LogWriter(open.Log, options.PageSizeBits, _committer, mirror: null);
        _durability = new LogDurability(_gate, _log, _committer);
        _maintenance = time.CreateTimer(static s => ((FasterOutboundQueue)s!).RunScheduledMaintenance(), this, options.MaintenanceInterval, options.MaintenanceInterval);
    }

    public async ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (request.Ciphertext.Length > _options.MaxPayloadBytes)
        {
            throw new ArgumentException($"The ciphertext is longer than {_options.MaxPayloadBytes} bytes.", nameof(request));
        }

        _gate.Enter();
        try
        {
            // Built before the lock, which every connection's SEND_VIA and every settle take: under it only the
            // admission, the copy into the log page and the book's update. The record is the message's memory.
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var release = request.ReleaseAt(now);
            var record = OutboundRecords.Queued(0, now, release, request.Owner, request.Endpoint, request.Pin.Span, request.EphemeralAddress.Span, request.Ciphertext.Span);
            for (var attempt = 1; ; attempt++)
            {
                lock (_sync)
                {
                    var admitted = _book.Admit(request.Owner, request.Ciphertext.Length, _options);
                    if (admitted != OutboundEnqueueStatus.Queued)
                    {
                        return new OutboundEnqueueResult(admitted, 0, DurabilityTicket.None);
                    }

                    if (_log.TryEnqueue(record, out var address))
                    {
                        var message = OutboundRecords.Message(record, address, now, release, request.Owner, request.Endpoint);
                        _book.Queue(message, address);
                        return new OutboundEnqueueResult(OutboundEnqueueStatus.Queued, address, DurabilityTicket.At(address), message);
                    }
                }

                await _log.WaitForSpaceAsync(attempt, ct);
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default)
    {
        if (state is not (OutboundState.Delivered or OutboundState.Failed))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "A message settles as delivered or failed.");
        }

        // A list of one: the same admission, record and wait for log space as a forwarding round's settles.
        var result = new SettleStatus[1];
        var ticket = await SettleManyAsync([new OutboundSettle(sendId, state, code)], result, ct);
        return new WriteResult<SettleStatus>(result[0], ticket);
    }

    public async ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default)
    {
        OutboundSettle.Validate(settles, results);
        _gate.Enter();
        try
        {
            var latest = DurabilityTicket.None;
            var next = 0;
            for (var attempt = 1; next < settles.Count; attempt++)
            {
                lock (_sync)
                {
                    var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                    for (; next < settles.Count; next++)
                    {
                        var (sendId, state, code) = settles[next];
                        if (!_book.TryGetQueued(sendId, out var message))
                        {
                            results[next] = SettleStatus.NotQueued;
                            continue;
                        }

                        var status = new OutboundStatus(sendId, message.Owner, state, state == OutboundState.Failed ? code : (ushort)0, message.QueuedAtUnixMs, now);
                        if (!TryAppendSettled(status, out var address))
                        {
                            break; // the log's memory is full: wait for a flush outside the lock, then go on from here
                        }

                        results[next] = SettleStatus.Settled;
                        latest = DurabilityTicket.At(address);
                    }
                }

                if (next < settles.Count)
                {
                    await _log.WaitForSpaceAsync(attempt, ct);
                }
            }

            return latest;
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Appends a Settled record and applies it to the book; false when the log has no room. Under <see cref="_sync"/>.</summary>
    private bool TryAppendSettled(in OutboundStatus status, out long address)
    {
        Span<byte> record = stackalloc byte[OutboundRecords.MaxSettledLength];
        if (!_log.TryEnqueue(record[..OutboundRecords.WriteSettled(record, status)], out address))
        {
            return false;
        }

        _book.Settle(status, address);
        return true;
    }

    public IReadOnlyList<OutboundMessage> GetQueued()
    {
        _gate.ThrowIfClosed();
        lock (_sync)
        {
            return _book.Queued();
        }
    }

    public bool TryGetStatus(long sendId, out OutboundStatus status)
    {
        _gate.ThrowIfClosed();
        lock (_sync)
        {
            return _book.TryGetStatus(sendId, out status);
        }
    }

    public OutboundStatistics GetStatistics()
    {
        _gate.ThrowIfClosed();
        lock (_sync)
        {
            return new OutboundStatistics(_book.QueuedCount, _book.QueuedBytes, _book.SettledCount, _log.Tail - _log.Begin);
        }
    }

    // Read directly on the reply path (every outbox item asks), not through the shared helper.
    public bool IsDurable(DurabilityTicket ticket) => ticket.Position < _log.CommittedUntil;

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => _durability.WaitDurableAsync(ticket, ct);

    public void RequestFlush() => _durability.RequestFlush();

    public Task FlushAsync() => _durability.FlushAsync();

    /// <inheritdoc/>
    public Exception? Failure => _committer.Failure;

    /// <summary>
    /// Forgets statuses past their retention; when the log spans more than the compaction span, copies the live
    /// records of its older half forward (committed before anything is truncated); then truncates the head to
    /// the oldest record still live.
    /// </summary>
    public async Task RunMaintenanceAsync()
    {
        _gate.Enter();
        try
        {
            await _maintenanceLock.WaitAsync();
            try
            {
                await MaintainAsync();
            }
            finally
            {
                _maintenanceLock.Release();
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        _gate.Close();
        try
        {
            await _maintenance.DisposeAsync();
            await _gate.WaitForOperationsAsync();
            await _maintenanceLock.WaitAsync();
            try
            {
                await _committer.CommitAsync();
            }
            catch (IOException ex)
            {
                // Closing must release the log whatever happened; what was not committed was never acknowledged.
                StorageLog.CommitFailed(_logger, ex);
            }

            await _committer.StopAsync();
        }
        finally
        {
            var committed = _log.CommittedUntil;
            _open.DisposeLog();
            _committer.Dispose();
            _maintenanceLock.Dispose();
            await _open.LockFile.DisposeAsync();
            OutboundLog.Closed(_logger, committed);
        }
    }

    private async Task MaintainAsync()
    {
        var cutoff = _time.GetUtcNow().Subtract(_options.SettledRetention).ToUnixTimeMilliseconds();
        int forgotten;
        lock (_sync)
        {
            forgotten = _book.Forget(cutoff);
        }

        var begin = _log.Begin;
        var span = _log.Tail - begin;
        var carried = 0;
        if (span > _options.EffectiveCompactionSpan)
        {
            carried = CarryForward(begin + (span / 2));
            await _committer.CommitAsync(); // the copies are durable before the originals can go
        }

        long lowest;
        lock (_sync)
        {
            lowest = Math.Min(_book.LowestRecord(_log.Tail), _log.CommittedUntil);
        }

        if (lowest > _log.Begin)
        {
            _open.Log.TruncateUntil(lowest);
            await _committer.CommitAsync();
        }

        if (forgotten > 0 || carried > 0)
        {
            OutboundLog.Maintained(_logger, forgotten, carried, begin, _log.Begin);
        }
    }

    private int CarryForward(long below)
    {
        lock (_sync)
        {
            var (queued, settled) = _book.Below(below);
            var carried = 0;
            foreach (var message in queued)
            {
                var record = OutboundRecords.Queued(message.SendId, message.QueuedAtUnixMs, message.ReleaseAtUnixMs, message.Owner, message.Endpoint, message.Pin.Span, message.EphemeralAddress.Span, message.Ciphertext.Span);
                if (!_log.TryEnqueue(record, out var address))
                {
                    return carried; // the log buffer is full: the rest waits for the next pass
                }

                _book.Queue(message, address);
                carried++;
            }

            foreach (var status in settled)
            {
                if (!TryAppendSettled(status, out _))
                {
                    return carried;
                }

                carried++;
            }

            return carried;
        }
    }

    private void RunScheduledMaintenance()
    {
        if (_gate.IsClosing || !_maintenanceLock.Wait(0))
        {
            return; // closing, or the previous pass is still running
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await MaintainAsync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or FasterException)
            {
                StorageLog.MaintenanceFailed(_logger, ex);
            }
            finally
            {
                _maintenanceLock.Release();
            }
        });
    }
}
