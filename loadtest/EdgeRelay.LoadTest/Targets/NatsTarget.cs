using System.Globalization;
using System.Net;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Scenarios;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// NATS JetStream: one stream with file storage and work-queue retention (a message is removed once acked, as
/// the relay removes it on ACK; interest retention for push, see <see cref="Retention"/>), a subject per queue. Sends are JetStream publishes that complete on the
/// PubAck. Without <c>--endpoint</c> a fresh <c>nats-server -js</c> (Debian package) is started on a free
/// loopback port with its own store directory; it is killed and the directory deleted after.
/// </summary>
/// <remarks>
/// Durability: nats-server 2.9.10 answers the PubAck once the message is in its file store's write buffer,
/// not after an fsync (it syncs every 2 minutes by default; this version refuses <c>sync_interval: always</c>),
/// so an acknowledged message can be lost with the machine. It compares with Redis <c>everysec</c>, not with
/// EdgeRelay or Redis <c>always</c>.
/// </remarks>
internal sealed partial class NatsTarget : IPullTarget, IPollDelivery, IPushGroupDelivery, IServerUsage
{
    internal const string StreamName = "EDGERELAY_LOADTEST";
    private const string SubjectPrefix = "edgerelay-loadtest.";

    /// <summary>As for Redis: slowness shows as latency, not as timeouts, up to the generator's own drain time.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly bool _clustered;
    private PeerProcess? _server;
    private NatsServers? _cluster;
    private int _replicas = 1;
    private string _url = "";
    private string[] _subjects = [];
    private int _pushReceivers;

    /// <param name="clustered">
    /// <see cref="TargetCatalog.NatsCluster"/>: <c>--nats-nodes</c> servers started as one cluster, the stream replicated
    /// to every one of them (a PubAck then means a majority stored it), as <c>edgerelay-cluster</c>'s streams are.
    /// </param>
    public NatsTarget(bool clustered = false) => _clustered = clustered;

    public string Name => _clustered ? TargetCatalog.NatsCluster : TargetCatalog.Nats;

    public string Label => _clustered ? $"nats (JetStream file, {_replicas} servers, R{_replicas})" : "nats (JetStream file)";

    public string Durability => "file store written before the PubAck, fsync every 2 min";

    public string Description { get; private set; } = TargetCatalog.Nats;

    /// <summary>The server's URL, once started.</summary>
    internal string Url => _url;

    /// <summary>A pull consumer acking each message, one .NET client (PLATFORM-NOTES: 77-90 k/s): a planning figure only.</summary>
    public double PullRateEstimate => 80_000;

    /// <summary>
    /// CPU of the server the run started, by its process id; nothing for one at <c>--endpoint</c>. Its
    /// allocations are never known: a native server has no managed heap, and its allocator keeps no count.
    /// </summary>
    public Task<ServerUsageSample> SampleServerUsageAsync(CancellationToken cancellationToken) => Task.FromResult(
        _cluster is not null ? new ServerUsageSample(_cluster.ProcessorTime(), null)
        : _server is null ? ServerUsageSample.Unknown
        : new ServerUsageSample(_server.ProcessorTime(), null));

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        if (_clustered)
        {
            // Every server's CPU counts: a replicated write costs the followers as much as the leader.
            _replicas = settings.NatsNodes;
            _cluster = await NatsServers.StartAsync(settings.NatsNodes, cancellationToken);
            _url = _cluster.Url;
            Description = $"{Label}: nats-server pids {string.Join(", ", _cluster.Servers.Select(s => s.ProcessId))} on {string.Join(", ", _cluster.Servers.Select(s => s.EndPoint))}";
            await CreateStreamAsync(settings, cancellationToken);
            log(Description);
            return;
        }

        IPEndPoint endPoint;
        if (settings.Endpoint is null)
        {
            var executable = PeerProcess.FindExecutable("nats-server") ?? throw new PeerMissingException("nats-server", "nats-server");
            _server = await PeerProcess.StartAsync(
                executable,
                static (port, dir) => ["-js", "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-sd", dir],
                static (endPoint, token) => PeerProcess.AnswersAsync(endPoint, [], "INFO ", token),
                cancellationToken);
            endPoint = _server.EndPoint;
            Description = $"{Label}: nats-server pid {_server.ProcessId} on {endPoint} (store in {_server.DataDir})";
        }
        else
        {
            endPoint = await Endpoints.ResolveAsync(settings.Endpoint, settings.AllowRemote, cancellationToken);
            Description = $"{Label} at {settings.Endpoint} ({endPoint})";
        }

        _url = $"nats://{endPoint}";
        await CreateStreamAsync(settings, cancellationToken);
        log(Description);
    }

    public async Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken)
    {
        var connection = await ConnectNatsAsync("sender-" + index.ToString(CultureInfo.InvariantCulture), cancellationToken);
        return new Publisher(connection, CreateContext(connection), _subjects);
    }

    public async Task<IPullConnection> ConnectPullerAsync(int queue, CancellationToken cancellationToken)
    {
        var connection = await ConnectNatsAsync("puller-" + queue.ToString(CultureInfo.InvariantCulture), cancellationToken);
        try
        {
            var consumer = await CreateContext(connection).CreateOrUpdateConsumerAsync(StreamName, PullConsumerConfig(queue), cancellationToken);
            return new Puller(connection, consumer);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<IAsyncDisposable> StartPollingReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var connection = await ConnectNatsAsync("receiver-" + queue.ToString(CultureInfo.InvariantCulture), cancellationToken);
        try
        {
            var consumer = await CreateContext(connection).CreateOrUpdateConsumerAsync(StreamName, PullConsumerConfig(queue), cancellationToken);
            return new ConsumingReceiver(connection, consumer, sink);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public LoadError Classify(Exception error) => error switch
    {
        NatsJSApiException api => new LoadError("JS_API_" + api.Error.ErrCode.ToString(CultureInfo.InvariantCulture), false),
        NatsJSPublishNoResponseException or NatsNoReplyException or TimeoutException => new LoadError("TIMEOUT", false),
        NatsNoRespondersException => new LoadError("NO_RESPONDERS", false),
        NatsConnectionFailedException or ObjectDisposedException or IOException => new LoadError(GeneratorErrors.ConnectionLost, true),
        _ => new LoadError(error.GetType().Name, false),
    };

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
            _cluster = null;
        }
        else if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
        else if (_url.Length > 0)
        {
            // A server the run did not start keeps running: leave nothing of the run's behind in it.
            try
            {
                await using var connection = await ConnectNatsAsync("cleanup", CancellationToken.None);
                await DeleteStreamAsync(CreateContext(connection), CancellationToken.None);
            }
            catch (NatsException)
            {
            }
        }
    }

    /// <summary>
    /// Work-queue retention removes a message once acked, as the relay does on ACK, but it accepts explicit acks
    /// only. Push batches its acks (AckPolicy.All, as the relay's push receivers ACK everything read in one
    /// frame), so its stream keeps messages while a consumer is interested: with exactly one consumer whose filter
    /// takes each subject, created before the first send, a message is removed once that consumer has acked it,
    /// the same outcome.
    /// </summary>
    private static StreamConfigRetention Retention(string scenario) =>
        scenario == Scenarios.ScenarioCatalog.Push ? StreamConfigRetention.Interest : StreamConfigRetention.Workqueue;

    private ConsumerConfig PullConsumerConfig(int queue) => new("pull-" + queue.ToString(CultureInfo.InvariantCulture))
    {
        FilterSubject = _subjects[queue],
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
    };

    private async Task CreateStreamAsync(RunSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Scenario == Scenarios.ScenarioCatalog.Push)
        {
            _pushReceivers = DeliveryScenario.PushReceivers(settings);
            _subjects = PushSubjects(settings.Queues, _pushReceivers);
        }
        else
        {
            _subjects = new string[settings.Queues];
            for (int i = 0; i < _subjects.Length; i++)
            {
                _subjects[i] = SubjectPrefix + i.ToString(CultureInfo.InvariantCulture);
            }
        }

        await using var connection = await ConnectNatsAsync("setup", cancellationToken);
        var js = CreateContext(connection);
        await DeleteStreamAsync(js, cancellationToken); // a fresh stream, whatever a previous run left
        await js.CreateStreamAsync(
            new StreamConfig(StreamName, [SubjectPrefix + ">"]) { Storage = StreamConfigStorage.File, Retention = Retention(settings.Scenario), NumReplicas = _replicas },
            cancellationToken);
    }

    /// <summary>JetStream API calls and PubAcks take their timeout from the connection's RequestTimeout.</summary>
    private static NatsJSContext CreateContext(NatsConnection connection) => new(connection);

    private static async Task DeleteStreamAsync(NatsJSContext js, CancellationToken cancellationToken)
    {
        try
        {
            await js.DeleteStreamAsync(StreamName, cancellationToken);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }
    }

    private async Task<NatsConnection> ConnectNatsAsync(string name, CancellationToken cancellationToken)
    {
        var connection = new NatsConnection(new NatsOpts
        {
            Url = _url,
            Name = "edgerelay-loadtest-" + name,
            RequestTimeout = RequestTimeout,
            CommandTimeout = RequestTimeout,
            MaxReconnectRetry = 0, // a lost connection is a measured error, not something to hide by reconnecting
        });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken);
            return connection;
        }
        catch (NatsException ex)
        {
            await connection.DisposeAsync();
            throw new LoadTestException($"cannot connect to nats at {_url}: {ex.Message}", ex);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class Publisher(NatsConnection connection, NatsJSContext js, string[] subjects) : ILoadConnection
    {
        public async ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            var ack = await js.PublishAsync(subjects[queue], payload, cancellationToken: cancellationToken);
            ack.EnsureSuccess();
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>
    /// Fetches what is there without waiting (an empty answer means the queue is drained), acks every message,
    /// and asks the server to confirm the last ack: acks are processed in order, so the batch is then removed.
    /// </summary>
    private sealed class Puller(NatsConnection connection, INatsJSConsumer consumer) : IPullConnection
    {
        private static readonly AckOpts Confirmed = new() { DoubleAck = true };

        public async ValueTask<int> PullBatchAsync(int maxCount, CancellationToken cancellationToken)
        {
            INatsJSMsg<NatsMemoryOwner<byte>>? last = null;
            int count = 0;
            await foreach (var message in consumer.FetchNoWaitAsync<NatsMemoryOwner<byte>>(new NatsJSFetchOpts { MaxMsgs = maxCount }, cancellationToken: cancellationToken))
            {
                message.Data.Dispose();
                if (last is not null)
                {
                    await last.AckAsync(cancellationToken: cancellationToken);
                }

                last = message;
                count++;
            }

            if (last is not null)
            {
                await last.AckAsync(Confirmed, cancellationToken);
            }

            return count;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>
    /// A consumer's continuous delivery (pull-based ConsumeAsync, or a push consumer's subscription), acking once
    /// handed over: each message (explicit acks), or, with <c>batchedAcks</c> (AckPolicy.All), the last of
    /// whatever had arrived, as the relay's push receivers ack every DELIVER they have read in one ACK.
    /// </summary>
    private sealed class ConsumingReceiver : IAsyncDisposable
    {
        private readonly NatsConnection _connection;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public ConsumingReceiver(NatsConnection connection, INatsJSConsumer consumer, IDeliverySink sink, bool batchedAcks = false)
        {
            _connection = connection;
            _loop = Task.Run(() => batchedAcks ? ReceiveBatchedAsync(consumer, sink) : ReceiveAsync(consumer, sink));
        }

        private async Task ReceiveAsync(INatsJSConsumer consumer, IDeliverySink sink)
        {
            var stop = _stop.Token;
            try
            {
                await foreach (var message in consumer.ConsumeAsync<NatsMemoryOwner<byte>>(cancellationToken: stop))
                {
                    using (var data = message.Data)
                    {
                        sink.OnDelivered(data.Span);
                    }

                    await message.AckAsync(cancellationToken: stop);
                }
            }
#pragma warning disable CA1031 // The failure is handed to the sink, which fails the sends waiting on this receiver.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!stop.IsCancellationRequested)
                {
                    sink.OnReceiverFailed(ex);
                }
            }
        }

        /// <summary>
        /// Hands each message over as it comes, and acks only when no further message is already waiting (the
        /// next one's read does not complete at once) or the ack window is half used: one ack covers the batch.
        /// </summary>
        private async Task ReceiveBatchedAsync(INatsJSConsumer consumer, IDeliverySink sink)
        {
            var stop = _stop.Token;
            try
            {
                await using var messages = consumer.ConsumeAsync<NatsMemoryOwner<byte>>(cancellationToken: stop).GetAsyncEnumerator(stop);
                INatsJSMsg<NatsMemoryOwner<byte>>? unacked = null;
                int pending = 0;
                while (true)
                {
                    var next = messages.MoveNextAsync();
                    if (unacked is not null && (!next.IsCompleted || pending >= PushAckWindow / 2))
                    {
                        await unacked.AckAsync(cancellationToken: stop);
                        unacked = null;
                        pending = 0;
                    }

                    if (!await next)
                    {
                        break;
                    }

                    var message = messages.Current;
                    using (var data = message.Data)
                    {
                        sink.OnDelivered(data.Span);
                    }

                    unacked = message;
                    pending++;
                }
            }
#pragma warning disable CA1031 // The failure is handed to the sink, which fails the sends waiting on this receiver.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!stop.IsCancellationRequested)
                {
                    sink.OnReceiverFailed(ex);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await _connection.DisposeAsync();
            _stop.Dispose();
        }
    }
}
