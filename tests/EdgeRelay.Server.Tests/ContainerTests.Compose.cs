using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The compose file read as YAML, as Docker reads it: which ports reach beyond the host, and whether the
/// Grafana it starts is provisioned with the Prometheus next to it and the dashboard the repository ships.
/// </summary>
public sealed partial class ContainerTests
{
    private static YamlMappingNode LoadYaml(string repositoryPath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(RepositoryFile(repositoryPath));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Service(YamlMappingNode compose, string name) =>
        (YamlMappingNode)((YamlMappingNode)compose["services"])[name];

    private static List<string> Strings(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value)
            ? ((YamlSequenceNode)value).Children.Select(c => ((YamlScalarNode)c).Value!).ToList()
            : [];

    [Fact]
    public void Compose_publishes_only_the_protocol_port_beyond_the_host()
    {
        var services = (YamlMappingNode)LoadYaml("config/docker-compose.yml")["services"];
        var published = services.Children
            .SelectMany(s => Strings((YamlMappingNode)s.Value, "ports").Select(p => (Service: ((YamlScalarNode)s.Key).Value!, Port: p)))
            .ToList();

        // "HOST_IP:HOST:CONTAINER" binds one address; "HOST:CONTAINER" binds every interface.
        var everywhere = published.Where(p => p.Port.Split(':').Length < 3).ToList();
        Assert.Equal([("relay", "7400:7400"), ("relay-a", "7410:7400"), ("relay-b", "7420:7400")], everywhere);
        Assert.Contains(("relay", "127.0.0.1:7401:7401"), published);
        Assert.Contains(("relay-a", "127.0.0.1:7411:7401"), published);
        Assert.Contains(("relay-b", "127.0.0.1:7421:7401"), published);
        Assert.All(published.Where(p => p.Port.Split(':').Length == 3), p => Assert.StartsWith("127.0.0.1:", p.Port, StringComparison.Ordinal));
    }

    [Fact]
    public void Compose_cluster_profile_runs_two_relay_nodes_on_one_replicated_store_with_one_service_key()
    {
        var compose = LoadYaml("config/docker-compose.yml");
        var nodes = new[] { "relay-a", "relay-b" }.Select(name => Service(compose, name)).ToList();
        var environments = nodes.Select(node => ((YamlMappingNode)node["environment"]).Children
            .ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!)).ToList();

        foreach (var (node, environment) in nodes.Zip(environments))
        {
            Assert.Equal("jetstream", environment["EDGERELAY_Storage__Backend"]);
            Assert.Equal("3", environment["EDGERELAY_Storage__JetStream__Replicas"]);
            Assert.Contains("cluster-keys:/keys", Strings(node, "volumes"));
            Assert.StartsWith("/keys/", environment["EDGERELAY_Relay__ServiceKeyFile"], StringComparison.Ordinal);
        }

        // One store and one key for both, each node's cards naming the port it is published on.
        Assert.Equal(environments[0]["EDGERELAY_Storage__JetStream__Url"], environments[1]["EDGERELAY_Storage__JetStream__Url"]);
        Assert.Equal(environments[0]["EDGERELAY_Relay__ServiceKeyFile"], environments[1]["EDGERELAY_Relay__ServiceKeyFile"]);
        Assert.Equal(["localhost:7410", "localhost:7420"], environments.Select(e => e["EDGERELAY_Relay__PublicEndpoint"]));

        // And the other node after it, so that a sender or an owner reaches the service while one is down.
        Assert.Equal(["localhost:7420", "localhost:7410"], environments.Select(e => e["EDGERELAY_Relay__AlternativeEndpoints__0"]));
        Assert.All(environments, e => Assert.DoesNotContain("EDGERELAY_Relay__AlternativeEndpoints__1", e.Keys));
        var natsUrls = environments[0]["EDGERELAY_Storage__JetStream__Url"].Split(',');
        Assert.Equal(["nats://nats-1:4222", "nats://nats-2:4222", "nats://nats-3:4222"], natsUrls);
        foreach (var nats in new[] { "nats-1", "nats-2", "nats-3" })
        {
            var command = Strings(Service(compose, nats), "command");
            Assert.Contains("-js", command);
            Assert.Equal("nats://nats-1:6222,nats://nats-2:6222,nats://nats-3:6222", command[command.IndexOf("--routes") + 1]);
            Assert.Equal(nats, command[command.IndexOf("--name") + 1]);
        }
    }

    [Fact]
    public void Compose_grafana_is_provisioned_with_the_compose_prometheus_and_the_shipped_dashboard()
    {
        var compose = LoadYaml("config/docker-compose.yml");
        var grafana = Service(compose, "grafana");
        var mounts = Strings(grafana, "volumes")
            .Select(v => v.Split(':'))
            .Where(v => v[0].StartsWith("./", StringComparison.Ordinal))
            .ToDictionary(v => v[0][2..], v => v[1], StringComparer.Ordinal);

        Assert.Equal("/etc/grafana/provisioning/datasources", mounts["grafana/datasources"]);
        Assert.Equal("/etc/grafana/provisioning/dashboards", mounts["grafana/dashboards"]);
        var dashboardInContainer = mounts["grafana-dashboard.json"];

        var sources = Directory.GetFiles(Path.GetDirectoryName(RepositoryFile("config/grafana/datasources/prometheus.yml"))!, "*.yml");
        var prometheus = Assert.Single(sources
            .SelectMany(f => (YamlSequenceNode)LoadYaml(Path.GetRelativePath(RepositoryRoot, f))["datasources"])
            .Cast<YamlMappingNode>());
        Assert.Equal("prometheus", ((YamlScalarNode)prometheus["type"]).Value);
        Assert.Equal("true", ((YamlScalarNode)prometheus["isDefault"]).Value);

        // The data source names the compose service and the port its server listens on.
        var url = new Uri(((YamlScalarNode)prometheus["url"]).Value!);
        Assert.True(((YamlMappingNode)compose["services"]).Children.ContainsKey(new YamlScalarNode(url.Host)), $"no compose service {url.Host}");
        Assert.Contains(Strings(Service(compose, url.Host), "ports"), p => p.EndsWith(":" + url.Port, StringComparison.Ordinal));

        var provider = (YamlMappingNode)Assert.Single((YamlSequenceNode)LoadYaml("config/grafana/dashboards/edgerelay.yml")["providers"]);
        Assert.Equal("file", ((YamlScalarNode)provider["type"]).Value);
        var folder = ((YamlScalarNode)((YamlMappingNode)provider["options"])["path"]).Value!;
        Assert.Equal(folder.TrimEnd('/'), Path.GetDirectoryName(dashboardInContainer)!.Replace('\\', '/'));

        // The dashboard chooses its data source by type, so it finds the provisioned one without editing.
        using var dashboard = JsonDocument.Parse(File.ReadAllText(RepositoryFile("config/grafana-dashboard.json")));
        var variable = Assert.Single(dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => v.GetProperty("type").GetString() == "datasource");
        Assert.Equal("prometheus", variable.GetProperty("query").GetString());
    }

    private static string RepositoryRoot => Path.GetDirectoryName(RepositoryFile("EdgeRelay.sln"))!;
}
