using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Server;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// A run against a relay it did not start leaves that relay as it found it: the run's addresses revoked and
/// nothing pending at them, unless --keep says otherwise.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class CleanupTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-cleanup-").FullName;
    private RelayHost _relay = null!;

    public async Task InitializeAsync() =>
        _relay = await RelayHost.StartAsync(EdgeRelayTarget.StartedRelayOptions(_dir, "127.0.0.1:0", "127.0.0.1:0"));

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_run_at_an_endpoint_revokes_its_addresses_and_removes_what_it_left_pending()
    {
        var lines = new List<string>();

        await LoadRunner.RunAsync(Settings(keep: false), new PlainProgressDisplay(TextWriter.Null), lines.Add, CancellationToken.None);

        var stats = _relay.Server.Storage.GetStatistics();
        Assert.Equal(4, stats.Addresses);
        Assert.Equal(0, stats.PendingMessages);
        var summary = Assert.Single(lines, l => l.Contains("cleaned up:", StringComparison.Ordinal));
        Assert.Contains("4 address(es) revoked", summary, StringComparison.Ordinal);
        Assert.DoesNotContain(" 0 pending message(s)", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_keep_the_addresses_and_their_messages_stay()
    {
        var lines = new List<string>();

        await LoadRunner.RunAsync(Settings(keep: true), new PlainProgressDisplay(TextWriter.Null), lines.Add, CancellationToken.None);

        var stats = _relay.Server.Storage.GetStatistics();
        Assert.Equal(4, stats.Addresses);
        Assert.True(stats.PendingMessages > 0, "the ingest run left nothing pending");
        Assert.DoesNotContain(lines, l => l.Contains("cleaned up:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--keep:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keep_without_an_endpoint_is_refused_as_there_is_nothing_to_keep()
    {
        var settings = new RunSettings { Keep = true, Duration = TimeSpan.FromSeconds(1) };

        var error = await Assert.ThrowsAsync<LoadTestException>(() => LoadRunner.RunAsync(settings, new PlainProgressDisplay(TextWriter.Null), _ => { }, CancellationToken.None));

        Assert.Contains("--keep", error.Message, StringComparison.Ordinal);
    }

    private RunSettings Settings(bool keep) => new()
    {
        Target = TargetCatalog.EdgeRelay,
        Endpoint = _relay.RelayEndPoint.ToString(),
        Addresses = 4,
        Connections = 2,
        Duration = TimeSpan.FromSeconds(1),
        Warmup = TimeSpan.FromMilliseconds(100),
        Keep = keep,
    };
}
