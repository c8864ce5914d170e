using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding;

internal sealed partial class DestinationWorker
{
    // What leaves the destination's queue: a round's settle finishing behind the next round, messages past their maximum age.

    /// <summary>Waits for the outstanding settle; if it failed, puts back what it left queued and rethrows (the caller backs off).</summary>
    private async Task AwaitSettlingAsync()
    {
        var settling = _settling;
        var outcomes = _settlingOutcomes;
        _settling = Task.CompletedTask;
        _settlingOutcomes = null;
        try
        {
            await settling;
        }
        catch when (outcomes is not null)
        {
            Requeue(outcomes.Select(o => o.Send).Where(s => _engine.IsStillQueued(s.Message.SendId)).ToList(), count: false);
            throw;
        }
    }

    /// <summary>On the way out: lets the outstanding settle finish; one that fails leaves its messages queued in the store for the next start.</summary>
    private async Task StopSettlingAsync()
    {
        try
        {
            await AwaitSettlingAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ForwardingLog.WorkerFaulted(_engine.Logger, ex, _destination.Endpoint);
        }
    }

    private async Task ExpireAsync(DateTimeOffset now)
    {
        var limit = now.Subtract(Options.MaxAge).ToUnixTimeMilliseconds();
        List<(PendingSend, OutboundState, ushort)>? expired = null;
        lock (_sync)
        {
            if (_oldestQueuedAtUnixMs > limit)
            {
                return; // nothing can have expired: no scan of the backlog
            }

            var oldest = long.MaxValue;
            foreach (var send in _ready.Values)
            {
                if (send.Message.QueuedAtUnixMs <= limit)
                {
                    (expired ??= []).Add((send, OutboundState.Failed, ForwardingEngine.UndeliverableCode));
                }
                else
                {
                    oldest = Math.Min(oldest, send.Message.QueuedAtUnixMs);
                }
            }

            _oldestQueuedAtUnixMs = oldest;

            if (expired is not null)
            {
                foreach (var (send, _, _) in expired)
                {
                    _ready.Remove(send.Order);
                }
            }
        }

        if (expired is not null)
        {
            await _engine.SettleAsync(expired, _destination.Endpoint);
        }
    }

    /// <summary>When the oldest queued message reaches its maximum age (or earlier, if it has since been sent: a wake-up that finds nothing). Under <see cref="_sync"/>.</summary>
    private DateTimeOffset OldestDeadline() => DateTimeOffset.FromUnixTimeMilliseconds(_oldestQueuedAtUnixMs).Add(Options.MaxAge);
}
