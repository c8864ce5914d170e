using System.Diagnostics;
using System.Globalization;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace EdgeRelay.Storage.Tests;

/// <summary>
/// The three-node JetStream cluster the NATS backend's tests run on: it must really replicate, survive the
/// loss of a node and take it back, and leave no server behind, or those tests prove nothing.
/// </summary>
public sealed class NatsClusterTests(ITestOutputHelper output)
{
    /// <summary>Election after a SIGKILL takes a few seconds (raft timeouts); a bound far above that, below the test timeout.</summary>
    private static readonly TimeSpan FailoverDeadline = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public async Task A_replicated_stream_takes_publishes_after_its_leader_is_killed_and_regains_the_node_on_restart()
    {
        var ct = Eventually.Deadline(TimeSpan.FromSeconds(60));
        await using var cluster = await NatsCluster.StartAsync(3, ct);
        await using var nats = new NatsConnection(new NatsOpts
        {
            Url = cluster.Url,
            Name = "edgerelay-fixture-test",
            // Short, so that a publish to a stream without a leader fails fast and is retried.
            RequestTimeout = TimeSpan.FromSeconds(1),
        });
        var js = new NatsJSContext(nats);
        var stream = await js.CreateStreamAsync(
            new StreamConfig("FIXTURE", ["fixture.>"]) { Storage = StreamConfigStorage.File, NumReplicas = 3 }, ct);
        for (var i = 0; i < 100; i++)
        {
            var ack = await js.PublishAsync("fixture.m", Payload(i), opts: new NatsJSPubOpts { MsgId = Id(i) }, cancellationToken: ct);
            ack.EnsureSuccess();
            Assert.Equal((ulong)(i + 1), ack.Seq);
        }

        var leader = stream.Info.Cluster?.Leader;
        Assert.False(string.IsNullOrEmpty(leader), "an R3 stream has a leader once created");
        var victim = cluster.IndexOf(leader);

        var killedAt = Stopwatch.GetTimestamp();
        await cluster.KillAsync(victim);
        Assert.False(cluster.IsRunning(victim));
        var (afterKill, attempts, lastError) = await PublishUntilAcceptedAsync(js, 100, ct);
        var failover = Stopwatch.GetElapsedTime(killedAt);
        output.WriteLine($"killed stream leader {leader}; first PubAck after {failover.TotalMilliseconds:F0} ms, {attempts} attempts (last refusal: {lastError ?? "none"})");

        // The message id makes a retried publish that did land answer as a duplicate with its first sequence.
        Assert.Equal(101UL, afterKill.Seq);
        await stream.RefreshAsync(ct);
        Assert.NotEqual(leader, stream.Info.Cluster?.Leader);

        await cluster.RestartAsync(victim, ct);
        Assert.True(cluster.IsRunning(victim));
        await Eventually.TrueAsync(
            async () => await HasAllReplicasCurrentAsync(stream, cluster.Names, ct),
            "the restarted node to be a current replica of the stream again",
            FailoverDeadline);
        var last = await js.PublishAsync("fixture.m", Payload(101), opts: new NatsJSPubOpts { MsgId = Id(101) }, cancellationToken: ct);
        last.EnsureSuccess();
        await stream.RefreshAsync(ct);
        Assert.Equal(102L, stream.Info.State.Messages);
    }

    [SkippableFact]
    public async Task Disposing_the_cluster_kills_every_server_and_deletes_its_directory()
    {
        var ct = Eventually.Deadline(TimeSpan.FromSeconds(60));
        var cluster = await NatsCluster.StartAsync(3, ct);
        int[] pids;
        string directory;
        try
        {
            pids = [.. Enumerable.Range(0, 3).Select(i => cluster.ProcessId(i) ?? throw new InvalidOperationException($"node {i} has no process"))];
            directory = cluster.Directory;
            Assert.All(pids, pid => Assert.True(IsNatsServer(pid), $"pid {pid} is a running nats-server before dispose"));
            Assert.True(Directory.Exists(directory));
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.All(pids, pid => Assert.False(IsNatsServer(pid), $"pid {pid} still runs nats-server after dispose"));
        Assert.False(Directory.Exists(directory), $"{directory} is left behind");
    }

    [SkippableFact]
    public async Task The_servers_are_killed_and_the_directory_deleted_when_the_owning_process_dies_without_disposing()
    {
        var ct = Eventually.Deadline(TimeSpan.FromSeconds(60));
        NatsCluster.RequireServer();
        // Stands for a test host that the blame collector SIGKILLs: no dispose and no process-exit hook run.
        using var owner = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            await using var cluster = await NatsCluster.StartAsync(1, owner.Id, ct);
            var pid = cluster.ProcessId(0) ?? throw new InvalidOperationException("node 0 has no process");
            var directory = cluster.Directory;
            Assert.True(IsNatsServer(pid));

            owner.Kill();
            await Eventually.TrueAsync(() => !IsNatsServer(pid), $"nats-server pid {pid} to be killed once its owner is gone", TimeSpan.FromSeconds(10));
            await Eventually.TrueAsync(() => !Directory.Exists(directory), $"{directory} to be deleted once its owner is gone", TimeSpan.FromSeconds(10));
        }
        finally
        {
            if (!owner.HasExited)
            {
                owner.Kill();
            }
        }
    }

    /// <summary>
    /// Publishes message <paramref name="index"/> until a PubAck comes, as a client rides out a failover: while
    /// no leader is elected the publish gets no responders or no answer within the request timeout.
    /// </summary>
    private static async Task<(PubAckResponse Ack, int Attempts, string? LastError)> PublishUntilAcceptedAsync(NatsJSContext js, int index, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        string? lastError = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var ack = await js.PublishAsync("fixture.m", Payload(index), opts: new NatsJSPubOpts { MsgId = Id(index) }, cancellationToken: ct);
                ack.EnsureSuccess();
                return (ack, attempt, lastError);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException && Stopwatch.GetElapsedTime(started) < FailoverDeadline)
            {
                lastError = ex.GetType().Name + ": " + ex.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
    }

    private static async Task<bool> HasAllReplicasCurrentAsync(INatsJSStream stream, IReadOnlyList<string> names, CancellationToken ct)
    {
        try
        {
            await stream.RefreshAsync(ct);
        }
        catch (NatsException)
        {
            return false;
        }

        var info = stream.Info.Cluster;
        var replicas = info?.Replicas ?? [];
        var members = replicas.Select(r => r.Name).Append(info?.Leader).Order(StringComparer.Ordinal);
        return replicas.All(r => r.Current && !r.Offline) && members.SequenceEqual(names.Order(StringComparer.Ordinal));
    }

    private static bool IsNatsServer(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && process.ProcessName == "nats-server";
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static byte[] Payload(int index) => BitConverter.GetBytes(index);

    private static string Id(int index) => "m" + index.ToString(CultureInfo.InvariantCulture);
}
