using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// One request a <see cref="WakeReceiver"/> got: what it carried, the time on the test's clock when it
/// arrived, and its place in the one order shared by requests and the test's marks.
/// </summary>
internal sealed record ReceivedWake(string Method, string PathAndQuery, string? ContentType, string? Ttl, string? Urgency, string Body, DateTimeOffset At, long Order);

/// <summary>
/// A push endpoint on 127.0.0.1, port 0: records every request on arrival, before answering it, answers from
/// a script (then 200), and can hold its answers until released.
/// </summary>
/// <remarks>
/// Each request is stamped with the test's clock and placed in one order with the test's marks
/// (<see cref="Mark"/>), so a test checks what held when a request came (it came no sooner than a back-off
/// ended on that clock, it came after the owner was back) instead of sleeping to see that nothing came early.
/// </remarks>
internal sealed class WakeReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<(int Status, int? RetryAfter)> _script = new();
    private readonly Lock _lock = new();
    private readonly List<ReceivedWake> _received = [];
    private readonly TimeProvider _clock;
    private WebApplication _app = null!;
    private TaskCompletionSource _gate = Released();
    private long _order;
    private int _connections;
    private int _aborted;

    private WakeReceiver(TimeProvider clock) => _clock = clock;

    public string Origin { get; private set; } = string.Empty;

    private int Port { get; set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _received.Count;
            }
        }
    }

    /// <summary>Every request so far, in the order they arrived.</summary>
    public IReadOnlyList<ReceivedWake> Received
    {
        get
        {
            lock (_lock)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>TCP connections accepted: zero means nothing ever reached this endpoint, not even a refused request.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Requests whose client went away while their answer was held.</summary>
    public int Aborted => Volatile.Read(ref _aborted);

    /// <param name="clock">What each request's arrival is stamped with: the clock the code under test waits on.</param>
    public static async Task<WakeReceiver> StartAsync(TimeProvider? clock = null)
    {
        var receiver = new WakeReceiver(clock ?? TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref receiver._connections);
            return next(connection);
        })));
        receiver._app = builder.Build();
        receiver._app.Run(receiver.HandleAsync);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        receiver.Port = new Uri(address).Port;
        receiver.Origin = "http://127.0.0.1:" + receiver.Port;
        return receiver;
    }

    public string Url(string pathAndQuery, string host = "127.0.0.1") => $"http://{host}:{Port}{pathAndQuery}";

    /// <summary>The requests to one path, in the order they arrived.</summary>
    public IReadOnlyList<ReceivedWake> To(string pathAndQuery) => Received.Where(w => w.PathAndQuery == pathAndQuery).ToArray();

    /// <summary>Puts a mark of the test's among the requests: a request arriving later has a greater <see cref="ReceivedWake.Order"/>.</summary>
    public long Mark()
    {
        lock (_lock)
        {
            return ++_order;
        }
    }

    /// <summary>The next requests get these answers, in order.</summary>
    public void Respond(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _script.Enqueue((status, null));
        }
    }

    public void Respond(int status, int retryAfterSeconds) => _script.Enqueue((status, retryAfterSeconds));

    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static TaskCompletionSource Released()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var answer = _script.TryDequeue(out var scripted) ? scripted : (200, null);
        lock (_lock)
        {
            _received.Add(new ReceivedWake(
                request.Method,
                request.Path + request.QueryString,
                request.ContentType,
                request.Headers["TTL"].SingleOrDefault(),
                request.Headers["Urgency"].SingleOrDefault(),
                body,
                _clock.GetUtcNow(),
                ++_order));
        }

        try
        {
            await _gate.Task.WaitAsync(context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _aborted);
            return;
        }

        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
