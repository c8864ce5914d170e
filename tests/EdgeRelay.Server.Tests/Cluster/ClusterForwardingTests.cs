using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Server.Tests.Forwarding;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// The sending service on a cluster: two relay processes share the outbound queue on JetStream, forwarding to a
/// third relay (D, on its own FASTER log). A SEND_VIA is forwarded once, by the node that took it, and its state is
/// known on both; when that node is killed with messages queued, the other adopts and forwards every one it had
/// acknowledged.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterForwardingTests(NatsClusterFixture fixture) : IClassFixture<NatsClusterFixture>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new("edgerelay-cluster-fwd");
    private readonly string _destination = ForwardingTests.UnusedEndpoint();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Each_SEND_VIA_is_forwarded_once_by_the_node_that_took_it_and_both_nodes_know_its_state()
    {
        var (args, token) = await ClusterAsync();
        using var owner = new Owner();
        await using var d = await StartDestinationAsync();
        AddressCard card;
        await using (var onD = await RelayClient.ConnectAsync(d.RelayEndPoint))
        {
            card = (await owner.CreateAddressAsync(onD)).Card;
        }

        await using var a = await ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("a")).FullName, args);
        await using var b = await ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("b")).FullName, args);
        await using var rmA = await ConnectRmAsync(a, token);
        await using var rmB = await ConnectRmAsync(b, token);
        var watchedOnB = await rmB.WatchSendsAsync();

        // 20 through each node: D stores 40, none twice (only the node that took a message forwards it).
        var throughA = await SendAsync(rmA, card, 0, 20);
        var throughB = await SendAsync(rmB, card, 20, 20);
        await using var onDAgain = await RelayClient.ConnectAsync(d.RelayEndPoint);
        await onDAgain.AuthenticateAsync(card.Aid, owner.Key);
        var received = await ReceiveAsync(onDAgain, card, 40, "the 40 messages to reach D");
        Assert.Equal(Enumerable.Range(0, 40), received.Order());

        // Node B knows what node A forwarded (the queue's index is shared), and tells its watchers of A's settles too.
        var told = new HashSet<long>();
        while (told.Count < 40)
        {
            var state = await watchedOnB.ReadAsync(Eventually.Deadline(Patience));
            Assert.Equal(SendStateKind.Delivered, state.State);
            Assert.True(told.Add(state.SendId), $"send {state.SendId} was told twice on node B");
        }

        Assert.Equal(throughA.Keys.Concat(throughB.Keys).Order(), told.Order());
        Assert.All(await rmB.GetSendStatesAsync(throughA.Keys), s => Assert.Equal(SendStateKind.Delivered, s.State));
        Assert.Empty(await Drain.AllAsync(onDAgain, card.Aid)); // none came twice since
        Assert.Equal(20, (await MetricsAsync(a))["edgerelay_forwarded_total"]);
        Assert.Equal(20, (await MetricsAsync(b))["edgerelay_forwarded_total"]);
    }

    [SkippableFact]
    public async Task A_node_killed_with_SEND_VIAs_queued_loses_none_the_other_node_forwards_every_acknowledged_one()
    {
        var (args, token) = await ClusterAsync();
        using var owner = new Owner();
        var card = await CardOnStoppedDestinationAsync(owner); // D is down: what A acknowledges stays queued

        await using var a = await ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("a")).FullName, args);
        await using var b = await ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("b")).FullName, args);
        Dictionary<long, int> acknowledged;
        await using (var rmA = await ConnectRmAsync(a, token))
        {
            acknowledged = await SendAsync(rmA, card, 0, 100);
        }

        await using var rmB = await ConnectRmAsync(b, token);
        await UntilAllAsync(rmB, acknowledged.Keys, SendStateKind.Queued, "node B to list node A's queued sends");

        // A dies with all 100 queued, unsent; D comes back. B judges A dead after the node timeout and forwards them.
        await a.KillAsync();
        await using var back = await StartDestinationAsync();
        await using var onBack = await RelayClient.ConnectAsync(back.RelayEndPoint);
        await onBack.AuthenticateAsync(card.Aid, owner.Key);
        var received = await ReceiveAsync(onBack, card, acknowledged.Count, "every acknowledged message to reach D through node B");

        Assert.True(acknowledged.Values.Order().SequenceEqual(received.Order()), $"none lost, none twice: {received.Count} received of {acknowledged.Count}; node B:\n{Tail(b.Output)}");
        await UntilAllAsync(rmB, acknowledged.Keys, SendStateKind.Delivered, "node B to settle them as delivered");
        Assert.Contains("adopted from a node of this service that died", b.Output, StringComparison.Ordinal);
        Assert.Equal(acknowledged.Count, (await MetricsAsync(b))["edgerelay_cluster_outbound_adopted_total"]);
    }

    [SkippableFact]
    public async Task A_data_folder_whose_own_outbound_log_holds_SEND_VIAs_is_refused_by_the_cluster_and_delivers_them_alone()
    {
        var (args, token) = await ClusterAsync();
        using var owner = new Owner();
        var card = await CardOnStoppedDestinationAsync(owner);

        // One machine's relay (its outbound queue a FASTER log in its data folder) acknowledges 10 while D is down, and stops.
        var data = Directory.CreateDirectory(_dir.Combine("a")).FullName;
        string[] alone = [.. args.Where(a => !a.StartsWith("--Storage:", StringComparison.Ordinal))];
        Dictionary<long, int> acknowledged;
        await using (var relay = await ServerProcess.StartAsync(data, alone))
        {
            await using (var rm = await ConnectRmAsync(relay, token))
            {
                acknowledged = await SendAsync(rm, card, 0, 10);
            }

            Assert.Equal(0, await relay.TerminateAsync());
        }

        // The same folder in the cluster: refused (exit code 3), saying what to do, its log untouched.
        var (code, stderr) = await ServerProcess.RunToExitAsync([.. args, "--Storage:DataDir=" + data, "--Relay:Endpoint=127.0.0.1:0", "--Http:Endpoint=127.0.0.1:0"]);
        Assert.True(code == 3, $"exit code {code}: {stderr}");
        Assert.Contains("holds 10 queued SEND_VIAs", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:Backend=faster", stderr, StringComparison.Ordinal);

        // Run alone again, it delivers them under the send ids its RM holds; then the folder may join.
        await using var back = await StartDestinationAsync();
        await using (var relay = await ServerProcess.StartAsync(data, alone))
        {
            await using var rm = await ConnectRmAsync(relay, token);
            await UntilAllAsync(rm, acknowledged.Keys, SendStateKind.Delivered, "the 10 to be delivered by the relay alone");
            Assert.Equal(0, await relay.TerminateAsync());
        }

        await using var joined = await ServerProcess.StartAsync(data, args);
        await using var onBack = await RelayClient.ConnectAsync(back.RelayEndPoint);
        await onBack.AuthenticateAsync(card.Aid, owner.Key);
        Assert.Equal(acknowledged.Values.Order(), (await Drain.AllAsync(onBack, card.Aid)).Order());
    }

    [SkippableFact]
    public async Task An_attachment_committed_on_a_node_whose_disk_is_then_lost_is_served_by_the_other_node()
    {
        var (args, token) = await ClusterAsync();
        var dataA = Directory.CreateDirectory(_dir.Combine("a")).FullName;
        await using var a = await ServerProcess.StartAsync(dataA, args);
        await using var b = await ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("b")).FullName, args);
        var content = new byte[300_000]; // several of the object store's chunks
        Random.Shared.NextBytes(content);
        AttachmentUploaded uploaded;
        await using (var rm = await ConnectRmAsync(a, token))
        {
            uploaded = await rm.UploadAttachmentAsync(content);
        }

        // Node A and its disk are gone: the URL's id still downloads from node B, bytes, ranges and tag intact.
        await a.KillAsync();
        Directory.Delete(dataA, recursive: true);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = new Uri($"http://{b.HttpEndPoint}/a/{uploaded.Id}");
        using (var response = await http.GetAsync(url))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)) + "\"", response.Headers.ETag?.Tag);
        }

        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999);
        using (var part = await http.SendAsync(ranged))
        {
            Assert.Equal(System.Net.HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(content.AsSpan(1000, 1000).ToArray(), await part.Content.ReadAsByteArrayAsync());
        }

        // Nothing kept on B's disk for it, and an id never committed is the same bare 404 as on one machine.
        // (The temporary copy goes when the server closes it, just after the last byte was sent.)
        await Eventually.TrueAsync(() => Directory.GetFiles(Path.Combine(_dir.Combine("b"), "attachments"), "*", SearchOption.AllDirectories).Length == 0, "node B's temporary copies to be gone");
        using var missing = await http.GetAsync(new Uri($"http://{b.HttpEndPoint}/a/{AttachmentId.NewRandom()}"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>The nodes' arguments (one prefix, one service key, one token file, short back-offs) and an RM token in that file.</summary>
    private async Task<(string[] Args, string Token)> ClusterAsync()
    {
        var cluster = fixture.Get();
        var tokens = _dir.Combine("tokens.json");
        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "rm", "--Storage:DataDir=" + _dir.Path, "--Access:TokensFile=" + tokens);
        Assert.True(code == 0, stderr);
        string[] args =
        [
            "--Storage:Backend=jetstream",
            "--Storage:JetStream:Url=" + cluster.Url,
            "--Storage:JetStream:StreamPrefix=" + NatsClusterFixture.NewPrefix(),
            "--Storage:JetStream:Replicas=3",
            "--Relay:ServiceKeyFile=" + _dir.Combine("service.key"),
            "--Access:TokensFile=" + tokens,
            "--Forwarding:InitialBackoff=00:00:00.100",
            "--Forwarding:MaxBackoff=00:00:00.500",
        ];
        return (args, stdout.Trim());
    }

    /// <summary>An address of <paramref name="owner"/>'s on D, which is then stopped (it comes back on the same endpoint).</summary>
    private async Task<AddressCard> CardOnStoppedDestinationAsync(Owner owner)
    {
        await using var d = await StartDestinationAsync();
        await using var onD = await RelayClient.ConnectAsync(d.RelayEndPoint);
        var card = (await owner.CreateAddressAsync(onD)).Card;
        Assert.Equal(0, await d.TerminateAsync());
        return card;
    }

    /// <summary>Pulls and acknowledges on D until <paramref name="count"/> messages came; each one's first four bytes as an int.</summary>
    private static async Task<List<int>> ReceiveAsync(RelayClient onD, AddressCard card, int count, string what)
    {
        var received = new List<int>();
        await Eventually.TrueAsync(
            async () =>
            {
                received.AddRange(await Drain.AllAsync(onD, card.Aid));
                return received.Count >= count;
            },
            what,
            Patience,
            TimeSpan.FromMilliseconds(100));
        return received;
    }

    private static Task UntilAllAsync(RelayClient rm, IReadOnlyCollection<long> sendIds, SendStateKind state, string what) =>
        Eventually.TrueAsync(async () => (await rm.GetSendStatesAsync(sendIds)).All(s => s.State == state), what, Patience, TimeSpan.FromMilliseconds(100));

    private Task<ServerProcess> StartDestinationAsync() => ServerProcess.StartAsync(Directory.CreateDirectory(_dir.Combine("d")).FullName, "--Relay:Endpoint=" + _destination);

    private static async Task<Dictionary<long, int>> SendAsync(RelayClient rm, AddressCard card, int first, int count)
    {
        var sent = new Dictionary<long, int>();
        for (var i = first; i < first + count; i++)
        {
            var state = await rm.SendViaAsync(card, BitConverter.GetBytes(i));
            Assert.Equal(SendStateKind.Queued, state.State);
            sent.Add(state.SendId, i);
        }

        return sent;
    }

    private static async Task<RelayClient> ConnectRmAsync(ServerProcess relay, string token)
    {
        var client = await RelayClient.ConnectAsync(relay.RelayEndPoint);
        await client.AuthenticateTokenAsync(token);
        return client;
    }

    private static async Task<Dictionary<string, double>> MetricsAsync(ServerProcess node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return ClusterNodeTests.ParseMetrics(await http.GetStringAsync($"http://{node.HttpEndPoint}/metrics"));
    }

    private static string Tail(string output) => output.Length <= 4000 ? output : output[^4000..];
}
