using EdgeRelay.Testing.Nats;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// One 3-node NATS cluster for a test class: starting one takes a few seconds, and each test keeps to streams of
/// its own (its own prefix). Without nats-server the cluster is not started and each test skips (or, under
/// CI=true, fails) through <see cref="GetAsync"/>.
/// </summary>
public sealed class NatsClusterFixture : IAsyncLifetime
{
    private NatsCluster? _cluster;

    /// <summary>The cluster; skips the calling test when nats-server is missing (see <see cref="NatsCluster.RequireServer"/>).</summary>
    public NatsCluster Get()
    {
        NatsCluster.RequireServer();
        return _cluster ?? throw new InvalidOperationException("The NATS cluster did not start.");
    }

    /// <summary>A stream prefix no other test of the run uses.</summary>
    public static string NewPrefix() => "T" + Guid.NewGuid().ToString("N")[..16];

    public async Task InitializeAsync()
    {
        if (NatsCluster.FindServer() is not null)
        {
            _cluster = await NatsCluster.StartAsync(3);
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
