using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Nats;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// <c>edgerelay-cluster</c> and <c>scale</c> against real nats-servers and relay processes the tool starts
/// itself. Without nats-server they skip, except under CI=true (see <see cref="NatsCluster.RequireServer"/>).
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class ClusterTests : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-cluster-tests-").FullName;

    [SkippableFact]
    public async Task Two_nodes_take_senders_and_receivers_in_turn_and_a_message_sent_to_one_is_pushed_by_the_other()
    {
        NatsCluster.RequireServer();
        var target = EdgeRelayTarget.Cluster();
        var settings = new RunSettings { Target = TargetCatalog.EdgeRelayCluster, Scenario = "roundtrip", Connections = 2, Nodes = 2 };
        List<(int Pid, string Dir)> processes;
        string clusterDir;
        try
        {
            await target.StartAsync(settings, _ => { }, Eventually.Deadline(TimeSpan.FromSeconds(60)));
            processes = [.. target.Nodes.Concat(target.NatsServers!.Servers).Select(p => (p.ProcessId, p.DataDir))];
            clusterDir = target.ClusterDirectory!;
            Assert.Equal(2 + 3, processes.Count);
            Assert.Equal(2, target.EndPoints.Distinct().Count());

            // Receivers in turn: queue 0's on the first node, queue 1's on the second; sender 0 on the first.
            var sink = new Sink();
            await using var first = await target.StartPushReceiverAsync([0], sink, CancellationToken.None);
            await using var second = await target.StartPushReceiverAsync([1], sink, CancellationToken.None);
            await using var sender = await target.ConnectAsync(0, CancellationToken.None);
            var payload = new byte[64];
            BinaryPrimitives.WriteInt64LittleEndian(payload, 42);
            await sender.SendAsync(1, payload, CancellationToken.None);
            Assert.Equal(42, await Eventually.Within(sink.Delivered.Task, "the message pushed to queue 1's owner"));

            // Accepted by the first node only, pushed by the second only: it crossed through the cluster.
            var (a, b) = (RelayProcess.MetricsUrl(target.Nodes[0]), RelayProcess.MetricsUrl(target.Nodes[1]));
            Assert.Equal((1, 0), (await CounterAsync(a, "edgerelay_sends_accepted_total"), await CounterAsync(b, "edgerelay_sends_accepted_total")));
            await Eventually.TrueAsync(async () => await CounterAsync(b, "edgerelay_messages_delivered_total{path=\"push\"}") == 1, "the second node to count its push");
            Assert.Equal(0, await CounterAsync(a, "edgerelay_messages_delivered_total{path=\"push\"}"));
        }
        finally
        {
            await target.DisposeAsync();
        }

        // Every node and server stopped by its pid, every folder gone.
        foreach (var (pid, dir) in processes)
        {
            Assert.False(IsRunning(pid), $"process {pid} outlived the run");
            Assert.False(Directory.Exists(dir), $"{dir} outlived the run");
        }

        Assert.False(Directory.Exists(clusterDir), $"{clusterDir} outlived the run");
    }

    [SkippableFact]
    public async Task Scale_runs_a_baseline_before_each_cluster_size_then_jetstream_alone_and_reports_ratios_and_latencies()
    {
        NatsCluster.RequireServer();
        var json = Path.Combine(_dir, "scale.json");
        var markdown = Path.Combine(_dir, "scale.md");

        int exit = await LoadTestCommandLine.InvokeAsync(
            ["scale", "--scenarios", "ingest", "--node-counts", "2", "-c", "2", "--in-flight", "8", "--duration", "2s", "--warmup", "500ms", "--json", json, "--markdown", markdown]);

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var scenario = Assert.Single(document.RootElement.EnumerateArray());
        Assert.Equal("ingest", scenario.GetProperty("scenario").GetString());
        var cases = scenario.GetProperty("series").GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(["edgerelay (FASTER, 1 process)", "edgerelay-cluster, 2 nodes", "nats JetStream alone, 3 servers, R3"], cases.Select(c => c.GetProperty("label").GetString()));
        Assert.True(cases[0].GetProperty("baseline").GetBoolean());

        var run = Assert.Single(cases[1].GetProperty("runs").EnumerateArray());
        RealRuns.AssertCompleteRun(run, TargetCatalog.EdgeRelayCluster, "ingest", KnownServerUsage.Both);
        Assert.Equal("edgerelay-cluster (2 nodes, nats x3, R3)", run.GetProperty("label").GetString());

        // The ratio is the cluster run's msgs/s over its baseline run's.
        var baseline = Assert.Single(cases[0].GetProperty("runs").EnumerateArray()).GetProperty("msgs_per_s").GetDouble();
        var summary = cases[1].GetProperty("summary");
        Assert.Equal(run.GetProperty("msgs_per_s").GetDouble() / baseline, summary.GetProperty("ratio_to_baseline").GetProperty("median").GetDouble(), 9);
        Assert.Equal(run.GetProperty("latency_us").GetProperty("p50").GetDouble(), summary.GetProperty("p50_us").GetProperty("median").GetDouble());

        // JetStream alone ran on three servers, every one's CPU counted (a native server has no managed heap).
        var engine = Assert.Single(cases[2].GetProperty("runs").EnumerateArray());
        RealRuns.AssertCompleteRun(engine, TargetCatalog.NatsCluster, "ingest", KnownServerUsage.Cpu);
        Assert.Equal("nats (JetStream file, 3 servers, R3)", engine.GetProperty("label").GetString());

        var text = await File.ReadAllTextAsync(markdown);
        Assert.Contains("### ingest, 1024 B, 2 x 8, 2s each", text, StringComparison.Ordinal);
        Assert.Contains("| p50 µs | p99 µs |", text, StringComparison.Ordinal);
        Assert.Contains("| edgerelay-cluster, 2 nodes | 1/1 |", text, StringComparison.Ordinal);
        Assert.Contains("| nats JetStream alone, 3 servers, R3 | 1/1 |", text, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Nats_servers_serve_jetstream_clustered_only_when_there_are_several_and_leave_nothing(int count)
    {
        NatsCluster.RequireServer();
        var servers = await NatsServers.StartAsync(count, Eventually.Deadline(TimeSpan.FromSeconds(60)));
        List<(int Pid, string Dir)> processes;
        try
        {
            processes = [.. servers.Servers.Select(s => (s.ProcessId, s.DataDir))];
            Assert.Equal(count, servers.Url.Split(',').Length);
            foreach (var server in servers.Servers)
            {
                var config = await File.ReadAllTextAsync(Directory.GetFiles(server.DataDir, "*.conf").Single());
                Assert.Equal(count > 1, config.Contains("cluster {", StringComparison.Ordinal));
                using var jsz = JsonDocument.Parse(await Http.GetStringAsync(new Uri($"http://{server.EndPointAt(1)}/jsz")));
                Assert.Equal(count > 1, jsz.RootElement.TryGetProperty("meta_cluster", out var meta) && meta.GetProperty("cluster_size").GetInt32() == count);
            }
        }
        finally
        {
            await servers.DisposeAsync();
        }

        Assert.All(processes, p => Assert.False(IsRunning(p.Pid) || Directory.Exists(p.Dir), $"nats-server {p.Pid} or {p.Dir} outlived its disposal"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>One series of the relay's Prometheus text, e.g. <c>edgerelay_sends_accepted_total</c>; 0 before its first count.</summary>
    private static async Task<long> CounterAsync(Uri metrics, string series)
    {
        var text = await Http.GetStringAsync(metrics);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private sealed class Sink : IDeliverySink
    {
        public TaskCompletionSource<long> Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnDelivered(ReadOnlySpan<byte> payload) => Delivered.TrySetResult(BinaryPrimitives.ReadInt64LittleEndian(payload));

        public void OnReceiverFailed(Exception error) => Delivered.TrySetException(error);
    }
}
