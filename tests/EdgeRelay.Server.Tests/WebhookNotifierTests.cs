using System.Collections.Concurrent;
using System.Net;
using EdgeRelay.Server.Webhooks;
using EdgeRelay.Testing;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The webhook notifier against a real HTTP receiver on loopback. Back-off waits run on a fake clock, so a
/// retry happens exactly when a test advances it; HTTP itself runs on the real one.
/// </summary>
/// <remarks>
/// No test sleeps to see that something does not happen. A back-off is a timer on the clock: the test waits
/// until it is created, learns its exact length, and advances the clock to its last tick and then past it.
/// The receiver stamps each request with that clock and places it among the test's marks, so a request that
/// came too early shows in its stamp. A try's requests are all recorded before its answer, so a counter that
/// says the try ended also says how many requests it made. And "never again" is <see cref="WhenIdleAsync"/>:
/// once the notifier takes another endpoint, it holds nothing of the test's own. Longer than most test files
/// because each retry rule needs its clock steps spelled out; the endpoint checks are in WebhookEndpointsTests.
/// </remarks>
public sealed class WebhookNotifierTests
{
    /// <summary>Part of every endpoint path: it must never reach a log line.</summary>
    private const string Secret = "s3cr3t-capability";

    /// <summary>Where <see cref="WhenIdleAsync"/> sends its probe.</summary>
    private const string ProbePath = "/probe";

    private static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);

    private readonly ObservableClock _time = new(DateTimeOffset.UtcNow);
    private readonly ListLogger _logger = new();

    /// <summary>
    /// One endpoint pending at a time unless a test says otherwise: each test wakes one endpoint, and this is
    /// what lets <see cref="WhenIdleAsync"/> tell when the notifier is done with it.
    /// </summary>
    private static NotifyOptions Options(Action<NotifyOptions>? configure = null)
    {
        var options = new NotifyOptions { AllowHttp = true, AllowPrivateNetworks = true, InitialBackoff = InitialBackoff, MaxQueue = 1 };
        configure?.Invoke(options);
        return options;
    }

    private WebhookNotifier Notifier(NotifyOptions options) => new(options, _time, _logger);

    /// <summary>
    /// Waits until the notifier is done with every endpoint it holds. With MaxQueue 1 it takes a new endpoint
    /// only while none is queued, in flight or waiting to retry, and it posts only the endpoints it holds: once
    /// the probe is taken, nothing the test woke can be posted or retried again. Counters are read before this:
    /// the probe is a wake-up of its own (and each refusal while waiting counts as dropped).
    /// </summary>
    private static Task WhenIdleAsync(WebhookNotifier notifier, WakeReceiver receiver) =>
        Eventually.TrueAsync(() => notifier.Wake(receiver.Url(ProbePath)), "the notifier to be done with every endpoint it held");

    private void AssertNoLogQuotesTheEndpoint() =>
        Assert.DoesNotContain(_logger.Entries, e => e.Message.Contains(Secret, StringComparison.Ordinal));

    /// <summary>The one entry with this event id, waited for: the notifier logs just after it counts.</summary>
    private async Task<LogEntry> LoggedAsync(int eventId)
    {
        await Eventually.TrueAsync(() => _logger.Entries.Any(e => e.Id == eventId), $"log event {eventId}");
        return Assert.Single(_logger.Entries, e => e.Id == eventId);
    }

    [Fact]
    public async Task A_wakeup_is_posted_once_with_a_fixed_body_and_the_web_push_headers()
    {
        const string path = "/up/" + Secret + "?v=1";
        await using var receiver = await WakeReceiver.StartAsync(_time);
        await using var notifier = Notifier(Options());

        Assert.True(notifier.Wake(receiver.Url(path)));
        await Eventually.TrueAsync(() => notifier.Delivered >= 1, "the wake-up delivered");

        // A second POST of the same try would have been recorded before its answer, so before this count.
        var wake = Assert.Single(receiver.Received);
        Assert.Equal("POST", wake.Method);
        Assert.Equal(path, wake.PathAndQuery);
        Assert.Equal("wake", wake.Body);
        Assert.Equal("application/octet-stream", wake.ContentType);
        Assert.Equal("86400", wake.Ttl);
        Assert.Equal("high", wake.Urgency);
        Assert.Equal((1L, 0L, 0L, 0L, 0L), (notifier.Delivered, notifier.Failed, notifier.Retries, notifier.Coalesced, notifier.Dropped));

        var delivered = await LoggedAsync(4001);
        Assert.Equal(LogLevel.Debug, delivered.Level);
        Assert.Contains(receiver.Origin, delivered.Message, StringComparison.Ordinal);

        await WhenIdleAsync(notifier, receiver);
        Assert.Single(receiver.To(path));
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_500_is_retried_once_after_the_backoff_and_then_delivered()
    {
        const string path = "/up/" + Secret;
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(500);
        await using var notifier = Notifier(Options());
        var start = _time.GetUtcNow();
        var parked = _time.WhenTimerCreated(TimeSpan.Zero);

        Assert.True(notifier.Wake(receiver.Url(path)));
        var backoff = await parked.Within();

        // Jitter only lengthens the back-off, by up to 20 %.
        Assert.InRange(backoff, InitialBackoff, InitialBackoff * 1.2);
        await Eventually.TrueAsync(() => notifier.Retries >= 1, "the retry counted");
        Assert.Equal(1, receiver.Count);

        // The last tick of the back-off leaves the retry parked; the tick that ends it sends it.
        _time.Advance(backoff - TimeSpan.FromTicks(1));
        Assert.Equal(0, notifier.Delivered);
        _time.Advance(TimeSpan.FromTicks(1));
        await Eventually.TrueAsync(() => notifier.Delivered >= 1, "delivered on the retry");

        var (first, retry) = (receiver.Received[0], receiver.Received[1]);
        Assert.Equal(start, first.At);
        Assert.Equal(start + backoff, retry.At); // a retry sent before the back-off ended would carry an earlier time
        Assert.Equal(2, receiver.Count);
        Assert.Equal((1L, 1L, 0L), (notifier.Delivered, notifier.Retries, notifier.Failed));
        Assert.Equal(LogLevel.Information, (await LoggedAsync(4002)).Level);

        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(2, receiver.To(path).Count);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_429_waits_at_least_its_retry_after()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(429, retryAfterSeconds: 3);
        await using var notifier = Notifier(Options());
        var start = _time.GetUtcNow();
        var parked = _time.WhenTimerCreated(TimeSpan.Zero);

        notifier.Wake(receiver.Url("/up"));
        var backoff = await parked.Within();

        // The server's 3 s, not the 1 s back-off; jitter adds up to 20 %.
        Assert.InRange(backoff, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3.6));
        await Eventually.TrueAsync(() => notifier.Retries >= 1, "the retry counted");
        Assert.Equal(1, receiver.Count);

        _time.Advance(backoff - TimeSpan.FromTicks(1));
        _time.Advance(TimeSpan.FromTicks(1));
        await Eventually.TrueAsync(() => notifier.Delivered >= 1, "delivered after the Retry-After");
        Assert.Equal(2, receiver.Count);
        Assert.Equal((1L, 1L), (notifier.Delivered, notifier.Retries));
        Assert.True(receiver.Received[1].At - start >= TimeSpan.FromSeconds(3), $"retried {receiver.Received[1].At - start} after the 429");

        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(2, receiver.To("/up").Count);
    }

    [Fact]
    public async Task A_410_is_not_retried_and_counts_as_failed()
    {
        const string path = "/up/" + Secret;
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(410);
        await using var notifier = Notifier(Options());
        var backoff = _time.WhenTimerCreated(TimeSpan.Zero);

        notifier.Wake(receiver.Url(path));
        await Eventually.TrueAsync(() => notifier.Failed >= 1, "given up");

        // The try that gave up is the one that would have armed a back-off, and every retry waits on one.
        Assert.False(backoff.IsCompleted, "a back-off was armed for a 410");
        Assert.Equal(1, receiver.Count);
        Assert.Equal((1L, 0L, 0L), (notifier.Failed, notifier.Retries, notifier.Delivered));
        var gaveUp = await LoggedAsync(4003);
        Assert.Equal(LogLevel.Warning, gaveUp.Level);
        Assert.Contains("410", gaveUp.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(10));
        await WhenIdleAsync(notifier, receiver);
        Assert.Single(receiver.To(path));
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task It_gives_up_after_MaxAttempts()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(503, 503, 503, 503, 503);
        await using var notifier = Notifier(Options(o => o.MaxAttempts = 3));
        var parked = _time.WhenTimerCreated(TimeSpan.Zero);
        var due = new List<DateTimeOffset> { _time.GetUtcNow() };

        notifier.Wake(receiver.Url("/up"));
        for (var retry = 1; retry <= 2; retry++)
        {
            // InitialBackoff, doubled for each next retry, plus up to 20 %.
            var backoff = await parked.Within();
            var expected = InitialBackoff * Math.Pow(2, retry - 1);
            Assert.InRange(backoff, expected, expected * 1.2);
            await Eventually.TrueAsync(() => notifier.Retries >= retry, $"retry {retry} counted");
            Assert.Equal(retry, notifier.Retries);
            Assert.Equal(retry, receiver.Count);
            parked = _time.WhenTimerCreated(TimeSpan.Zero);
            _time.Advance(backoff);
            due.Add(_time.GetUtcNow());
        }

        await Eventually.TrueAsync(() => notifier.Failed >= 1, "given up");
        Assert.False(parked.IsCompleted, "a back-off was armed after the last allowed attempt");
        Assert.Equal(due, receiver.Received.Select(w => w.At)); // each try came when its back-off ended, none sooner
        Assert.Equal((1L, 2L, 0L), (notifier.Failed, notifier.Retries, notifier.Delivered));
        Assert.Contains("503", (await LoggedAsync(4003)).Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(10));
        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(3, receiver.To("/up").Count);
    }

    [Fact]
    public async Task Wakes_while_a_wakeup_waits_to_retry_are_coalesced_into_it()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(503);
        await using var notifier = Notifier(Options());
        var endpoint = receiver.Url("/up");
        var parked = _time.WhenTimerCreated(TimeSpan.Zero);

        Assert.True(notifier.Wake(endpoint));
        var backoff = await parked.Within();
        await Eventually.TrueAsync(() => notifier.Retries >= 1, "the retry counted");
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.Equal(3, notifier.Coalesced);

        _time.Advance(backoff);
        await Eventually.TrueAsync(() => notifier.Delivered >= 1, "delivered");
        Assert.Equal(2, receiver.Count);
        Assert.Equal((1L, 1L), (notifier.Delivered, notifier.Retries));

        _time.Advance(TimeSpan.FromMinutes(1));
        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(2, receiver.To("/up").Count);
    }

    [Fact]
    public async Task Wakes_during_a_post_in_flight_earn_exactly_one_more_post()
    {
        // The POST in flight may already have woken the app before the new messages were stored.
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Hold();
        await using var notifier = Notifier(Options());
        var endpoint = receiver.Url("/up");

        notifier.Wake(endpoint);
        await Eventually.TrueAsync(() => receiver.Count >= 1, "the first POST arrives");
        Assert.Equal(1, receiver.Count);
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.Equal(2, notifier.Coalesced);

        var answered = receiver.Mark();
        receiver.Release();
        await Eventually.TrueAsync(() => notifier.Delivered >= 2, "the follow-up is delivered");
        Assert.Equal(2, receiver.Count);
        Assert.Equal(2, notifier.Delivered);
        Assert.True(receiver.Received[1].Order > answered, "the follow-up was posted before the POST in flight was answered");

        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(2, receiver.To("/up").Count);
    }

    [Fact]
    public async Task A_full_queue_drops_new_endpoints_and_logs_once()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Hold();
        await using var notifier = Notifier(Options(o => o.MaxQueue = 2));

        Assert.True(notifier.Wake(receiver.Url("/a")));
        Assert.True(notifier.Wake(receiver.Url("/b")));
        Assert.False(notifier.Wake(receiver.Url("/c")));
        Assert.False(notifier.Wake(receiver.Url("/d")));
        Assert.True(notifier.Wake(receiver.Url("/a")));
        Assert.Equal((2L, 1L), (notifier.Dropped, notifier.Coalesced));
        Assert.Equal(LogLevel.Warning, Assert.Single(_logger.Entries, e => e.Id == 4004).Level);

        receiver.Release();
        await Eventually.TrueAsync(() => notifier.Delivered >= 2, "the held wake-ups complete");
        await Eventually.TrueAsync(() => notifier.Wake(receiver.Url("/c")), "room for a new endpoint");
        await Eventually.TrueAsync(() => receiver.To("/c").Count >= 1, "the new endpoint is woken");
        Assert.Empty(receiver.To("/d"));
    }

    [Fact]
    public async Task A_host_name_resolving_to_loopback_is_refused_at_connect_time()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        var options = Options(o => o.AllowPrivateNetworks = false);
        await using var notifier = Notifier(options);
        var endpoint = receiver.Url("/up/" + Secret, host: "localhost");
        var backoff = _time.WhenTimerCreated(TimeSpan.Zero);

        // The name says nothing about where it points: only the connection can tell.
        Assert.True(WebhookNotifier.TryValidateEndpoint(endpoint, options, out var problem), problem);
        notifier.Wake(endpoint);
        await Eventually.TrueAsync(() => notifier.Failed >= 1, "refused");

        Assert.False(backoff.IsCompleted, "a back-off was armed for a refused endpoint");
        Assert.Equal((1L, 0L), (notifier.Failed, notifier.Retries));
        Assert.Contains("resolves only to internal", (await LoggedAsync(4003)).Message, StringComparison.Ordinal);

        // The probe goes to loopback too and is refused the same way; being taken is all it has to prove.
        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(0, receiver.Count);
        Assert.Equal(0, receiver.Connections);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_host_name_resolving_to_loopback_is_delivered_when_private_networks_are_allowed()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        await using var notifier = Notifier(Options());

        notifier.Wake(receiver.Url("/up", host: "localhost"));
        await Eventually.TrueAsync(() => notifier.Delivered >= 1, "delivered");
        Assert.Equal(1, notifier.Delivered);
        Assert.Equal(1, receiver.Count);
    }

    [Fact]
    public async Task An_internal_literal_that_skipped_validation_is_refused_before_any_request()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        await using var notifier = Notifier(Options(o => o.AllowPrivateNetworks = false));
        var backoff = _time.WhenTimerCreated(TimeSpan.Zero);

        notifier.Wake(receiver.Url("/up"));
        await Eventually.TrueAsync(() => notifier.Failed >= 1, "refused");
        Assert.False(backoff.IsCompleted, "a back-off was armed for a refused endpoint");
        Assert.Equal((1L, 0L), (notifier.Failed, notifier.Retries));
        Assert.Contains("internal", (await LoggedAsync(4003)).Message, StringComparison.Ordinal);

        await WhenIdleAsync(notifier, receiver);
        Assert.Equal(0, receiver.Count);
        Assert.Equal(0, receiver.Connections);
    }

    [Fact]
    public async Task DisposeAsync_with_a_wakeup_in_backoff_returns_promptly()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Respond(503);
        var notifier = Notifier(Options(o => o.MaxBackoff = TimeSpan.FromHours(1)));
        var parked = _time.WhenTimerCreated(TimeSpan.Zero);
        notifier.Wake(receiver.Url("/up"));
        await parked.Within();
        await Eventually.TrueAsync(() => notifier.Retries >= 1, "the retry counted");
        Assert.Equal(1, notifier.Retries);

        // The fake clock never reaches the back-off: a dispose that waited for it would never return.
        await notifier.DisposeAsync().AsTask().Within();
        await notifier.DisposeAsync();

        Assert.False(notifier.Wake(receiver.Url("/up")));
        Assert.False(notifier.Wake(receiver.Url("/other")));
        Assert.Equal(2, notifier.Dropped);

        // Dispose returned once every worker had ended, and only workers post: the abandoned retry's time
        // coming changes nothing.
        _time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(1, receiver.Count);
    }

    [Fact]
    public async Task DisposeAsync_cancels_a_post_in_flight()
    {
        await using var receiver = await WakeReceiver.StartAsync(_time);
        receiver.Hold();
        var notifier = Notifier(Options(o => o.RequestTimeout = TimeSpan.FromMinutes(5)));
        notifier.Wake(receiver.Url("/up"));
        await Eventually.TrueAsync(() => receiver.Count >= 1, "the POST arrives");

        // The receiver holds the answer and the request's time-out is minutes away: returning within the
        // bound means the POST was cancelled, not waited out.
        await notifier.DisposeAsync().AsTask().Within();
        Assert.Equal((0L, 0L), (notifier.Delivered, notifier.Failed));
        await Eventually.TrueAsync(() => receiver.Aborted >= 1, "the receiver to see the POST abandoned");
        Assert.Equal(1, receiver.Aborted);
    }

    [Fact]
    public void NotifyOptions_defaults_are_valid_and_each_bad_option_is_named()
    {
        var problems = new List<string>();
        new NotifyOptions().Validate(problems);
        Assert.Empty(problems);

        new NotifyOptions
        {
            MaxAttempts = 0,
            InitialBackoff = TimeSpan.Zero,
            MaxBackoff = TimeSpan.FromHours(2),
            RequestTimeout = TimeSpan.FromSeconds(-1),
            MaxQueue = 0,
            MaxEndpointLength = 10,
        }.Validate(problems);
        Assert.Contains("Notify:MaxAttempts: 0 is out of range [1, 100].", problems);
        foreach (var name in new[] { "InitialBackoff", "MaxBackoff", "RequestTimeout", "MaxQueue", "MaxEndpointLength" })
        {
            Assert.Contains(problems, p => p.StartsWith("Notify:" + name + ":", StringComparison.Ordinal));
        }

        problems.Clear();
        new NotifyOptions { InitialBackoff = TimeSpan.FromMinutes(2), MaxBackoff = TimeSpan.FromMinutes(1) }.Validate(problems);
        Assert.Equal("Notify:InitialBackoff: must not exceed Notify:MaxBackoff.", Assert.Single(problems));
    }

    private sealed record LogEntry(LogLevel Level, int Id, string Message);

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyCollection<LogEntry> Entries => _entries.ToArray();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception)));
    }

}
