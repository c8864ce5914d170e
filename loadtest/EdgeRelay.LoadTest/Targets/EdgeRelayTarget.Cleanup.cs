using EdgeRelay.Client;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// What a run leaves on a relay it did not start (<c>--endpoint</c>): its addresses and whatever is still pending
/// at them. A relay the run started is deleted with its data folder, so only that case is cleaned up.
/// </summary>
internal sealed partial class EdgeRelayTarget : ICleansUpAfterRun
{
    /// <summary>Owner connections draining at once: enough to keep the relay's commits full, few enough to share it.</summary>
    private const int CleanupConnections = 8;

    public async Task<string?> CleanUpAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        if (settings.Endpoint is null || _endPoint is null || _addressIds.Length == 0)
        {
            return null;
        }

        if (settings.Keep)
        {
            return FormattableString.Invariant(
                $"--keep: the run's {_addressIds.Length:N0} address(es) and their pending messages stay at {settings.Endpoint}; their owner key is discarded, so they are removed only when they expire, in {AddressLifetime.TotalHours:0} h");
        }

        log(FormattableString.Invariant($"{Description}: cleaning up: revoking {_addressIds.Length:N0} address(es) and acknowledging what is pending at them (--keep leaves them)"));
        long acked = 0;
        int revoked = 0;
        var next = -1;
        var workers = new Task[Math.Min(CleanupConnections, _addressIds.Length)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(
                async () =>
                {
                    await using var client = await RelayClient.ConnectAsync(_endPoint, new RelayClientOptions { MaxInFlight = 4 }, cancellationToken);
                    int queue;
                    while ((queue = Interlocked.Increment(ref next)) < _addressIds.Length)
                    {
                        var address = _addressIds[queue];

                        // Revoke before draining, so that a sender still running elsewhere cannot refill what is
                        // being emptied; the owner may still pull and acknowledge what a revoked address holds.
                        await client.AuthenticateAsync(address, _owner, cancellationToken);
                        await client.RevokeAddressAsync(address, _owner, cancellationToken);
                        Interlocked.Increment(ref revoked);
                        int taken;
                        while ((taken = await TakeAsync(client, address, client.ServerInfo.MaxPullCount, sink: null, cancellationToken)) > 0)
                        {
                            Interlocked.Add(ref acked, taken);
                        }
                    }
                },
                cancellationToken);
        }

        await Task.WhenAll(workers);
        return FormattableString.Invariant($"cleaned up: {revoked:N0} address(es) revoked, {acked:N0} pending message(s) acknowledged and removed");
    }
}
