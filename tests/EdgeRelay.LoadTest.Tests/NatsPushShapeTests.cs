using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Push setup: NATS push at many addresses takes one consumer and one connection per receiver (not per queue),
/// and the setup loop stops at Ctrl+C even when a target's call does not look at the token.
/// </summary>
public sealed class NatsPushShapeTests
{
    [Fact]
    public void At_10000_queues_each_receiver_s_one_filter_takes_exactly_the_queues_it_is_dealt()
    {
        var settings = new RunSettings { Target = TargetCatalog.NatsCluster, Scenario = ScenarioCatalog.Push, Addresses = 10_000, Connections = 8 };
        Assert.Empty(settings.Validate());
        int receivers = DeliveryScenario.PushReceivers(settings);
        var subjects = NatsTarget.PushSubjects(settings.Queues, receivers);

        Assert.Equal(8, receivers);
        var takenBy = new int[subjects.Length];
        for (int r = 0; r < receivers; r++)
        {
            var queues = DeliveryScenario.PushQueuesOf(r, receivers, subjects.Length);
            var (name, filter) = NatsTarget.PushConsumerOf(queues, subjects, receivers);

            Assert.Equal($"push-r{r}", name);
            Assert.Equal($"edgerelay-loadtest.{r}.>", filter);
            var matched = Enumerable.Range(0, subjects.Length).Where(q => subjects[q].StartsWith(filter[..^1], StringComparison.Ordinal)).ToArray();
            Assert.Equal(queues, matched);
            foreach (var q in matched)
            {
                takenBy[q]++;
            }
        }

        Assert.All(takenBy, count => Assert.Equal(1, count)); // every queue has exactly one interested consumer
    }

    [Fact]
    public void With_no_more_queues_than_connections_each_queue_keeps_a_consumer_of_its_own_on_its_own_subject()
    {
        var settings = new RunSettings { Target = TargetCatalog.Nats, Scenario = ScenarioCatalog.Push, Connections = 8 };
        var subjects = NatsTarget.PushSubjects(settings.Queues, DeliveryScenario.PushReceivers(settings));

        Assert.Equal(8, subjects.Length);
        for (int q = 0; q < 8; q++)
        {
            Assert.Equal([q], DeliveryScenario.PushQueuesOf(q, 8, 8));
            Assert.Equal(($"push-{q}", subjects[q]), NatsTarget.PushConsumerOf([q], subjects, 8));
        }
    }

    [Fact]
    public void A_set_of_queues_no_single_filter_takes_is_refused()
    {
        var subjects = NatsTarget.PushSubjects(100, 8);

        Assert.Throws<ArgumentException>(() => NatsTarget.PushConsumerOf([0, 1], subjects, 8));
        Assert.Throws<ArgumentException>(() => NatsTarget.PushConsumerOf([0, 8], subjects, 8)); // part of receiver 0's share
    }

    [Fact]
    public async Task Push_setup_stops_at_ctrl_c_and_stops_the_receivers_it_started_even_when_the_target_ignores_the_token()
    {
        using var stop = new CancellationTokenSource();
        await using var target = new TokenIgnoringPushTarget(stop, cancelAt: 3);
        var settings = new RunSettings { Target = TargetCatalog.Nats, Scenario = ScenarioCatalog.Push, Addresses = 10_000, Connections = 8 };
        var scenario = new DeliveryScenario(settings, DeliveryMode.Push);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scenario.PrepareAsync(target, _ => { }, stop.Token));
        Assert.Equal(3, target.Started);

        await scenario.DisposeAsync();
        Assert.Equal(3, target.Stopped);
    }

    /// <summary>A push target (one receiver per queue) whose receiver start completes without looking at the token, as a client call may.</summary>
    private sealed class TokenIgnoringPushTarget(CancellationTokenSource stop, int cancelAt) : IPushDelivery
    {
        public int Started { get; private set; }

        public int Stopped { get; private set; }

        public string Name => "fake-push";

        public string Label => Name;

        public string Durability => "-";

        public string Description => Name;

        public Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken)
        {
            if (++Started == cancelAt)
            {
                stop.Cancel(); // Ctrl+C arrives while this receiver is being set up
            }

            return Task.FromResult<IAsyncDisposable>(new Receiver(this));
        }

        public Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken) => throw new NotSupportedException();

        public LoadError Classify(Exception error) => new(error.GetType().Name, false);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Receiver(TokenIgnoringPushTarget target) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                target.Stopped++;
                return ValueTask.CompletedTask;
            }
        }
    }
}

/// <summary>NATS push over 2,000 queues on a nats-server started for the test: two consumers, every queue delivered.</summary>
[Collection(RealRunsCollection.Name)]
public sealed class NatsPushManyQueuesTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Push_over_2000_queues_sets_up_a_consumer_per_receiver_and_delivers_to_every_receiver()
    {
        if (PeerProcess.FindExecutable("nats-server") is null)
        {
            // CI installs it (.ci/run): there a missing server is a failure, not a skip.
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase), "nats-server is not installed, and CI installs it");
            Skip.If(true, "nats-server is not installed: apt-get install nats-server");
        }

        using var timeout = new CancellationTokenSource(Timeout);
        var settings = new RunSettings { Target = TargetCatalog.Nats, Scenario = ScenarioCatalog.Push, Addresses = 2000, Connections = 2 };
        await using var target = new NatsTarget();
        await target.StartAsync(settings, _ => { }, timeout.Token);
        var scenario = new DeliveryScenario(settings, DeliveryMode.Push);
        try
        {
            await scenario.PrepareAsync(target, _ => { }, timeout.Token);

            await using (var admin = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = target.Url }))
            {
                var stream = await new NATS.Client.JetStream.NatsJSContext(admin).GetStreamAsync(NatsTarget.StreamName, cancellationToken: timeout.Token);
                Assert.Equal(2, stream.Info.State.ConsumerCount);
            }

            // Sender 0 sends sequence s to queue s mod 2000: the first and last queues of each receiver's share.
            await using var sender = await scenario.ConnectAsync(target, 0, timeout.Token);
            foreach (var sequence in new long[] { 0, 1, 998, 999, 1998, 1999 })
            {
                Assert.Equal(1, await sender.ExecuteAsync(sequence, timeout.Token));
            }
        }
        finally
        {
            await scenario.DisposeAsync();
        }
    }
}
