namespace EdgeRelay.Storage.Faster;

/// <summary>
/// <see cref="IDurability"/> for one FASTER log behind its <see cref="StoreGate"/>: the message store and the
/// outbound queue each own a log, a committer and a gate, and answer for their tickets the same way.
/// </summary>
/// <remarks>
/// Each call enters the gate, so none reaches a log being closed. <c>IsDurable</c> stays in each store: it is
/// a field read on the reply path and needs no gate.
/// </remarks>
internal sealed class LogDurability(StoreGate gate, LogWriter log, GroupCommitter committer)
{
    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct)
    {
        gate.Enter();
        try
        {
            return log.WaitForCommitAsync(ticket.Position, ct);
        }
        finally
        {
            gate.Exit();
        }
    }

    public void RequestFlush()
    {
        gate.Enter();
        try
        {
            committer.Request();
        }
        finally
        {
            gate.Exit();
        }
    }

    public Task FlushAsync()
    {
        gate.Enter();
        try
        {
            return committer.CommitAsync();
        }
        finally
        {
            gate.Exit();
        }
    }
}
