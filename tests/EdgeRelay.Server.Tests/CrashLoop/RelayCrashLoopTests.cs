using System.Diagnostics;
using System.Globalization;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Server.Tests.Forwarding;
using EdgeRelay.Testing;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.CrashLoop;

/// <summary>
/// The relay killed with SIGKILL again and again at random moments of a mixed load (SEND to several addresses,
/// PULL and ACK, a push subscription, SEND_VIA to a second relay), restarted on the same data folder each time;
/// at the end, after the last restart, everything is drained and checked against what the clients were told:
/// every SEND that got OK is delivered (at least once, always with its own content), no message whose ACK got
/// OK ever comes back, every SEND_VIA that got OK reaches the receiving relay's owner.
/// </summary>
/// <remarks>
/// The seed decides when each kill falls (in the variant that kills the receiving relay too, in every other
/// round, at a moment of its own before the sending relay's); it is printed, and <c>CRASHLOOP_SEED</c>
/// replays it. <c>CRASHLOOP_KILLS</c> sets the number of kills (3 by default, for CI; <c>crashloop.sh</c>
/// runs the long form). Neither starts with EDGERELAY_: the relays, started with this environment, would read
/// such a variable as configuration and refuse to start.
/// </remarks>
public sealed class RelayCrashLoopTests(ITestOutputHelper output) : IDisposable
{
    // Short back-offs, so that the sending relay finds the receiving one again within a second of its return.
    private static readonly string[] Sending = ["--Forwarding:InitialBackoff=00:00:00.100", "--Forwarding:MaxBackoff=00:00:00.500"];

    // Small pages and segments (256 KiB) so that a life of the relay crosses segment files, and no budget of
    // the defaults turns the test's pace into refusals: every SEND the clients make must be answered OK.
    private static readonly string[] Relay =
    [
        .. Sending, "--Limits:SendsPerSecondPerConnection=0", "--Relay:ResolveMissesPerSecond=1000000",
        "--Storage:PageSizeBits=16", "--Storage:MemorySizeBits=18", "--Storage:SegmentSizeBits=18",
    ];

    private static readonly string[] Receiver = ["--Relay:ResolveMissesPerSecond=1000000", "--Relay:AnonymousResolveMissesPerSecond=1000000"];

    private readonly TempDirectory _sender = new("edgerelay-crashloop-a");
    private readonly TempDirectory _receiver = new("edgerelay-crashloop-b");
    private readonly string _receiverEndpoint = ForwardingTests.UnusedEndpoint();

    public void Dispose()
    {
        _sender.Dispose();
        _receiver.Dispose();
    }

    [Theory]
    [InlineData(20261201, false)]
    [InlineData(20261202, true)]
    public async Task A_relay_killed_again_and_again_under_load_loses_no_acknowledged_send_and_returns_no_acknowledged_message(int defaultSeed, bool killReceiverToo)
    {
        var seed = Setting("CRASHLOOP_SEED") ?? defaultSeed;
        var kills = Setting("CRASHLOOP_KILLS") ?? 3;
        output.WriteLine($"seed {seed}, {kills} kills of the sending relay, receiving relay killed too: {killReceiverToo}");
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var ledger = new CrashLoopLedger();
        using var owner = new Owner();
        var token = await CreateRmTokenAsync();
        var receiver = await ServerProcess.StartAsync(_receiver.Path, [.. Receiver, "--Relay:Endpoint=" + _receiverEndpoint]);
        var receiverKills = 0;
        try
        {
            AddressCard receiverCard;
            await using (var onReceiver = await RelayClient.ConnectAsync(receiver.RelayEndPoint))
            {
                receiverCard = (await owner.CreateAddressAsync(onReceiver)).Card;
            }

            CrashLoopSetup? setup = null;
            for (var epoch = 0; epoch < kills; epoch++)
            {
                // Starting is itself a check of the previous kill: the relay refuses a log its verifier finds damaged.
                await using var relay = await ServerProcess.StartAsync(_sender.Path, Relay);
                setup ??= await CreateAddressesAsync(relay, owner, receiverCard, token);
                await using var clients = await CrashLoopClients.StartAsync(relay.RelayEndPoint, setup, ledger, epoch);

                // Some traffic of every kind first, then a moment drawn from the seed.
                var (sent, via, acked) = (ledger.SentCount, ledger.SentViaCount, ledger.AckedCount);
                await Eventually.TrueAsync(
                    () => ledger.Problems.Count > 0 || (ledger.SentCount >= sent + 20 && ledger.SentViaCount >= via + 3 && ledger.AckedCount > acked),
                    () => $"life {epoch} (seed {seed}): traffic of every kind before the kill ({ledger.SentCount - sent} sends, {ledger.SentViaCount - via} SEND_VIAs, {ledger.AckedCount - acked} ACKs so far)");
                var killAfter = TimeSpan.FromMilliseconds(random.Next(0, 1500));
                if (killReceiverToo && epoch % 2 == 0)
                {
                    var receiverKillAfter = TimeSpan.FromMilliseconds(random.Next(0, (int)killAfter.TotalMilliseconds + 1));
                    await Task.Delay(receiverKillAfter); // a kill moment, not a wait for anything
                    await receiver.KillAsync();
                    await receiver.DisposeAsync();
                    receiverKills++;
                    receiver = await ServerProcess.StartAsync(_receiver.Path, [.. Receiver, "--Relay:Endpoint=" + _receiverEndpoint]);
                    killAfter -= receiverKillAfter;
                }

                await Task.Delay(killAfter); // the kill moment
                clients.Killed();
                await relay.KillAsync();
                await clients.StopAsync();
                output.WriteLine($"kill {epoch + 1} at {clock.Elapsed.TotalSeconds:F1} s: {ledger.SentCount} sends, {ledger.AckedCount} ACKs, {ledger.SentViaCount} SEND_VIAs acknowledged so far");
            }

            await using (var relay = await ServerProcess.StartAsync(_sender.Path, Relay))
            {
                setup ??= await CreateAddressesAsync(relay, owner, receiverCard, token);
                await DrainSenderAsync(relay, setup, ledger);
                await DrainReceiverAsync(receiver, receiverCard, owner, ledger);
            }

            var summary = ledger.Summarise();
            output.WriteLine($"seed {seed}: {kills} kills of the sending relay, {receiverKills} of the receiving relay, {clock.Elapsed.TotalSeconds:F1} s; {summary}");
            Assert.Empty(ledger.Problems.Take(20));
            Assert.True(summary.Lost.Count == 0, $"seed {seed}: SENDs acknowledged and never delivered: {string.Join(", ", summary.Lost.Take(20))} ({summary})");
            Assert.True(summary.ViaLost.Count == 0, $"seed {seed}: SEND_VIAs acknowledged and never arrived: {string.Join(", ", summary.ViaLost.Take(20))} ({summary})");
            Assert.True(summary.Sent > 0 && summary.SentVia > 0 && summary.Acked > 0, $"seed {seed}: the load did not run ({summary})");
        }
        finally
        {
            await receiver.DisposeAsync();
        }
    }

    private static int? Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;

    private static async Task<CrashLoopSetup> CreateAddressesAsync(ServerProcess relay, Owner owner, AddressCard receiverCard, string token)
    {
        await using var client = await RelayClient.ConnectAsync(relay.RelayEndPoint);
        var cards = new List<AddressCard>
        {
            (await owner.CreateAddressAsync(client)).Card,
            (await owner.CreateAddressAsync(client)).Card,
            // One with an expiry, so that both kinds of long-term address are in the log the kills cut.
            (await owner.CreateAddressAsync(client, TimeSpan.FromDays(7))).Card,
        };
        return new CrashLoopSetup(cards, owner, receiverCard, token);
    }

    /// <summary>Pulls and acknowledges everything left on the sending relay's addresses, after the last restart.</summary>
    private static async Task DrainSenderAsync(ServerProcess relay, CrashLoopSetup setup, CrashLoopLedger ledger)
    {
        await using var client = await RelayClient.ConnectAsync(relay.RelayEndPoint);
        await client.AuthenticateAsync(setup.Cards.Select(c => (c.Aid, setup.Owner.Key)));
        for (var address = 0; address < setup.Cards.Count; address++)
        {
            await DrainAsync(client, setup.Cards[address].Aid, m => ledger.Delivered((byte)address, m, CrashLoopLedger.FinalEpoch, orderedAfterAcks: true));
        }
    }

    /// <summary>Collects, from the receiving relay, every SEND_VIA that got OK, as the sending relay forwards what it still holds.</summary>
    private static async Task DrainReceiverAsync(ServerProcess receiver, AddressCard card, Owner owner, CrashLoopLedger ledger)
    {
        await using var client = await RelayClient.ConnectAsync(receiver.RelayEndPoint);
        await client.AuthenticateAsync(card.Aid, owner.Key);
        await Eventually.TrueAsync(
            async () =>
            {
                await DrainAsync(client, card.Aid, ledger.ViaDelivered);
                return ledger.AllViaArrived();
            },
            "every acknowledged SEND_VIA to reach the receiving relay",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(100));
    }

    private static async Task DrainAsync(RelayClient client, AddressId aid, Action<ReceivedMessage> delivered)
    {
        while (true)
        {
            var batch = await client.PullAsync(aid, 500);
            if (batch.Messages.Count == 0)
            {
                return;
            }

            foreach (var message in batch.Messages)
            {
                delivered(message);
            }

            await client.AckAsync(aid, [.. batch.Messages.Select(m => m.Id)]);
        }
    }

    private async Task<string> CreateRmTokenAsync()
    {
        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "rm", "--Storage:DataDir=" + _sender.Path);
        Assert.True(code == 0, stderr);
        return stdout.Trim();
    }
}
