using System.Net;
using EdgeRelay.Storage.Faster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace EdgeRelay.Server;

/// <summary>
/// A running relay: Kestrel with the binary protocol endpoint and the plain HTTP endpoint, wired to one
/// <see cref="RelayServer"/>. The executable and the tests both start relays through this class; it never
/// sees a command line (the executable turns configuration into <see cref="EdgeRelayOptions"/>).
/// </summary>
public sealed class RelayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _relayListen;
    private readonly ListenOptions _httpListen;
    private readonly ILoggerFactory _loggerFactory;
    private int _stopped;

    private RelayHost(WebApplication app, RelayServer server, ListenOptions relayListen, ListenOptions httpListen, ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
        _app = app;
        Server = server;
        _relayListen = relayListen;
        _httpListen = httpListen;
    }

    /// <summary>The relay's shared state: storage, push hub, metrics, sessions.</summary>
    public RelayServer Server { get; }

    /// <summary>A logger on the relay's own logging (same sinks and format), for parts the executable adds around the host.</summary>
    public ILogger CreateLogger(string categoryName) => _loggerFactory.CreateLogger(categoryName);

    /// <summary>The bound relay endpoint (the real port when the configuration said 0).</summary>
    public IPEndPoint RelayEndPoint => (IPEndPoint)_relayListen.EndPoint;

    public IPEndPoint HttpEndPoint => (IPEndPoint)_httpListen.EndPoint;

    /// <summary>Validates the options, starts the relay and binds both endpoints.</summary>
    /// <param name="storage">
    /// A storage opened by the caller, which keeps ownership of it (an embedding, or a test's fault-injecting
    /// device); by default the one the Storage section names, in the data folder.
    /// </param>
    public static async Task<RelayHost> StartAsync(
        EdgeRelayOptions options,
        Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? time = null,
        Delivery.IWakeupNotifier? notifier = null,
        Storage.IRelayStorage? storage = null,
        CancellationToken cancellationToken = default)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        // Validate() has checked both endpoints; parsing cannot fail here.
        _ = EdgeRelayOptions.TryParseEndpoint(options.Relay.Endpoint, out var relayEndPoint);
        _ = EdgeRelayOptions.TryParseEndpoint(options.Http.Endpoint, out var httpEndPoint);

        // The relay (and its log recovery) starts before Kestrel, so the first connection finds it ready.
        // It logs through a factory of its own, configured like the host's.
        var loggerFactory = LoggerFactory.Create(logging => configureLogging?.Invoke(logging));
        RelayServer relay;
        try
        {
            relay = await RelayServer.StartAsync(options, time ?? TimeProvider.System, loggerFactory, notifier, storage, cancellationToken: cancellationToken);
        }
        catch
        {
            loggerFactory.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();

        // Under systemd (Type=notify) this sends READY=1 once the host has started, i.e. after both endpoints
        // are bound and the storage has recovered, and STOPPING=1 when it drains; elsewhere it does nothing.
        builder.Host.UseSystemd();
        if (!SystemdHelpers.IsSystemdService() && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            // UseSystemd recognises systemd by reading its parent's /proc/1/comm, which the unit's ProtectProc=invisible
            // hides from the relay's user: it would stay silent and systemd kill the relay at TimeoutStartSec. A set
            // NOTIFY_SOCKET is what sd_notify itself goes by.
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        builder.Logging.ClearProviders();
        configureLogging?.Invoke(builder.Logging);
        builder.Services.AddSingleton(relay);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Relay.ShutdownTimeout);

        ListenOptions? relayListen = null;
        ListenOptions? httpListen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(relayEndPoint, listen =>
            {
                relayListen = listen;
                if (relay.TlsAuthentication is not null)
                {
                    // TLS is a transport layer under the ConnectionHandler: the protocol is the same inside. Each
                    // handshake asks for the current certificate, so a reload reaches new connections at once
                    // while those already open keep the session they negotiated.
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(relay.TlsAuthentication!),
                        HandshakeTimeout = options.Relay.HandshakeTimeout,
                    });
                }

                listen.UseConnectionHandler<RelayConnectionHandler>();
            });
            kestrel.Listen(httpEndPoint, listen =>
            {
                httpListen = listen;
                listen.Protocols = HttpProtocols.Http1;
            });
        });

        var app = builder.Build();
        // A storage that failed for good (a full disk) makes the relay neither healthy nor ready: a supervisor
        // that probes either restarts it, and the restart recovers everything acknowledged.
        app.MapGet("/healthz", (RelayServer r) => r.StorageFailure is null
            ? Results.Text("ok\n")
            : Results.Text("storage failed\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/readyz", (RelayServer r) => r.StorageFailure is not null
            ? Results.Text("storage failed\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : r.IsShuttingDown
            ? Results.Text("shutting down\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : r.IsDraining ? Results.Text("draining\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : r.Storage is Storage.IStorageReadiness { NotReadyReason: { } reason } ? Results.Text("storage not ready: " + reason + "\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
        app.MapMetrics("/metrics", relay.Metrics.Registry);
        app.MapMethods("/a/{id}", [HttpMethods.Get, HttpMethods.Head], AttachmentEndpoint.ServeAsync);
        Admin.AdminEndpoints.MapAdmin(app, relay);

        // Stop taking requests as soon as the host is told to stop, before Kestrel's own drain begins; and stop
        // the host once the storage has failed for good, so that the process ends and can be restarted.
        app.Lifetime.ApplicationStopping.Register(relay.BeginShutdown);
        relay.StorageFailed.Register(app.Lifetime.StopApplication);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            await app.DisposeAsync();
            await relay.DisposeAsync();
            loggerFactory.Dispose();
            if (EndpointInUseException.Find(ex, relayEndPoint, httpEndPoint, relay.TlsCertificate is not null) is { } inUse)
            {
                throw inUse;
            }

            throw;
        }

        var host = new RelayHost(app, relay, relayListen!, httpListen!, loggerFactory);
        relay.CardEndpoint = options.Relay.PublicEndpoint ?? host.RelayEndPoint.ToString();
        relay.AttachmentUrlPrefix = AttachmentOptions.UrlPrefix(options.Attachments.PublicBaseUrl ?? "http://" + host.HttpEndPoint);
        RelayLog.RelayListening(relay.Logger, host.RelayEndPoint.ToString());
        RelayLog.TokensLoaded(relay.Logger, relay.Tokens.ValidCount, relay.Tokens.Path);
        if (relay.TlsPin.Length > 0)
        {
            RelayLog.TlsPin(relay.Logger, Convert.ToHexStringLower(relay.TlsPin));
        }

        RelayLog.HttpListening(relay.Logger, host.HttpEndPoint.ToString());
        return host;
    }

    /// <summary>Runs until the process is asked to stop (SIGTERM, Ctrl+C) or <paramref name="cancellationToken"/> fires, then drains.</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        await _app.WaitForShutdownAsync(cancellationToken);
        await StopAsync();
    }

    /// <summary>
    /// Graceful stop: no new connections or requests; replies already queued are sent once their commit
    /// lands; then the log takes a final commit and closes. Nothing uncommitted is ever acknowledged.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        RelayLog.Draining(Server.Logger, Server.ConnectionCount);
        Server.BeginShutdown();
        await _app.StopAsync();

        // The store commits once more as it closes (a last maintenance pass, the final snapshot), and says so in
        // its own closing line: this line reports that final address, read after the close, so the two agree.
        // Another backend (the tests' in-memory one) takes no closing commit and cannot be read once closed.
        var faster = Server.Storage as FasterStorage;
        var committed = faster is null ? Server.Storage.GetStatistics().LogDurableAddress : 0;
        await Server.DisposeAsync();
        RelayLog.Stopped(Server.Logger, faster?.CommittedUntilAddress ?? committed);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        _loggerFactory.Dispose();
    }
}
