namespace EdgeRelay.Forwarding;

internal sealed partial class DestinationWorker
{
    // Release times (the batched sending mode, PROTOCOL.md 4.17): _ready is in release order (PendingSend.Order),
    // so what may go now is a prefix of it, and the first message not yet released says when to look again.

    /// <summary>Messages waiting for a release time still to come (batched ones), for metrics.</summary>
    public int CountHeld(long nowUnixMs)
    {
        lock (_sync)
        {
            return _ready.Keys.Count(k => k.ReleaseAtUnixMs > nowUnixMs);
        }
    }

    /// <summary>
    /// Takes a round (up to <see cref="ForwardingOptions.MaxInFlightPerDestination"/>) of the messages released at
    /// <paramref name="now"/>, in release order, out of <see cref="_ready"/>; null when none is. <paramref name="nextRelease"/>
    /// is the release time of the first message left waiting (null when none waits). Under <see cref="_sync"/>.
    /// </summary>
    private List<PendingSend>? TakeReleased(DateTimeOffset now, out DateTimeOffset? nextRelease)
    {
        nextRelease = null;
        List<PendingSend>? round = null;
        var nowUnixMs = now.ToUnixTimeMilliseconds();
        List<PendingSend>? gone = null;
        foreach (var send in _ready.Values)
        {
            if (!_engine.IsMine(send.Message.SendId))
            {
                (gone ??= []).Add(send); // another node of a shared queue settled it: nothing to send
                continue;
            }

            if (send.Message.ReleaseAtUnixMs > nowUnixMs)
            {
                nextRelease = DateTimeOffset.FromUnixTimeMilliseconds(send.Message.ReleaseAtUnixMs);
                break;
            }

            round ??= new List<PendingSend>(Math.Min(_ready.Count, Options.MaxInFlightPerDestination));
            round.Add(send);
            if (round.Count == Options.MaxInFlightPerDestination)
            {
                break;
            }
        }

        foreach (var send in (IEnumerable<PendingSend>?)round ?? [])
        {
            _ready.Remove(send.Order);
        }

        gone?.ForEach(send => _ready.Remove(send.Order));

        return round;
    }
}
