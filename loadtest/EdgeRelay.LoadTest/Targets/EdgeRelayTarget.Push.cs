using EdgeRelay.Client;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>Push delivery: SUBSCRIBE, then each DELIVER is handed to the sink, acked, and its credit granted back.</summary>
internal sealed partial class EdgeRelayTarget : IPushDelivery
{
    /// <summary>
    /// Credit each receiver keeps granted: the relay's default cap. Enough to cover a commit's worth of
    /// messages per queue at full speed, so push is never waiting for credit in a throughput run.
    /// </summary>
    private const int PushCredit = 1024;

    private const int MaxAckIds = EdgeRelay.Protocol.ProtocolLimits.MaxAckIds;

    public async Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var client = await ConnectOwnerAsync(queue, cancellationToken);
        try
        {
            var subscription = await client.SubscribeAsync(_addressIds[queue], PushCredit, cancellationToken);
            return new PushReceiver(client, subscription, sink);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Hands messages to the sink as each DELIVER is read, then acks them (which returns their credit).</summary>
    private sealed class PushReceiver : IAsyncDisposable
    {
        private readonly RelayClient _client;
        private readonly PushSubscription _subscription;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public PushReceiver(RelayClient client, PushSubscription subscription, IDeliverySink sink)
        {
            _client = client;
            _subscription = subscription;
            _loop = Task.Run(() => ReceiveAsync(sink));
        }

        /// <summary>
        /// Takes every DELIVER already read, hands the messages over, and acks them in one ACK (up to the
        /// protocol's 1024 ids): a receiver that acked each frame separately would be bound by ACK round
        /// trips, not by the relay.
        /// </summary>
        private async Task ReceiveAsync(IDeliverySink sink)
        {
            var stop = _stop.Token;
            var ids = new List<long>(MaxAckIds);
            var deliveries = _subscription.Deliveries;
            try
            {
                while (await deliveries.WaitToReadAsync(stop))
                {
                    while (ids.Count < MaxAckIds - 256 && deliveries.TryRead(out var batch))
                    {
                        foreach (var message in batch)
                        {
                            ids.Add(message.Id);
                            sink.OnDelivered(message.Ciphertext.Span);
                        }
                    }

                    await _subscription.AckAsync(ids.ToArray(), stop);
                    ids.Clear();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (RelayException) when (stop.IsCancellationRequested)
            {
                // The connection is being closed by DisposeAsync.
            }
#pragma warning disable CA1031 // The failure is handed to the sink, which fails the sends waiting on this receiver.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                sink.OnReceiverFailed(ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await _client.DisposeAsync();
            _stop.Dispose();
        }
    }
}
