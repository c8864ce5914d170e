using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// Forwarding between two real relay processes on loopback (A sends, B receives): B stopped and back, and A
/// killed with SIGKILL while its queue holds unsent messages. B keeps one port across its restarts, as a relay
/// keeps the endpoint its cards name.
/// </summary>
public sealed class ForwardingProcessTests : IDisposable
{
    // Short back-offs, so that A finds B again within a second of its return.
    private static readonly string[] FastRetries = ["--Forwarding:InitialBackoff=00:00:00.100", "--Forwarding:MaxBackoff=00:00:00.500"];

    private readonly TempDirectory _a = new("edgerelay-fwd-a");
    private readonly TempDirectory _b = new("edgerelay-fwd-b");
    private readonly string _bEndpoint = ForwardingTests.UnusedEndpoint();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task Through_A_to_B_and_with_B_stopped_everything_queued_arrives_once_when_B_returns()
    {
        using var owner = new Owner();
        var token = await CreateRmTokenAsync();
        AddressCard card;
        var b = await StartBAsync();
        try
        {
            await using var onB = await RelayClient.ConnectAsync(b.RelayEndPoint);
            card = (await owner.CreateAddressAsync(onB)).Card;
            Assert.Equal(_bEndpoint, card.Endpoint);
            await using var a = await ServerProcess.StartAsync(_a.Path, FastRetries);
            await using var rm = await ConnectRmAsync(a, token);
            var pushes = await rm.WatchSendsAsync();

            // B up: the RM sends through A, the owner pulls from B.
            var first = await rm.SendViaAsync(card, BitConverter.GetBytes(-1));
            Assert.Equal(SendStateKind.Queued, first.State);
            Assert.Equal(new SendState(first.SendId, SendStateKind.Delivered, Protocol.ErrorCode.None), await pushes.ReadAsync(Eventually.Deadline()));
            await onB.AuthenticateAsync(card.Aid, owner.Key);
            Assert.Equal([-1], await Drain.AllAsync(onB, card.Aid));

            // B stopped: A still accepts, and queues.
            Assert.Equal(0, await b.TerminateAsync());
            await b.DisposeAsync();
            var sent = new Dictionary<long, int>();
            for (var i = 0; i < 50; i++)
            {
                var state = await rm.SendViaAsync(card, BitConverter.GetBytes(i));
                Assert.Equal(SendStateKind.Queued, state.State);
                sent.Add(state.SendId, i);
            }

            Assert.All(await rm.GetSendStatesAsync(sent.Keys), s => Assert.Equal(SendStateKind.Queued, s.State));

            // B back on its endpoint: every queued message is delivered, and its sender told.
            b = await StartBAsync();
            var told = new HashSet<long>();
            while (told.Count < sent.Count)
            {
                var state = await pushes.ReadAsync(Eventually.Deadline(TimeSpan.FromSeconds(60)));
                Assert.Equal(SendStateKind.Delivered, state.State);
                Assert.True(told.Add(state.SendId), $"send {state.SendId} was reported twice");
            }

            Assert.Equal(sent.Keys.Order(), told.Order());
            await using var again = await RelayClient.ConnectAsync(b.RelayEndPoint);
            await again.AuthenticateAsync(card.Aid, owner.Key);
            var received = await Drain.AllAsync(again, card.Aid);
            Assert.Equal(Enumerable.Range(0, 50), received.Order()); // nothing lost, nothing twice
        }
        finally
        {
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_SIGKILL_of_A_loses_no_message_it_acknowledged()
    {
        using var owner = new Owner();
        var token = await CreateRmTokenAsync();
        AddressCard card;
        await using (var b = await StartBAsync())
        {
            await using var onB = await RelayClient.ConnectAsync(b.RelayEndPoint);
            card = (await owner.CreateAddressAsync(onB)).Card;
            Assert.Equal(0, await b.TerminateAsync());
        }

        var acknowledged = new HashSet<int>();
        await using (var a = await ServerProcess.StartAsync(_a.Path, FastRetries))
        {
            await using var rm = await ConnectRmAsync(a, token);
            var sends = Enumerable.Range(0, 200).Select(async i =>
            {
                var state = await rm.SendViaAsync(card, BitConverter.GetBytes(i));
                Assert.Equal(SendStateKind.Queued, state.State);
                return i;
            });
            acknowledged.UnionWith(await Task.WhenAll(sends));
            await a.KillAsync(); // B is down: all 200 are queued, unsent
        }

        await using (var b = await StartBAsync())
        await using (var a = await ServerProcess.StartAsync(_a.Path, FastRetries))
        {
            await using var onB = await RelayClient.ConnectAsync(b.RelayEndPoint);
            await onB.AuthenticateAsync(card.Aid, owner.Key);
            var received = new List<int>();
            await Eventually.TrueAsync(
                async () =>
                {
                    received.AddRange(await Drain.AllAsync(onB, card.Aid));
                    return received.Count >= acknowledged.Count;
                },
                "every acknowledged message to reach B after A's restart",
                TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(100));

            Assert.Equal(acknowledged.Order(), received.Order()); // none lost, none twice
        }
    }

    [Fact]
    public async Task A_batched_message_acknowledged_before_a_SIGKILL_of_A_reaches_B_once_and_not_before_its_release_time()
    {
        using var owner = new Owner();
        var token = await CreateRmTokenAsync();
        string[] batched = ["--Sending:BatchedDelay=00:00:10"];
        await using var b = await StartBAsync();
        await using var onB = await RelayClient.ConnectAsync(b.RelayEndPoint);
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await onB.AuthenticateAsync(card.Aid, owner.Key);

        long sentAt;
        await using (var a = await ServerProcess.StartAsync(_a.Path, batched))
        {
            await using var rm = await ConnectRmAsync(a, token);
            sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var state = await rm.SendViaAsync(card, BitConverter.GetBytes(7), Protocol.SendingMode.Batched);
            Assert.Equal(SendStateKind.Queued, state.State);
            await a.KillAsync(); // well within the 10 s the message is held for, on any machine that runs this test at all
        }

        // A queued it after sentAt, so its release time is at least the first 10-second boundary after sentAt:
        // a restart that forgot the release time would let it reach B as soon as A is back.
        var releasedNoSoonerThan = sentAt - (sentAt % 10_000) + 10_000;
        await using (var a = await ServerProcess.StartAsync(_a.Path, batched))
        {
            var pulled = new List<ReceivedMessage>();
            await Eventually.TrueAsync(
                async () =>
                {
                    pulled = [.. (await onB.PullAsync(card.Aid)).Messages];
                    return pulled.Count > 0;
                },
                "the batched message to reach B after A's restart",
                TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(100));

            var message = Assert.Single(pulled);
            Assert.Equal(7, BitConverter.ToInt32(message.Ciphertext.Span));
            Assert.True(message.ReceivedAt.ToUnixTimeMilliseconds() >= releasedNoSoonerThan, $"B stored it at {message.ReceivedAt:O}, before its release time {DateTimeOffset.FromUnixTimeMilliseconds(releasedNoSoonerThan):O}");
        }
    }

    private Task<ServerProcess> StartBAsync() => ServerProcess.StartAsync(_b.Path, "--Relay:Endpoint=" + _bEndpoint);

    private async Task<string> CreateRmTokenAsync()
    {
        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "rm", "--Storage:DataDir=" + _a.Path);
        Assert.True(code == 0, stderr);
        return stdout.Trim();
    }

    private static async Task<RelayClient> ConnectRmAsync(ServerProcess relay, string token)
    {
        var client = await RelayClient.ConnectAsync(relay.RelayEndPoint);
        await client.AuthenticateTokenAsync(token);
        return client;
    }
}
