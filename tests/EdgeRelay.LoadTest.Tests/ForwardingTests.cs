using System.Buffers.Binary;
using System.Collections.Concurrent;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// <c>edgerelay-forward</c>: an RM's SEND_VIA to relay A, forwarded by A to relay B, taken from B by the owner.
/// Both relays in-process (one process per test run); small, bounded runs.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class ForwardingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-tests-").FullName;

    [Fact]
    public async Task Every_message_A_acknowledges_reaches_the_owner_on_B_exactly_once()
    {
        const int Messages = 300;
        var settings = new RunSettings
        {
            Target = TargetCatalog.EdgeRelayForward,
            Scenario = Scenarios.ScenarioCatalog.Push,
            Connections = 2,
            InFlight = 16,
            PayloadBytes = 64,
            RelayHost = EdgeRelayTarget.HostInProcess,
        };
        Assert.Empty(settings.Validate());
        await using var run = await ForwardRun.StartAsync(settings);
        await run.SendAsync(Messages, fresh: false);

        Assert.Equal(Messages, run.Target.Acked);
        var sink = await run.DrainAsync(Messages, "every acknowledged message at the owner", TimeSpan.FromSeconds(30));
        Assert.Null(sink.Failure);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => (long)i), sink.Seen.Keys.Order());
        Assert.All(sink.Seen.Values, count => Assert.Equal(1, count));
    }
    [Fact]
    public async Task Fresh_addresses_are_forwarded_with_B_s_peer_token_so_B_s_anonymous_budget_does_not_apply()
    {
        const int Messages = 200;

        // One resolution miss a second for an anonymous sender: without the peer token, A would be refused
        // RATE_LIMITED after its first fresh address and back off for longer than this test waits.
        var settings = new RunSettings
        {
            Target = TargetCatalog.EdgeRelayForward,
            Scenario = Scenarios.ScenarioCatalog.Ingest,
            Connections = 2,
            InFlight = 16,
            PayloadBytes = 64,
            FreshRatio = 1,
            FreshPool = RunSettings.MinFreshPool,
            RelayHost = EdgeRelayTarget.HostInProcess,
            RelaySettings = ["Relay:ResolveMissesPerSecond=1", "Relay:ResolveMissBurst=1"],
        };
        Assert.Empty(settings.Validate());
        await using var run = await ForwardRun.StartAsync(settings);
        await run.SendAsync(Messages, fresh: true);

        var sink = await run.DrainAsync(Messages, "every fresh-address message at the owner", TimeSpan.FromSeconds(20));
        Assert.Null(sink.Failure);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => (long)i), sink.Seen.Keys.Order());
        Assert.NotNull(run.Target.FreshAddresses);
    }

    [Fact]
    public async Task A_short_forwarding_run_reports_arrivals_at_the_owner_and_A_s_acknowledgements()
    {
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay-forward", "--scenario", "push", "--connections", "2", "--in-flight", "8", "--payload", "1024",
            "--duration", "1s", "--warmup", "200ms", "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay-forward", "push");
        Assert.True(root.GetProperty("forwarder_acked_per_s").GetDouble() > 0, "A acknowledged nothing");
        Assert.True(root.GetProperty("msgs_per_s").GetDouble() > 0, "nothing reached the owner");
    }

    [Fact]
    public async Task A_window_of_QUEUE_FULL_refusals_is_counted_by_code_and_exits_3()
    {
        // A's outbound queue holds one message: nearly every SEND_VIA finds it full (the later setting wins).
        var json = Path.Combine(_dir, "queue-full.json");
        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "run", "--target", "edgerelay-forward", "--scenario", "ingest", "--connections", "2", "--in-flight", "8", "--payload", "1024",
            "--duration", "1s", "--warmup", "0s", "--relay-host", "in-process", "--relay-setting", "Forwarding:MaxQueuedMessages=1", "--json", json,
        ]);

        Assert.Equal(3, exit);
        using var document = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        Assert.True(root.GetProperty("error_dominated").GetBoolean());
        Assert.True(root.GetProperty("errors").GetProperty("QUEUE_FULL").GetInt64() > 0);
    }

    [Fact]
    public void The_forwarding_target_is_refused_with_options_it_cannot_honour()
    {
        var problems = new RunSettings { Target = TargetCatalog.EdgeRelayForward, FreshRatio = 0.5, Endpoint = "127.0.0.1:7400" }.Validate();

        Assert.StartsWith("--endpoint: edgerelay-forward", Assert.Single(problems), StringComparison.Ordinal); // fresh addresses are welcome
        Assert.Contains(new RunSettings { Target = TargetCatalog.EdgeRelayForward, Scenario = "pull" }.Validate(), p => p.Contains("not supported by this target yet", StringComparison.Ordinal));
        foreach (var scenario in new[] { "ingest", "roundtrip", "push" })
        {
            Assert.Empty(new RunSettings { Target = TargetCatalog.EdgeRelayForward, Scenario = scenario }.Validate());
        }
    }

    [Theory]
    [InlineData("run", "--target", "edgerelay-forward", "--scenario", "push", "--fresh-ratio", "1")]
    [InlineData("run", "--target", "edgerelay-forward", "--scenario", "pull")]
    [InlineData("run", "--target", "edgerelay-forward", "--endpoint", "127.0.0.1:7400")]
    public async Task Invalid_forwarding_usage_exits_with_1(params string[] args)
    {
        Assert.Equal(1, await LoadTestCommandLine.InvokeAsync(args));
    }

    [Fact]
    public void The_sending_relay_is_sized_for_the_load_and_compare_runs_it_only_when_named()
    {
        var args = EdgeRelayForwardTarget.SendingArguments(new RunSettings { Connections = 8, InFlight = 64 }, "t.json").ToList();

        Assert.Contains("--Roles:Receiving=false", args);
        Assert.Contains("--Forwarding:MaxInFlightPerDestination=512", args);
        Assert.Contains("--Forwarding:MaxConnectionsPerDestination=8", args);
        Assert.Contains("--Access:TokensFile=t.json", args);
        Assert.Equal("--Forwarding:PeerTokens:127.0.0.1:7400=ert_x", EdgeRelayForwardTarget.PeerTokenArgument("127.0.0.1:7400", "ert_x"));
        Assert.DoesNotContain(CompareRow.Default, r => r.Target == TargetCatalog.EdgeRelayForward);
        Assert.True(CompareRow.TrySelect(["edgerelay", "edgerelay-forward"], out var rows, out _));
        Assert.Equal(["edgerelay", "edgerelay-forward"], rows.Select(r => r.Id));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>An <c>edgerelay-forward</c> target with a push receiver per owner queue, driven message by message.</summary>
    private sealed class ForwardRun : IAsyncDisposable
    {
        private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(1));
        private readonly List<IAsyncDisposable> _receivers = [];
        private readonly RunSettings _settings;
        private bool _drained;

        private ForwardRun(RunSettings settings) => _settings = settings;

        public EdgeRelayForwardTarget Target { get; } = new();

        public CountingSink Sink { get; } = new();

        public static async Task<ForwardRun> StartAsync(RunSettings settings)
        {
            var run = new ForwardRun(settings);
            await run.Target.StartAsync(settings, _ => { }, run._timeout.Token);
            for (int queue = 0; queue < settings.Queues; queue++)
            {
                run._receivers.Add(await run.Target.StartPushReceiverAsync(queue, run.Sink, run._timeout.Token));
            }

            return run;
        }

        /// <summary>Sends messages 0..count-1 (each carrying its number) through A, 16 at a time, on a cached or a fresh address.</summary>
        public async Task SendAsync(int count, bool fresh)
        {
            await using var connection = await Target.ConnectAsync(0, _timeout.Token);
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = _timeout.Token }, async (i, token) =>
            {
                var payload = new byte[64];
                BinaryPrimitives.WriteInt64LittleEndian(payload, i);
                if (fresh)
                {
                    await connection.SendFreshAsync(i % _settings.Queues, payload, token);
                }
                else
                {
                    await connection.SendAsync(i % _settings.Queues, payload, token);
                }
            });
        }

        /// <summary>Waits until the owner has <paramref name="count"/> messages, then stops the receivers.</summary>
        public async Task<CountingSink> DrainAsync(int count, string what, TimeSpan deadline)
        {
            await Eventually.TrueAsync(() => Sink.Total >= count, what, deadline);
            await StopReceiversAsync();
            return Sink;
        }

        public async ValueTask DisposeAsync()
        {
            await StopReceiversAsync();
            await Target.DisposeAsync();
            _timeout.Dispose();
        }

        private async Task StopReceiversAsync()
        {
            if (_drained)
            {
                return;
            }

            _drained = true;
            foreach (var receiver in _receivers)
            {
                await receiver.DisposeAsync();
            }
        }
    }

    private sealed class CountingSink : IDeliverySink
    {
        private int _total;

        public ConcurrentDictionary<long, int> Seen { get; } = new();

        public Exception? Failure { get; private set; }

        public int Total => Volatile.Read(ref _total);

        public void OnDelivered(ReadOnlySpan<byte> payload)
        {
            if (payload.Length != 64)
            {
                return; // the 16-byte messages that warm B's resolution cache before the run
            }

            Seen.AddOrUpdate(BinaryPrimitives.ReadInt64LittleEndian(payload), 1, (_, n) => n + 1);
            Interlocked.Increment(ref _total);
        }

        public void OnReceiverFailed(Exception error) => Failure = error;
    }
}
