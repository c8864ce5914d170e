using System.Net;
using EdgeRelay.Addressing;
using EdgeRelay.Client;

namespace EdgeRelay.Server.Tests.CrashLoop;

/// <summary>The addresses and credentials a crash loop's clients use in every life of the relay.</summary>
/// <param name="Cards">The relay's addresses, by index: 0 pulled and acknowledged, 1 pushed and acknowledged, 2 read only at the end.</param>
/// <param name="Owner">Owner of every address, on both relays.</param>
/// <param name="ReceiverCard">The receiving relay's address that SEND_VIA is addressed to.</param>
/// <param name="Token">An RM token of the sending relay.</param>
internal sealed record CrashLoopSetup(IReadOnlyList<AddressCard> Cards, Owner Owner, AddressCard ReceiverCard, string Token)
{
    public const byte Pulled = 0;
    public const byte Pushed = 1;
    public const byte Unread = 2;
}

/// <summary>
/// The clients of one life of the relay, all at once: senders (to every address, with fresh and reused
/// ephemeral addresses), an owner pulling and acknowledging, an owner holding a push subscription, and an RM
/// sending through the relay to another. Every OK is written to the ledger as it arrives; once told the relay
/// is being killed, a failed request is simply one the relay never answered.
/// </summary>
internal sealed class CrashLoopClients : IAsyncDisposable
{
    private const int SenderConnections = 3;
    private const int SendsInFlightPerConnection = 4;
    private const int ViaInFlight = 3;

    private readonly CrashLoopSetup _setup;
    private readonly CrashLoopLedger _ledger;
    private readonly int _epoch;
    private readonly List<RelayClient> _connections = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private int _killed;

    private CrashLoopClients(CrashLoopSetup setup, CrashLoopLedger ledger, int epoch)
    {
        _setup = setup;
        _ledger = ledger;
        _epoch = epoch;
    }

    public static async Task<CrashLoopClients> StartAsync(IPEndPoint relay, CrashLoopSetup setup, CrashLoopLedger ledger, int epoch)
    {
        var clients = new CrashLoopClients(setup, ledger, epoch);
        try
        {
            for (var c = 0; c < SenderConnections; c++)
            {
                var sender = await clients.ConnectAsync(relay);
                for (var i = 0; i < SendsInFlightPerConnection; i++)
                {
                    clients.Run(() => clients.SendLoopAsync(sender));
                }
            }

            var puller = await clients.ConnectAsync(relay);
            await puller.AuthenticateAsync(setup.Cards[CrashLoopSetup.Pulled].Aid, setup.Owner.Key);
            clients.Run(() => clients.PullLoopAsync(puller));

            var pushed = await clients.ConnectAsync(relay);
            await pushed.AuthenticateAsync(setup.Cards[CrashLoopSetup.Pushed].Aid, setup.Owner.Key);
            var subscription = await pushed.SubscribeAsync(setup.Cards[CrashLoopSetup.Pushed].Aid, 64);
            clients.Run(() => clients.PushLoopAsync(subscription));

            var rm = await clients.ConnectAsync(relay);
            await rm.AuthenticateTokenAsync(setup.Token);
            for (var i = 0; i < ViaInFlight; i++)
            {
                clients.Run(() => clients.SendViaLoopAsync(rm));
            }

            return clients;
        }
        catch
        {
            await clients.DisposeAsync();
            throw;
        }
    }

    /// <summary>Called just before the relay is killed: from now on, a failed request is one the relay never answered.</summary>
    public void Killed() => Volatile.Write(ref _killed, 1);

    /// <summary>After the kill: every loop ends (a loop that failed before it fails the test here).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Testing.Eventually.Within(Task.WhenAll(_loops), "every client loop to end once the relay was killed");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        _stop.Dispose();
    }

    private async Task<RelayClient> ConnectAsync(IPEndPoint relay)
    {
        var client = await RelayClient.ConnectAsync(relay);
        _connections.Add(client);
        return client;
    }

    private void Run(Func<Task> loop) =>
        _loops.Add(Task.Run(async () =>
        {
            try
            {
                await loop();
            }
            catch (Exception) when (Volatile.Read(ref _killed) == 1)
            {
                // The relay died under this request: it was never answered, so nothing was promised.
            }
        }));

    private async Task SendLoopAsync(RelayClient sender)
    {
        var random = new Random(Random.Shared.Next());
        var reused = _setup.Cards.Select(card => RelayClient.DeriveEphemeralAddress(card)).ToArray();
        while (!_stop.IsCancellationRequested)
        {
            var address = (byte)random.Next(_setup.Cards.Count);
            // One send in three with an ephemeral address never seen (a resolution miss), the others with one the
            // relay has cached.
            var ephemeral = random.Next(3) == 0 ? RelayClient.DeriveEphemeralAddress(_setup.Cards[address]) : reused[address];
            var sequence = _ledger.NextSequence();
            await sender.SendAsync(ephemeral, Payload.Make(sequence, address));
            _ledger.Sent(sequence, address);
        }
    }

    private async Task PullLoopAsync(RelayClient owner)
    {
        var aid = _setup.Cards[CrashLoopSetup.Pulled].Aid;
        var random = new Random(Random.Shared.Next());
        while (!_stop.IsCancellationRequested)
        {
            var batch = await owner.PullAsync(aid, 50);
            if (batch.Messages.Count == 0)
            {
                await Task.Delay(20); // nothing pending yet: ask again soon
                continue;
            }

            foreach (var message in batch.Messages)
            {
                _ledger.Delivered(CrashLoopSetup.Pulled, message, _epoch, orderedAfterAcks: true);
            }

            // Two ACKs of a random split, so that a kill can also fall between the halves of what one PULL gave.
            var ids = batch.Messages.Select(m => m.Id).ToArray();
            var split = random.Next(ids.Length + 1);
            foreach (var part in new[] { ids[..split], ids[split..] }.Where(p => p.Length > 0))
            {
                await owner.AckAsync(aid, part);
                _ledger.Acked(CrashLoopSetup.Pulled, part, _epoch);
            }
        }
    }

    private async Task PushLoopAsync(PushSubscription subscription)
    {
        await foreach (var delivered in subscription.Deliveries.ReadAllAsync(_stop.Token))
        {
            foreach (var message in delivered)
            {
                _ledger.Delivered(CrashLoopSetup.Pushed, message, _epoch, orderedAfterAcks: false);
            }

            var ids = delivered.Select(m => m.Id).ToArray();
            await subscription.AckAsync(ids);
            _ledger.Acked(CrashLoopSetup.Pushed, ids, _epoch);
        }
    }

    private async Task SendViaLoopAsync(RelayClient rm)
    {
        while (!_stop.IsCancellationRequested)
        {
            var sequence = _ledger.NextSequence();
            var state = await rm.SendViaAsync(_setup.ReceiverCard, Payload.Make(sequence, CrashLoopLedger.ViaTarget));
            if (state.State is not (SendStateKind.Queued or SendStateKind.Delivered))
            {
                _ledger.Problem($"SEND_VIA of {sequence} answered {state.State} ({state.Code})");
                continue;
            }

            _ledger.SentVia(sequence);
        }
    }
}
