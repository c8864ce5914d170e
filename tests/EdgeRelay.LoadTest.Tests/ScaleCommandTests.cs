using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>The cluster's options and the plan of <c>scale</c>, without starting anything.</summary>
public class ScaleCommandTests
{
    [Fact]
    public void Cluster_options_are_refused_for_other_targets_and_a_cluster_refuses_what_it_cannot_be()
    {
        Assert.Empty(new RunSettings { Target = TargetCatalog.EdgeRelayCluster, Nodes = 3, Partitions = 3 }.Validate());
        Assert.Contains("--nodes, --nats-nodes, --partitions: apply to --target edgerelay-cluster only (--nats-nodes to nats-cluster too).", new RunSettings { Nodes = 2 }.Validate());
        Assert.Empty(new RunSettings { Target = TargetCatalog.NatsCluster, NatsNodes = 5 }.Validate());
        Assert.Contains("--nodes, --partitions: apply to --target edgerelay-cluster only (nats-cluster takes --nats-nodes).", new RunSettings { Target = TargetCatalog.NatsCluster, Nodes = 2 }.Validate());
        Assert.Contains(new RunSettings { Target = TargetCatalog.NatsCluster, NatsNodes = 4 }.Validate(), p => p.StartsWith("--nats-nodes: 4 is not 1, 3 or 5", StringComparison.Ordinal));
        Assert.Contains("--endpoint: nats-cluster starts its nats-servers for the run.", new RunSettings { Target = TargetCatalog.NatsCluster, Endpoint = "127.0.0.1:4222" }.Validate());

        var problems = new RunSettings
        {
            Target = TargetCatalog.EdgeRelayCluster,
            Nodes = 9,
            NatsNodes = 2,
            Partitions = 0,
            Endpoint = "127.0.0.1:7400",
            RelayHost = EdgeRelayTarget.HostInProcess,
        }.Validate();

        Assert.Contains(problems, p => p.StartsWith("--nodes: 9 is out of range", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--nats-nodes: 2 is not 1, 3 or 5", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--partitions: 0 is out of range", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--endpoint: edgerelay-cluster starts", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--relay-host: edgerelay-cluster runs", StringComparison.Ordinal));
    }

    [Fact]
    public void A_plan_has_the_faster_baseline_a_cluster_case_per_node_count_and_jetstream_alone_with_the_same_load()
    {
        var settings = new RunSettings { PayloadBytes = 1024, Connections = 4, InFlight = 32, Duration = TimeSpan.FromSeconds(10), Warmup = TimeSpan.FromSeconds(3) };

        var plans = ScaleCommand.Plan(settings, ["ingest", "push"], [1, 2, 3], 1, out var problems);

        Assert.Empty(problems);
        Assert.Equal(["ingest", "push"], plans.Select(p => p.Scenario));
        foreach (var plan in plans)
        {
            Assert.Equal(TargetCatalog.EdgeRelay, plan.Baseline.Settings.Target);
            Assert.Equal([1, 2, 3], plan.Clusters.Select(c => c.Settings.Nodes));
            Assert.All(plan.Clusters, c => Assert.Equal(TargetCatalog.EdgeRelayCluster, c.Settings.Target));
            Assert.Equal((TargetCatalog.NatsCluster, 3), (plan.Engine.Settings.Target, plan.Engine.Settings.NatsNodes));
            Assert.Equal("nats JetStream alone, 3 servers, R3", plan.Engine.Label);
            Assert.All(plan.Cases, c => Assert.Equal(
                (plan.Scenario, 1024, 4, 32, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3)),
                (c.Settings.Scenario, c.Settings.PayloadBytes, c.Settings.Connections, c.Settings.InFlight, c.Settings.Duration, c.Settings.Warmup)));
        }
    }

    [Fact]
    public void Scale_refuses_scenarios_it_does_not_measure_and_bad_node_counts()
    {
        ScaleCommand.Plan(new RunSettings(), ["pull"], [0, 2, 2], 0, out var problems);

        Assert.Contains("--scenarios: 'pull' is not ingest or push.", problems);
        Assert.Contains(problems, p => p.StartsWith("--node-counts: '0,2,2' is not distinct", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--repeat: 0", StringComparison.Ordinal));
    }
}
