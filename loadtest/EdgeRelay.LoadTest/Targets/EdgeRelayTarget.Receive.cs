using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The relay's receivers: connections that AUTH for one address with its owner key, then PULL and ACK. PULL
/// answers at once, empty or not, so a polling receiver waits about a millisecond after an empty answer.
/// </summary>
internal sealed partial class EdgeRelayTarget : IPullTarget, IPollDelivery
{
    /// <summary>Owner of every address the run creates: throwaway, but kept for the receivers' AUTH.</summary>
    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);

    private AddressId[] _addressIds = [];
    private SleepTicker? _pollTicker;

    /// <summary>
    /// Planning figure for the default prefill: 8 connections draining 1 KiB messages by PULL + ACK of 256 ran
    /// at ~240 k/s on a 2-core machine, the relay in its own process (this tool, <c>run --scenario pull</c>,
    /// docs/PERFORMANCE.md); the prefill is capped at 1 GiB of payload whatever this says.
    /// </summary>
    public double PullRateEstimate => 240_000;

    public async Task<IPullConnection> ConnectPullerAsync(int queue, CancellationToken cancellationToken) =>
        new Puller(await ConnectOwnerAsync(queue, cancellationToken), _addressIds[queue]);

    public async Task<IAsyncDisposable> StartPollingReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var client = await ConnectOwnerAsync(queue, cancellationToken);
        _pollTicker ??= new SleepTicker();
        return new PollingReceiver(client, _addressIds[queue], sink, _pollTicker);
    }

    /// <summary>
    /// An owner that holds many addresses on one connection (one AUTH for all) and drains them every
    /// <paramref name="interval"/>: a PULL per address, all in flight together, then one ACK per non-empty
    /// batch, until disposed. What the soak's pulling owners do; a client checking in now and then, not a poller.
    /// </summary>
    internal async Task<IAsyncDisposable> StartOwnerPullerAsync(IReadOnlyList<int> queues, TimeSpan interval, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var client = await RelayClient.ConnectAsync(NextReceiverNode(), new RelayClientOptions { MaxInFlight = 256 }, cancellationToken);
        try
        {
            var addresses = queues.Select(q => _addressIds[q]).ToArray();
            await client.AuthenticateAsync(addresses.Select(a => (a, _owner)), cancellationToken);
            return new OwnerPuller(client, addresses, interval, sink);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private async Task<RelayClient> ConnectOwnerAsync(int queue, CancellationToken cancellationToken)
    {
        var client = await RelayClient.ConnectAsync(NextReceiverNode(), new RelayClientOptions { MaxInFlight = 4 }, cancellationToken);
        try
        {
            await client.AuthenticateAsync(_addressIds[queue], _owner, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes and acknowledges up to a batch; the ACK reply means the relay has durably removed them.</summary>
    private static async ValueTask<int> TakeAsync(RelayClient client, AddressId address, int maxCount, IDeliverySink? sink, CancellationToken cancellationToken)
    {
        var batch = await client.PullAsync(address, Math.Clamp(maxCount, 1, client.ServerInfo.MaxPullCount), cancellationToken);
        var messages = batch.Messages;
        if (messages.Count == 0)
        {
            return 0;
        }

        var ids = new long[messages.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = messages[i].Id;
            sink?.OnDelivered(messages[i].Ciphertext.Span);
        }

        await client.AckAsync(address, ids, cancellationToken);
        return ids.Length;
    }

    private sealed class Puller(RelayClient client, AddressId address) : IPullConnection
    {
        public ValueTask<int> PullBatchAsync(int maxCount, CancellationToken cancellationToken) =>
            TakeAsync(client, address, maxCount, sink: null, cancellationToken);

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }

    private sealed class OwnerPuller : IAsyncDisposable
    {
        private readonly RelayClient _client;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public OwnerPuller(RelayClient client, AddressId[] addresses, TimeSpan interval, IDeliverySink sink)
        {
            _client = client;
            _loop = Task.Run(() => DrainAsync(addresses, interval, sink));
        }

        private async Task DrainAsync(AddressId[] addresses, TimeSpan interval, IDeliverySink sink)
        {
            var stop = _stop.Token;
            var takes = new Task<int>[addresses.Length];
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    for (int i = 0; i < addresses.Length; i++)
                    {
                        takes[i] = TakeAsync(_client, addresses[i], _client.ServerInfo.MaxPullCount, sink, stop).AsTask();
                    }

                    await Task.WhenAll(takes);
                    await Task.Delay(interval, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // The failure is handed to the sink, which counts it as the run's error.
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

    /// <summary>Polls until disposed. Messages reach the sink as soon as the PULL reply is read, before the ACK.</summary>
    private sealed class PollingReceiver : IAsyncDisposable
    {
        private readonly RelayClient _client;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public PollingReceiver(RelayClient client, AddressId address, IDeliverySink sink, SleepTicker ticker)
        {
            _client = client;
            _loop = Task.Run(() => PollAsync(address, sink, ticker));
        }

        private async Task PollAsync(AddressId address, IDeliverySink sink, SleepTicker ticker)
        {
            var stop = _stop.Token;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    int count = await TakeAsync(_client, address, _client.ServerInfo.MaxPullCount, sink, stop);
                    if (count == 0)
                    {
                        await ticker.WaitAsync(stop);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
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
