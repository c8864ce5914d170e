using System.Diagnostics;
using System.Net;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using HdrHistogram;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>The bystander's SENDs in one phase: how many, their latencies (µs), and every error by name.</summary>
internal sealed record BystanderPhase(long Sends, TimeSpan Elapsed, HistogramBase Latency, IReadOnlyDictionary<string, long> Errors)
{
    public double PerSecond => Elapsed > TimeSpan.Zero ? Sends / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// An honest sender sharing the relay with a flood: one connection, one SEND in flight (closed loop), always to
/// the same ephemeral address derived before the run, so every SEND is a resolution-cache hit and the figure is
/// the relay's service to a client it already knows. It must see no error at all, flood or not.
/// </summary>
internal sealed class Bystander(IPEndPoint relay, ReadOnlyMemory<byte> ephemeralAddress, int payloadBytes) : IAsyncDisposable
{
    private readonly byte[] _payload = new byte[payloadBytes];
    private RelayClient? _client;

    /// <summary>SENDs back to back for <paramref name="duration"/>; a lost connection is an error, then opened again.</summary>
    public async Task<BystanderPhase> RunAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var histogram = LatencyHistograms.Create();
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        long sends = 0;
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long now = start;
        while (now < end)
        {
            try
            {
                _client ??= await RelayClient.ConnectAsync(relay, new RelayClientOptions { MaxInFlight = 1 }, cancellationToken);
                await _client.SendAsync(ephemeralAddress, _payload, cancellationToken);
                long done = Stopwatch.GetTimestamp();
                histogram.RecordValue(LatencyHistograms.Clamp(LatencyHistograms.ToMicroseconds(done - now, Stopwatch.Frequency)));
                sends++;
                now = done;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is RelayException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or TimeoutException or OperationCanceledException)
            {
                var error = RelayClientConnection.Classify(ex);
                errors[error.Code] = errors.GetValueOrDefault(error.Code) + 1;
                if (error.ConnectionLost && _client is not null)
                {
                    await _client.DisposeAsync();
                    _client = null;
                }

                now = Stopwatch.GetTimestamp();
            }
        }

        return new BystanderPhase(sends, Stopwatch.GetElapsedTime(start, now), histogram, errors);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
    }
}
