using System.Globalization;
using System.Net;
using EdgeRelay.LoadTest.Engine;
using StackExchange.Redis;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// Redis 7 as a queue: a list per queue, LPUSH to send (acknowledged by its reply), <c>RPOP key count</c> to
/// drain, BRPOP to receive as messages come. Without <c>--endpoint</c> a fresh <c>redis-server</c> (Debian
/// package) is started on a free loopback port with its own directory: <c>appendonly yes</c> and
/// <c>appendfsync</c> from <c>--redis-fsync</c>, no RDB snapshots, no automatic AOF rewrite; it is killed and its
/// directory deleted after.
/// </summary>
/// <remarks>
/// <para>Durability, which decides which rows compare:</para>
/// <list type="bullet">
/// <item><c>always</c>: Redis fdatasyncs the AOF before it replies, so an acknowledged LPUSH survives power
/// loss: the like-for-like peer of EdgeRelay, whose ack follows a FASTER commit (write + fdatasync).</item>
/// <item><c>everysec</c> (default): the reply comes before any fsync; up to about a second of acknowledged
/// messages can be lost. It compares with NATS 2.9.10, which does not fsync before its PubAck either.</item>
/// </list>
/// <para>
/// One <see cref="ConnectionMultiplexer"/> per connection: it pipelines every outstanding command on one socket,
/// as the relay's client does. Receivers that block (BRPOP) get a multiplexer of their own, since a blocking
/// command holds its socket for everyone behind it.
/// </para>
/// </remarks>
internal sealed class RedisTarget : IPullTarget, IPollDelivery, IServerUsage
{
    public const string FsyncEverysec = "everysec";

    public const string FsyncAlways = "always";

    /// <summary>The blocking receive's own timeout: short, so a receiver notices that it is disposed.</summary>
    private const int BlockSeconds = 1;

    /// <summary>
    /// Longer than any reply under load (AOF always at thousands in flight queues for tens of ms) and equal to
    /// the generator's drain time, so slowness is measured as latency, not turned into timeout errors.
    /// </summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly string _prefix = "edgerelay-loadtest:" + Guid.NewGuid().ToString("N")[..8] + ":";
    private PeerProcess? _server;
    private IPEndPoint? _endPoint;
    private RedisKey[] _keys = [];
    private string _fsync = FsyncEverysec;

    public string Name => TargetCatalog.Redis;

    public string Label => $"redis (AOF {_fsync})";

    public string Durability => _fsync switch
    {
        FsyncAlways => "AOF fsync before the reply",
        FsyncEverysec => "AOF written before the reply, fsync every second",
        _ => $"AOF appendfsync {_fsync}",
    };

    public string Description { get; private set; } = TargetCatalog.Redis;

    /// <summary>Where the server listens, once started.</summary>
    internal IPEndPoint? EndPoint => _endPoint;

    /// <summary>RPOP with a count of 500, one client, from PLATFORM-NOTES (380-480 k/s): a planning figure only.</summary>
    public double PullRateEstimate => 400_000;

    /// <summary>
    /// CPU of the server the run started, by its process id; nothing for one at <c>--endpoint</c>. Its
    /// allocations are never known: a native server has no managed heap, and its allocator keeps no count.
    /// </summary>
    public Task<ServerUsageSample> SampleServerUsageAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_server is null ? ServerUsageSample.Unknown : new ServerUsageSample(_server.ProcessorTime(), null));

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        _fsync = settings.RedisFsync;
        if (settings.Endpoint is null)
        {
            var executable = PeerProcess.FindExecutable("redis-server") ?? throw new PeerMissingException("redis-server", "redis-server");
            _server = await PeerProcess.StartAsync(
                executable,
                (port, dir) =>
                [
                    "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir,
                    "--appendonly", "yes", "--appendfsync", _fsync, "--save", "",

                    // A rewrite forks and rewrites the whole AOF once it has doubled: within a run at 1 KiB
                    // that is every few seconds, and the fork and its copy-on-write take CPU and disk from the
                    // measured window. The relay compacts its log too, but not in a window this short; off, so
                    // that neither pays for housekeeping in the comparison.
                    "--auto-aof-rewrite-percentage", "0",
                ],
                static (endPoint, token) => PeerProcess.AnswersAsync(endPoint, "PING\r\n"u8.ToArray(), "+PONG", token),
                cancellationToken);
            _endPoint = _server.EndPoint;
            Description = $"{Label}: redis-server pid {_server.ProcessId} on {_endPoint} (data in {_server.DataDir})";
        }
        else
        {
            _endPoint = await Endpoints.ResolveAsync(settings.Endpoint, settings.AllowRemote, cancellationToken);
        }

        _keys = new RedisKey[settings.Queues];
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = _prefix + i.ToString(CultureInfo.InvariantCulture);
        }

        await using (var admin = await ConnectMultiplexerAsync(allowAdmin: true))
        {
            if (settings.Endpoint is not null)
            {
                // Someone else's server: report the durability it really has, not the option's.
                _fsync = await ReadFsyncAsync(admin);
                Description = $"{Label} at {settings.Endpoint} ({_endPoint})";
            }

            await admin.GetDatabase().KeyDeleteAsync(_keys);
        }

        log(Description);
    }

    public async Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken) =>
        new Sender(await ConnectMultiplexerAsync(), _keys);

    public async Task<IPullConnection> ConnectPullerAsync(int queue, CancellationToken cancellationToken) =>
        new Puller(await ConnectMultiplexerAsync(), _keys[queue]);

    public async Task<IAsyncDisposable> StartPollingReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken) =>
        new BlockingReceiver(await ConnectMultiplexerAsync(), _keys[queue], sink);

    public LoadError Classify(Exception error) => error switch
    {
        RedisTimeoutException => new LoadError("TIMEOUT", false),
        RedisConnectionException or ObjectDisposedException or IOException => new LoadError(GeneratorErrors.ConnectionLost, true),
        RedisServerException server => new LoadError("REDIS_" + FirstWord(server.Message), false),
        _ => new LoadError(error.GetType().Name, false),
    };

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
        else if (_endPoint is not null && _keys.Length > 0)
        {
            // A server the run did not start keeps running: leave nothing of the run's behind in it.
            try
            {
                await using var admin = await ConnectMultiplexerAsync();
                await admin.GetDatabase().KeyDeleteAsync(_keys);
            }
            catch (RedisException)
            {
            }
        }
    }

    private async Task<ConnectionMultiplexer> ConnectMultiplexerAsync(bool allowAdmin = false)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { _endPoint ?? throw new InvalidOperationException("Not started.") },
            AbortOnConnectFail = true,
            AllowAdmin = allowAdmin,
            ConnectTimeout = 5_000,
            AsyncTimeout = (int)CommandTimeout.TotalMilliseconds,
            SyncTimeout = (int)CommandTimeout.TotalMilliseconds,
            ClientName = "edgerelay-loadtest",
        };
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisConnectionException ex)
        {
            throw new LoadTestException($"cannot connect to redis at {_endPoint}: {ex.Message}", ex);
        }
    }

    private static async Task<string> ReadFsyncAsync(ConnectionMultiplexer admin)
    {
        try
        {
            var server = admin.GetServer(admin.GetEndPoints()[0]);
            var appendOnly = (await server.ConfigGetAsync("appendonly")).FirstOrDefault().Value;
            var fsync = (await server.ConfigGetAsync("appendfsync")).FirstOrDefault().Value;
            return appendOnly == "yes" ? fsync ?? "unknown" : "off";
        }
        catch (RedisException)
        {
            return "unknown";
        }
    }

    private static string FirstWord(string message)
    {
        int space = message.IndexOf(' ', StringComparison.Ordinal);
        return (space > 0 ? message[..space] : message).ToUpperInvariant();
    }

    private sealed class Sender(ConnectionMultiplexer multiplexer, RedisKey[] keys) : ILoadConnection
    {
        private readonly IDatabase _database = multiplexer.GetDatabase();

        public ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            new(_database.ListLeftPushAsync(keys[queue], payload));

        public ValueTask DisposeAsync() => multiplexer.DisposeAsync();
    }

    /// <summary>RPOP with a count: the reply both hands the messages over and removes them, so there is no separate ack.</summary>
    private sealed class Puller(ConnectionMultiplexer multiplexer, RedisKey key) : IPullConnection
    {
        private readonly IDatabase _database = multiplexer.GetDatabase();

        public async ValueTask<int> PullBatchAsync(int maxCount, CancellationToken cancellationToken)
        {
            var values = await _database.ListRightPopAsync(key, maxCount);
            return values?.Length ?? 0;
        }

        public ValueTask DisposeAsync() => multiplexer.DisposeAsync();
    }

    /// <summary>
    /// BRPOP until disposed: blocks while the list is empty, answers with one message as soon as there is one;
    /// whatever else is waiting is then taken with RPOP and a count, without blocking.
    /// </summary>
    private sealed class BlockingReceiver : IAsyncDisposable
    {
        private const int DrainCount = 256;

        private readonly ConnectionMultiplexer _multiplexer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public BlockingReceiver(ConnectionMultiplexer multiplexer, RedisKey key, IDeliverySink sink)
        {
            _multiplexer = multiplexer;
            _loop = Task.Run(() => ReceiveAsync(multiplexer.GetDatabase(), key, sink));
        }

        private async Task ReceiveAsync(IDatabase database, RedisKey key, IDeliverySink sink)
        {
            var stop = _stop.Token;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var popped = await database.ExecuteAsync("BRPOP", key, BlockSeconds);
                    if (popped.IsNull)
                    {
                        continue;
                    }

                    // [key, value]
                    sink.OnDelivered(((ReadOnlyMemory<byte>)(RedisValue)popped[1]).Span);
                    RedisValue[]? more;
                    do
                    {
                        more = await database.ListRightPopAsync(key, DrainCount);
                        foreach (var value in more ?? [])
                        {
                            sink.OnDelivered(((ReadOnlyMemory<byte>)value).Span);
                        }
                    }
                    while (more is { Length: DrainCount });
                }
            }
#pragma warning disable CA1031 // The failure is handed to the sink, which fails the sends waiting on this receiver.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // Once disposing, the multiplexer fails the BRPOP in flight: the expected way out.
                if (!stop.IsCancellationRequested)
                {
                    sink.OnReceiverFailed(ex);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _multiplexer.DisposeAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
