using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Tests;

/// <summary>One request a <see cref="WakeReceiver"/> got.</summary>
internal sealed record ReceivedWake(string Method, string PathAndQuery, string? ContentType, string? Ttl, string? Urgency, string Body);

/// <summary>
/// A push endpoint on 127.0.0.1, port 0: records every request on arrival, answers from a script
/// (then 200), and can hold its answers until released.
/// </summary>
internal sealed class WakeReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<(int Status, int? RetryAfter)> _script = new();
    private readonly ConcurrentQueue<ReceivedWake> _received = new();
    private WebApplication _app = null!;
    private TaskCompletionSource _gate = Released();

    public string Origin { get; private set; } = string.Empty;

    private int Port { get; set; }

    public int Count => _received.Count;

    public IReadOnlyCollection<ReceivedWake> Received => _received.ToArray();

    public static async Task<WakeReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var receiver = new WakeReceiver { _app = builder.Build() };
        receiver._app.Run(receiver.HandleAsync);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        receiver.Port = new Uri(address).Port;
        receiver.Origin = "http://127.0.0.1:" + receiver.Port;
        return receiver;
    }

    public string Url(string pathAndQuery, string host = "127.0.0.1") => $"http://{host}:{Port}{pathAndQuery}";

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
        _received.Enqueue(new ReceivedWake(
            request.Method,
            request.Path + request.QueryString,
            request.ContentType,
            request.Headers["TTL"].SingleOrDefault(),
            request.Headers["Urgency"].SingleOrDefault(),
            body));

        await _gate.Task.WaitAsync(context.RequestAborted);
        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
