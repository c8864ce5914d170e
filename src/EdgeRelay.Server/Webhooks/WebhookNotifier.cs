using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using EdgeRelay.Delivery;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Webhooks;

/// <summary>
/// Wakes apps by POSTing a content-free body to the endpoint they registered, the way a Web Push
/// application server talks to a UnifiedPush distributor or any plain webhook.
/// </summary>
/// <remarks>
/// <para>
/// Each endpoint has at most one wake-up pending. Wakes for an endpoint whose wake-up is queued or waiting
/// to retry are absorbed, since the app fetches everything once woken. A Wake that arrives while a try is
/// in flight is absorbed too, but earns one more POST after a successful try: that try may already have
/// woken the app before the new message was stored.
/// </para>
/// <para>
/// A few workers send, so one slow endpoint holds up one worker for at most <see cref="NotifyOptions.RequestTimeout"/>;
/// back-off waits hold no worker. Waits run on the given <see cref="TimeProvider"/>; request time-outs run on
/// the real clock, because they bound real I/O.
/// </para>
/// </remarks>
public sealed class WebhookNotifier : IWakeupNotifier
{
    /// <summary>Concurrent POSTs. Four keep a hung endpoint from stopping the rest without many idle sockets.</summary>
    private const int WorkerCount = 4;

    /// <summary>Web Push's longest-kept lifetime in practice (one day): an app offline for hours still wakes when it returns.</summary>
    private const string TimeToLive = "86400";

    /// <summary>Any fixed body works; push servers and webhooks alike want one, and this says nothing about the message.</summary>
    private static readonly byte[] WakeBody = "wake"u8.ToArray();

    private readonly NotifyOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _client;
    private readonly Channel<Pending> _queue;
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task[] _workers;
    private bool _closed;
    private bool _full;
    private int _disposing;
    private long _delivered;
    private long _failed;
    private long _retries;
    private long _coalesced;
    private long _dropped;

    /// <param name="handler">
    /// Replaces the guarded socket handler, for deployments that send through their own egress proxy; the
    /// private-network guard is then that handler's job (only the URL check still applies). It is not disposed.
    /// </param>
    public WebhookNotifier(NotifyOptions options, TimeProvider time, ILogger logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _client = handler is null
            ? new HttpClient(WebhookEndpoints.CreateGuardedHandler(options), disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        _client.Timeout = options.RequestTimeout;

        // Unbounded because _pending bounds it: it never holds more entries than there are pending endpoints,
        // and a retry coming back from its wait must never find it full.
        _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
        _workers = new Task[WorkerCount];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(WorkAsync);
        }
    }

    /// <summary>Wake-ups an endpoint accepted (a 2xx answer).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Wake-ups given up on: refused, answered with a final 4xx, or still failing after <see cref="NotifyOptions.MaxAttempts"/>.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Tries scheduled after a failed one. Counted once the back-off wait is armed.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Wakes absorbed by a wake-up already pending for the same endpoint.</summary>
    public long Coalesced => Interlocked.Read(ref _coalesced);

    /// <summary>Wakes refused because <see cref="NotifyOptions.MaxQueue"/> endpoints were pending, or the notifier was disposed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Checks an endpoint URL a client wants to register: absolute, https (http only if allowed), no user
    /// info, not too long, and, unless private networks are allowed, not an internal IP literal. A host name
    /// is checked again at every connection, on the addresses it resolves to.
    /// </summary>
    /// <param name="problem">Why it was refused, for the client; it never repeats the URL.</param>
    public static bool TryValidateEndpoint(string url, NotifyOptions options, [NotNullWhen(false)] out string? problem)
    {
        problem = WebhookEndpoints.Check(url, options);
        return problem is null;
    }

    /// <inheritdoc />
    public bool Wake(string endpoint)
    {
        var firstDrop = false;
        int pendingCount;
        lock (_gate)
        {
            if (_closed)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }

            if (_pending.TryGetValue(endpoint, out var pending))
            {
                if (pending.State == PendingState.Sending)
                {
                    pending.State = PendingState.SendingAgain;
                }

                Interlocked.Increment(ref _coalesced);
                return true;
            }

            pendingCount = _pending.Count;
            if (pendingCount < _options.MaxQueue)
            {
                _full = false;
                pending = new Pending(endpoint);
                _pending.Add(endpoint, pending);
                _queue.Writer.TryWrite(pending);
                return true;
            }

            Interlocked.Increment(ref _dropped);

            // Logged once per episode of a full queue: a flood of drops must not become a flood of log lines.
            firstDrop = !_full;
            _full = true;
        }

        if (firstDrop)
        {
            NotifyLog.QueueFull(_logger, pendingCount);
        }

        return false;
    }

    /// <summary>Stops taking wake-ups, abandons those pending (waits and requests in flight are cancelled), and waits for the workers to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) != 0)
        {
            await _stopped.Task;
            return;
        }

        lock (_gate)
        {
            _closed = true;
            _pending.Clear();
        }

        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await Task.WhenAll(_workers);
        _client.Dispose();
        _stopping.Dispose();
        _stopped.TrySetResult();
    }

    private async Task WorkAsync()
    {
        var cancellationToken = _stopping.Token;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(cancellationToken))
            {
                while (_queue.Reader.TryRead(out var pending))
                {
                    try
                    {
                        await TryOnceAsync(pending, cancellationToken);
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        // A bug here must cost one wake-up, not a worker.
                        GiveUp(pending, "unexpected " + e.GetType().Name);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task TryOnceAsync(Pending pending, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            pending.State = PendingState.Sending;
        }

        pending.Attempts++;
        if (pending.Uri is null)
        {
            // Checked again here, so that an endpoint which skipped registration's check still meets the same rules.
            if (WebhookEndpoints.Check(pending.Endpoint, _options) is { } problem)
            {
                GiveUp(pending, "unusable endpoint: " + problem.TrimEnd('.'));
                return;
            }

            pending.Uri = new Uri(pending.Endpoint, UriKind.Absolute);
            pending.Origin = pending.Uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
        }

        var outcome = await SendAsync(pending.Uri, cancellationToken);
        if (outcome.Kind == OutcomeKind.Delivered)
        {
            Interlocked.Increment(ref _delivered);
            NotifyLog.Delivered(_logger, pending.Origin, pending.Attempts);
            lock (_gate)
            {
                if (pending.State == PendingState.SendingAgain && !_closed)
                {
                    pending.State = PendingState.Queued;
                    pending.Attempts = 0;
                    _queue.Writer.TryWrite(pending);
                }
                else
                {
                    _pending.Remove(pending.Endpoint);
                }
            }

            return;
        }

        if (outcome.Kind == OutcomeKind.GiveUp || pending.Attempts >= _options.MaxAttempts)
        {
            GiveUp(pending, outcome.Reason);
            return;
        }

        var delay = Backoff(pending.Attempts, outcome.RetryAfter);
        lock (_gate)
        {
            // A Wake during the failed try is covered by the retry, which comes after it.
            pending.State = PendingState.Waiting;
        }

        _ = RequeueAfterAsync(pending, delay, cancellationToken);

        // Counted after the wait is armed, so that whoever sees the count may advance a fake clock past it.
        Interlocked.Increment(ref _retries);
        NotifyLog.Retrying(_logger, pending.Origin, outcome.Reason, pending.Attempts + 1, _options.MaxAttempts, (long)delay.TotalMilliseconds);
    }

    private void GiveUp(Pending pending, string reason)
    {
        Interlocked.Increment(ref _failed);
        NotifyLog.GaveUp(_logger, pending.Origin, pending.Attempts, reason);
        lock (_gate)
        {
            _pending.Remove(pending.Endpoint);
        }
    }

    private async Task RequeueAfterAsync(Pending pending, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_gate)
        {
            if (!_closed)
            {
                pending.State = PendingState.Queued;
                _queue.Writer.TryWrite(pending);
            }
        }
    }

    /// <summary>
    /// InitialBackoff doubled per failed try, capped at MaxBackoff, never shorter than a server's Retry-After
    /// (itself capped), plus up to 20 % so that endpoints failing together do not retry together.
    /// </summary>
    private TimeSpan Backoff(int failedAttempts, TimeSpan? retryAfter)
    {
        var cap = (double)_options.MaxBackoff.Ticks;
        var ticks = Math.Min(_options.InitialBackoff.Ticks * Math.Pow(2, failedAttempts - 1), cap);
        if (retryAfter is { } hint)
        {
            ticks = Math.Max(ticks, Math.Min(hint.Ticks, cap));
        }

        ticks += ticks * 0.2 * RandomNumberGenerator.GetInt32(1001) / 1000;
        return TimeSpan.FromTicks((long)ticks);
    }

    private async Task<Outcome> SendAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(WakeBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        // The Web Push headers (RFC 8030) UnifiedPush distributors read; a plain webhook ignores them.
        request.Headers.TryAddWithoutValidation("TTL", TimeToLive);
        request.Headers.TryAddWithoutValidation("Urgency", "high");
        try
        {
            // Headers only: the answer's body is never read, so an endpoint cannot make the relay download anything.
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => new Outcome(OutcomeKind.Delivered, string.Empty, null),
                408 or 429 or (>= 500 and < 600) => new Outcome(OutcomeKind.Retry, StatusReason(status), response.Headers.RetryAfter?.Delta),

                // 404 and 410 say the registration is gone; other answers will not change by asking again.
                _ => new Outcome(OutcomeKind.GiveUp, StatusReason(status), null),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Outcome(OutcomeKind.Retry, "time-out", null);
        }
        catch (HttpRequestException e) when (WebhookEndpoints.IsInternalAddressRefusal(e))
        {
            return new Outcome(OutcomeKind.GiveUp, "refused: the host resolves only to internal addresses", null);
        }
        catch (HttpRequestException e)
        {
            // The error kind, not the message: messages may quote the request URI.
            return new Outcome(OutcomeKind.Retry, "network error: " + e.HttpRequestError, null);
        }
    }

    private static string StatusReason(int status) => "HTTP " + status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private enum PendingState
    {
        Queued,
        Sending,

        /// <summary>Woken again while a try was in flight: one more POST after a successful try.</summary>
        SendingAgain,
        Waiting,
    }

    private enum OutcomeKind
    {
        Delivered,
        Retry,
        GiveUp,
    }

    private readonly record struct Outcome(OutcomeKind Kind, string Reason, TimeSpan? RetryAfter);

    /// <summary>The one wake-up pending for an endpoint. State changes under the gate; the rest belongs to the worker holding it.</summary>
    private sealed class Pending(string endpoint)
    {
        public string Endpoint { get; } = endpoint;

        public PendingState State { get; set; }

        public int Attempts { get; set; }

        public Uri? Uri { get; set; }

        /// <summary>What logs show of the endpoint; until the URL is checked, nothing of it.</summary>
        public string Origin { get; set; } = "(unchecked endpoint)";
    }

}
