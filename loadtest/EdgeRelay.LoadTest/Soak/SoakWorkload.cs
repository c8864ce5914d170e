using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using HdrHistogram;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>
/// The soak's mixed traffic on a started pair of relays: SENDs to B's addresses and SEND_VIAs through A (to the
/// same addresses), each to a random address; half the addresses are drained by push subscribers, half by
/// owners who PULL and ACK every <see cref="SoakSettings.PullInterval"/>. So every message is acknowledged by
/// its owner in the end, and the relays' logs can reclaim what they hold.
/// </summary>
/// <remarks>
/// Each payload starts with a marker and the send's origin timestamp, so a receiver measures intended send to
/// receipt without a table of sends in flight; the relays' primers (16 zero bytes) carry no marker and are
/// not counted.
/// </remarks>
internal sealed class SoakWorkload : IAsyncDisposable
{
    /// <summary>"SOAKMSG1": a payload the workload sent, as opposed to a primer.</summary>
    private const ulong Marker = 0x534F414B4D534731;

    private const int HeaderBytes = 16;

    private readonly EdgeRelayForwardTarget _target;
    private readonly SoakSettings _settings;
    private readonly ILoadConnection[] _direct;
    private readonly ILoadConnection[] _via;
    private readonly List<IAsyncDisposable> _receivers = [];
    private readonly byte[] _filler;
    private readonly SemaphoreSlim _window;
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _sends;
    private long _vias;
    private long _delivered;
    private long _outstanding;

    private SoakWorkload(EdgeRelayForwardTarget target, SoakSettings settings, ILoadConnection[] direct, ILoadConnection[] via)
    {
        _target = target;
        _settings = settings;
        _direct = direct;
        _via = via;
        _filler = new byte[settings.PayloadBytes];
        Random.Shared.NextBytes(_filler);
        _window = new SemaphoreSlim((direct.Length + via.Length) * settings.InFlight);
    }

    public Recorder SendLatency { get; } = LatencyHistograms.CreateRecorder();

    public Recorder ViaLatency { get; } = LatencyHistograms.CreateRecorder();

    public Recorder PushLatency { get; } = LatencyHistograms.CreateRecorder();

    public Recorder PullLatency { get; } = LatencyHistograms.CreateRecorder();

    public long Sends => Interlocked.Read(ref _sends);

    public long Vias => Interlocked.Read(ref _vias);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Errors by code since the workload started, receivers' included.</summary>
    public IReadOnlyDictionary<string, long> Errors => new SortedDictionary<string, long>(_errors, StringComparer.Ordinal);

    public long ErrorCount => _errors.Values.Sum();

    public static async Task<SoakWorkload> StartAsync(EdgeRelayForwardTarget target, SoakSettings settings, CancellationToken cancellationToken)
    {
        var receiving = target.Receiving;
        var direct = new ILoadConnection[settings.Connections];
        var via = new ILoadConnection[settings.ViaConnections];
        for (int i = 0; i < direct.Length; i++)
        {
            direct[i] = await receiving.ConnectAsync(i, cancellationToken);
        }

        for (int i = 0; i < via.Length; i++)
        {
            via[i] = await target.ConnectAsync(i, cancellationToken);
        }

        var workload = new SoakWorkload(target, settings, direct, via);
        try
        {
            // Even addresses are pushed to, odd ones pulled: both ways of receiving see the same traffic.
            var pushed = Enumerable.Range(0, settings.Addresses).Where(q => q % 2 == 0).ToArray();
            var pulled = Enumerable.Range(0, settings.Addresses).Where(q => q % 2 == 1).ToArray();
            foreach (var group in Deal(pushed, settings.PushConnections))
            {
                workload._receivers.Add(await receiving.StartPushReceiverAsync(group, new Sink(workload, workload.PushLatency), cancellationToken));
            }

            foreach (var group in Deal(pulled, settings.PullConnections))
            {
                workload._receivers.Add(await receiving.StartOwnerPullerAsync(group, settings.PullInterval, new Sink(workload, workload.PullLatency), cancellationToken));
            }
        }
        catch
        {
            await workload.DisposeAsync();
            throw;
        }

        return workload;
    }

    /// <summary>Open model: message k is due at start + k / rate, whatever the relays do; latency runs from then.</summary>
    public async Task RunOpenAsync(double rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var ticker = new SleepTicker();
        long start = Stopwatch.GetTimestamp();
        double ticksPerMessage = Stopwatch.Frequency / rate;
        long issued = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed >= duration)
            {
                break;
            }

            long due = (long)(elapsed.TotalSeconds * rate);
            for (; issued < due; issued++)
            {
                // A full window holds the schedule back; the wait is in the late sends' latency (from their intended time).
                await _window.WaitAsync(cancellationToken);
                _ = SendOneAsync(start + (long)(issued * ticksPerMessage), release: true, cancellationToken);
            }

            await ticker.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Closed model (calibration): every window slot sends again as soon as its last send is acknowledged.</summary>
    public Task RunClosedAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        int slots = (_direct.Length + _via.Length) * _settings.InFlight;
        return Task.WhenAll(Enumerable.Range(0, slots).Select(_ => Task.Run(
            async () =>
            {
                while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
                {
                    await SendOneAsync(Stopwatch.GetTimestamp(), release: false, cancellationToken);
                }
            },
            cancellationToken)));
    }

    /// <summary>Waits until every send issued has its answer, at most <paramref name="timeout"/>; false when some had none.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref _outstanding) > 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                _errors.AddOrUpdate(GeneratorErrors.DrainTimeout, Interlocked.Read(ref _outstanding), (_, n) => n + Interlocked.Read(ref _outstanding));
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }

        return true;
    }

    private async Task SendOneAsync(long origin, bool release, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _outstanding);
        bool forwarded = _via.Length > 0 && Random.Shared.NextDouble() < _settings.ViaShare;
        var connections = forwarded ? _via : _direct;
        var connection = connections[Random.Shared.Next(connections.Length)];
        int queue = Random.Shared.Next(_settings.Addresses);
        var buffer = ArrayPool<byte>.Shared.Rent(_settings.PayloadBytes);
        try
        {
            _filler.CopyTo(buffer, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, Marker);
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8), origin);
            await connection.SendAsync(queue, buffer.AsMemory(0, _settings.PayloadBytes), cancellationToken);
            long micros = LatencyHistograms.ToMicroseconds(Stopwatch.GetTimestamp() - origin, Stopwatch.Frequency);
            (forwarded ? ViaLatency : SendLatency).RecordValue(LatencyHistograms.Clamp(micros));
            if (forwarded)
            {
                Interlocked.Increment(ref _vias);
            }
            else
            {
                Interlocked.Increment(ref _sends);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Every failure is the run's result: counted by its code, and the soak fails on it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            CountError(_target.Classify(ex).Code);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _outstanding);
            if (release)
            {
                _window.Release();
            }
        }
    }

    private void CountError(string code) => _errors.AddOrUpdate(code, 1, (_, n) => n + 1);

    /// <summary>Queues dealt round-robin into <paramref name="groups"/> lists (fewer when there are fewer queues).</summary>
    internal static IEnumerable<int[]> Deal(int[] queues, int groups) =>
        Enumerable.Range(0, Math.Min(groups, queues.Length)).Select(g => queues.Where((_, i) => i % groups == g).ToArray());

    public async ValueTask DisposeAsync()
    {
        foreach (var receiver in _receivers)
        {
            await receiver.DisposeAsync();
        }

        foreach (var connection in _direct.Concat(_via))
        {
            await connection.DisposeAsync();
        }

        _window.Dispose();
    }

    /// <summary>A receiver's deliveries: the latency of marked payloads into its recorder, failures as errors.</summary>
    private sealed class Sink(SoakWorkload workload, Recorder latency) : IDeliverySink
    {
        public void OnDelivered(ReadOnlySpan<byte> payload)
        {
            if (payload.Length < HeaderBytes || BinaryPrimitives.ReadUInt64LittleEndian(payload) != Marker)
            {
                return;
            }

            long origin = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
            latency.RecordValue(LatencyHistograms.Clamp(LatencyHistograms.ToMicroseconds(Stopwatch.GetTimestamp() - origin, Stopwatch.Frequency)));
            Interlocked.Increment(ref workload._delivered);
        }

        public void OnReceiverFailed(Exception error) => workload.CountError("RECEIVER_" + workload._target.Classify(error).Code);
    }
}
