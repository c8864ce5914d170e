using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// Reads one stream from its first record to its end and on as it grows, in order, and hands each record to
/// the store's index. An ordered consumer: the client recreates it from the next sequence after a lost server
/// or a gap, so every record is applied once, in stream order, on every node.
/// </summary>
internal sealed class StreamFollower
{
    /// <summary>
    /// How often the server proves the consumer alive while the stream is idle; the client recreates the consumer
    /// after two missed beats. The client's default (15 s, so 30 s to notice) left a node that lost the server
    /// holding its consumer (an R1 consumer dies with its server, while this node's connection to another server
    /// stays up) applying nothing for half a minute, and every write round of the stream waiting as long.
    /// </summary>
    private static readonly NatsJSConsumeOpts ConsumeOpts = new() { MaxMsgs = 1000, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };

    private readonly INatsJSContext _js;
    private readonly string _stream;
    private readonly Action<ulong, byte[]> _apply;
    private readonly ILogger _logger;
    private readonly Action<Exception> _stopped;
    private readonly TimeSpan _startWindow;
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(ulong Seq, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _lock = new();
    private ulong _applied;
    private long _appliedCount;
    private long _behind;
    private Exception? _failure;
    private Task _loop = Task.CompletedTask;

    /// <param name="stopped">Told when following stops for good while the store is open: the index no longer follows the stream.</param>
    /// <param name="startWindow">How long the start's API calls are asked again while the cluster does not answer (<see cref="StartRetry"/>).</param>
    public StreamFollower(INatsJSContext js, string stream, Action<ulong, byte[]> apply, Action<Exception> stopped, ILogger logger, TimeSpan? startWindow = null)
    {
        _startWindow = startWindow ?? TimeSpan.FromSeconds(30);
        _js = js;
        _stream = stream;
        _apply = apply;
        _stopped = stopped;
        _logger = logger;
    }

    public string Stream => _stream;

    /// <summary>The last sequence applied.</summary>
    public ulong Applied
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    /// <summary>Starts following; completes once every record the stream held at the start has been applied.</summary>
    public async Task StartAsync(CancellationToken stopping, CancellationToken ct)
    {
        var info = await StartRetry.RunAsync(c => _js.GetStreamAsync(_stream, cancellationToken: c).AsTask(), "reading stream " + _stream, _startWindow, _logger, ct).ConfigureAwait(false);
        var lastAtStart = info.Info.State.LastSeq;
        if (info.Info.State.Messages == 0)
        {
            _caughtUp.TrySetResult();
        }

        var consumer = await StartRetry.RunAsync(
            c => _js.CreateOrderedConsumerAsync(_stream, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, c).AsTask(),
            "creating a consumer of " + _stream,
            _startWindow,
            _logger,
            ct).ConfigureAwait(false);
        _loop = Task.Run(() => FollowAsync(consumer, lastAtStart, stopping), CancellationToken.None);
        await _caughtUp.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Completes once the record at <paramref name="seq"/> (or a later one) was applied.</summary>
    public Task WaitAppliedAsync(ulong seq)
    {
        lock (_lock)
        {
            if (_applied >= seq)
            {
                return Task.CompletedTask;
            }

            if (_failure is not null)
            {
                return Task.FromException(new IOException($"Following stream {_stream} failed.", _failure));
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((seq, done));
            return done.Task;
        }
    }

    public Task StoppedAsync => _loop;

    /// <summary>Records applied since the start.</summary>
    public long AppliedCount => Interlocked.Read(ref _appliedCount);

    /// <summary>Records the stream held past the last one applied, as its delivery said (0 when caught up).</summary>
    public long Behind => Interlocked.Read(ref _behind);

    private async Task FollowAsync(INatsJSConsumer consumer, ulong lastAtStart, CancellationToken stopping)
    {
        try
        {
            await foreach (var msg in consumer.ConsumeAsync(NatsRawSerializer<byte[]>.Default, ConsumeOpts, stopping).ConfigureAwait(false))
            {
                var metadata = msg.Metadata ?? throw new InvalidDataException($"A record of stream {_stream} came without its metadata.");
                var seq = metadata.Sequence.Stream;
                _apply(seq, msg.Data ?? []);
                Advance(seq);
                Interlocked.Increment(ref _appliedCount);
                Interlocked.Exchange(ref _behind, (long)metadata.NumPending);
                if (metadata.NumPending == 0 || seq >= lastAtStart)
                {
                    _caughtUp.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            if (!stopping.IsCancellationRequested)
            {
                JetStreamLog.FollowerFailed(_logger, _stream, ex);
                _stopped(ex);
            }

            Fail(ex);
            return;
        }

        if (!stopping.IsCancellationRequested)
        {
            var ended = new InvalidOperationException($"Following stream {_stream} ended.");
            _stopped(ended);
            Fail(ended);
            return;
        }

        Fail(new ObjectDisposedException(nameof(JetStreamStorage)));
    }

    private void Advance(ulong seq)
    {
        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            _applied = seq;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Seq <= seq)
                {
                    (done ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(d => d.TrySetResult());
    }

    private void Fail(Exception error)
    {
        List<TaskCompletionSource> waiters;
        lock (_lock)
        {
            _failure ??= error;
            waiters = _waiters.Select(w => w.Done).ToList();
            _waiters.Clear();
        }

        _caughtUp.TrySetException(error);
        foreach (var waiter in waiters)
        {
            waiter.TrySetException(new IOException($"Following stream {_stream} failed.", error));
        }
    }
}
