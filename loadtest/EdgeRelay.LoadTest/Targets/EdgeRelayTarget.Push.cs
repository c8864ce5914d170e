namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// Push delivery: SUBSCRIBE, then each DELIVER is handed to the sink, acked, and its credit granted back, by the
/// generator's own lean receiver (<see cref="PushReceiver"/>); one connection subscribes to many addresses.
/// </summary>
internal sealed partial class EdgeRelayTarget : IPushGroupDelivery
{
    // Immediate unless the run asked for a batching window (--push-window): each receiver sets it before it subscribes.
    private DeliveryPolicy _pushPolicy = DeliveryPolicy.Immediate;

    public Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken) =>
        StartPushReceiverAsync([queue], sink, cancellationToken);

    public async Task<IAsyncDisposable> StartPushReceiverAsync(IReadOnlyList<int> queues, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var addresses = new AddressId[queues.Count];
        for (var i = 0; i < addresses.Length; i++)
        {
            addresses[i] = _addressIds[queues[i]];
        }

        return await PushReceiver.StartAsync(NextReceiverNode(), _owner, addresses, _pushPolicy, sink, cancellationToken);
    }
}
