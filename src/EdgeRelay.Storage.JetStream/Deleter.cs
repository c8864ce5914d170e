using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// Deletes acknowledged and purged messages from their stream, after the record that removed them is durable,
/// to give the space back. Best effort and off every request's path: what it misses (a node that stopped first)
/// is still gone for every reader, because the removing record is in the stream, and the stream's age limit
/// reclaims it in the end.
/// </summary>
internal sealed class Deleter : IDisposable
{
    private readonly INatsJSContext _js;
    private readonly JetStreamStorageOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<(string Stream, ulong Seq, ulong Then)> _queue = Channel.CreateUnbounded<(string, ulong, ulong)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public Deleter(INatsJSContext js, JetStreamStorageOptions options, ILogger logger)
    {
        _js = js;
        _options = options;
        _logger = logger;
    }

    public void Start() => _loop = Task.Run(RunAsync);

    public void Delete(int partition, ulong seq) => Delete(_options.MessageStream(partition), seq);

    public void Delete(string stream, ulong seq) => _queue.Writer.TryWrite((stream, seq, 0));

    /// <summary>
    /// Deletes <paramref name="first"/>, then <paramref name="then"/> only once the first is gone (deleted now or before):
    /// for a record that keeps the first one's meaning (a settle record, over its queued record) while the first remains.
    /// </summary>
    public void DeleteThen(string stream, ulong first, ulong then) => _queue.Writer.TryWrite((stream, first, then));

    /// <summary>Stops at once: deletes still queued are dropped (see the class remarks for why that loses nothing).</summary>
    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync()
    {
        try
        {
            await foreach (var (stream, seq, then) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                if (await TryDeleteAsync(stream, seq).ConfigureAwait(false) && then != 0)
                {
                    await TryDeleteAsync(stream, then).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>True when the record is gone: deleted now, or before (another node's delete, the age limit).</summary>
    private async Task<bool> TryDeleteAsync(string stream, ulong seq)
    {
        try
        {
            await _js.DeleteMessageAsync(stream, new StreamMsgDeleteRequest { Seq = seq, NoErase = true }, _stop.Token).ConfigureAwait(false);
            return true;
        }
        catch (NatsJSApiException ex)
        {
            // The cluster answered and refused: no message at that sequence (deleted before; JetStream words it as a
            // failed delete, 10057, or no message found, 10037), or no such stream.
            JetStreamLog.DeleteFailed(_logger, seq, stream, ex);
            return true;
        }
        catch (Exception ex) when (ex is NATS.Client.Core.NatsException or ObjectDisposedException)
        {
            // The cluster is away: the record that removed the message keeps it removed for every reader either way.
            JetStreamLog.DeleteFailed(_logger, seq, stream, ex);
            return false;
        }
    }
}
