using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using EdgeRelay.Server.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The webhook notifier against a real HTTP receiver on loopback. Back-off waits run on a fake clock, so a
/// retry happens exactly when a test advances it; HTTP itself runs on the real one.
/// </summary>
public sealed class WebhookNotifierTests
{
    /// <summary>Part of every endpoint path: it must never reach a log line.</summary>
    private const string Secret = "s3cr3t-capability";

    private static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ListLogger _logger = new();

    private static NotifyOptions Options(Action<NotifyOptions>? configure = null)
    {
        var options = new NotifyOptions { AllowHttp = true, AllowPrivateNetworks = true, InitialBackoff = InitialBackoff };
        configure?.Invoke(options);
        return options;
    }

    private WebhookNotifier Notifier(NotifyOptions options) => new(options, _time, _logger);

    /// <summary>For what must happen: a generous deadline, so a slow machine is not a failure.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(5))
            {
                Assert.Fail("Timed out waiting until " + what);
            }

            await Task.Delay(10);
        }
    }

    /// <summary>For what must not happen: gives the workers a moment in which they would have done it.</summary>
    private static Task Settle() => Task.Delay(150);

    private void AssertNoLogQuotesTheEndpoint() =>
        Assert.DoesNotContain(_logger.Entries, e => e.Message.Contains(Secret, StringComparison.Ordinal));

    [Fact]
    public async Task A_wakeup_is_posted_once_with_a_fixed_body_and_the_web_push_headers()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        await using var notifier = Notifier(Options());

        Assert.True(notifier.Wake(receiver.Url("/up/" + Secret + "?v=1")));
        await Until(() => notifier.Delivered == 1, "delivered");
        await Settle();

        var wake = Assert.Single(receiver.Received);
        Assert.Equal("POST", wake.Method);
        Assert.Equal("/up/" + Secret + "?v=1", wake.PathAndQuery);
        Assert.Equal("wake", wake.Body);
        Assert.Equal("application/octet-stream", wake.ContentType);
        Assert.Equal("86400", wake.Ttl);
        Assert.Equal("high", wake.Urgency);
        Assert.Equal((0L, 0L, 0L, 0L), (notifier.Failed, notifier.Retries, notifier.Coalesced, notifier.Dropped));

        var delivered = Assert.Single(_logger.Entries, e => e.Id == 4001);
        Assert.Equal(LogLevel.Debug, delivered.Level);
        Assert.Contains(receiver.Origin, delivered.Message, StringComparison.Ordinal);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_500_is_retried_once_after_the_backoff_and_then_delivered()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(500);
        await using var notifier = Notifier(Options());

        Assert.True(notifier.Wake(receiver.Url("/up/" + Secret)));
        await Until(() => notifier.Retries == 1, "a retry is scheduled");
        Assert.Equal(1, receiver.Count);

        // Jitter only lengthens the back-off, so just short of InitialBackoff is always too early...
        _time.Advance(InitialBackoff - TimeSpan.FromMilliseconds(1));
        await Settle();
        Assert.Equal(1, receiver.Count);
        Assert.Equal(0, notifier.Delivered);

        // ...and InitialBackoff plus 20 % always late enough.
        _time.Advance(InitialBackoff * 0.2 + TimeSpan.FromMilliseconds(2));
        await Until(() => notifier.Delivered == 1, "delivered on the retry");
        Assert.Equal(2, receiver.Count);
        Assert.Equal((1L, 0L), (notifier.Retries, notifier.Failed));
        Assert.Equal(LogLevel.Information, Assert.Single(_logger.Entries, e => e.Id == 4002).Level);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_429_waits_at_least_its_retry_after()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(429, retryAfterSeconds: 3);
        await using var notifier = Notifier(Options());

        notifier.Wake(receiver.Url("/up"));
        await Until(() => notifier.Retries == 1, "a retry is scheduled");

        // Past the 1 s back-off with any jitter, still short of the server's 3 s.
        _time.Advance(TimeSpan.FromSeconds(2.9));
        await Settle();
        Assert.Equal(1, receiver.Count);

        _time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => notifier.Delivered == 1, "delivered after the Retry-After");
        Assert.Equal(2, receiver.Count);
    }

    [Fact]
    public async Task A_410_is_not_retried_and_counts_as_failed()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(410);
        await using var notifier = Notifier(Options());

        notifier.Wake(receiver.Url("/up/" + Secret));
        await Until(() => notifier.Failed == 1, "given up");
        _time.Advance(TimeSpan.FromMinutes(10));
        await Settle();

        Assert.Equal(1, receiver.Count);
        Assert.Equal((0L, 0L), (notifier.Retries, notifier.Delivered));
        var gaveUp = Assert.Single(_logger.Entries, e => e.Id == 4003);
        Assert.Equal(LogLevel.Warning, gaveUp.Level);
        Assert.Contains("410", gaveUp.Message, StringComparison.Ordinal);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task It_gives_up_after_MaxAttempts()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(503, 503, 503, 503, 503);
        await using var notifier = Notifier(Options(o => o.MaxAttempts = 3));

        notifier.Wake(receiver.Url("/up"));
        for (var retry = 1; retry <= 2; retry++)
        {
            await Until(() => notifier.Retries == retry, $"retry {retry} is scheduled");
            _time.Advance(TimeSpan.FromMinutes(2));
        }

        await Until(() => notifier.Failed == 1, "given up");
        _time.Advance(TimeSpan.FromMinutes(10));
        await Settle();
        Assert.Equal(3, receiver.Count);
        Assert.Equal((2L, 0L), (notifier.Retries, notifier.Delivered));
        Assert.Contains("503", Assert.Single(_logger.Entries, e => e.Id == 4003).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wakes_while_a_wakeup_waits_to_retry_are_coalesced_into_it()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(503);
        await using var notifier = Notifier(Options());
        var endpoint = receiver.Url("/up");

        Assert.True(notifier.Wake(endpoint));
        await Until(() => notifier.Retries == 1, "a retry is scheduled");
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.Equal(3, notifier.Coalesced);

        _time.Advance(TimeSpan.FromMinutes(1));
        await Until(() => notifier.Delivered == 1, "delivered");
        _time.Advance(TimeSpan.FromMinutes(1));
        await Settle();
        Assert.Equal(2, receiver.Count);
        Assert.Equal(1, notifier.Delivered);
    }

    [Fact]
    public async Task Wakes_during_a_post_in_flight_earn_exactly_one_more_post()
    {
        // The POST in flight may already have woken the app before the new messages were stored.
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Hold();
        await using var notifier = Notifier(Options());
        var endpoint = receiver.Url("/up");

        notifier.Wake(endpoint);
        await Until(() => receiver.Count == 1, "the first POST arrives");
        Assert.True(notifier.Wake(endpoint));
        Assert.True(notifier.Wake(endpoint));
        Assert.Equal(2, notifier.Coalesced);

        receiver.Release();
        await Until(() => notifier.Delivered == 2, "the follow-up is delivered");
        await Settle();
        Assert.Equal(2, receiver.Count);
    }

    [Fact]
    public async Task A_full_queue_drops_new_endpoints_and_logs_once()
    {
        await using var receiver = await WakeReceiver.StartAsync();
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
        await Until(() => notifier.Delivered >= 2, "the held wake-ups complete");
        await Until(() => notifier.Wake(receiver.Url("/c")), "room for a new endpoint");
        await Until(() => receiver.Received.Any(w => w.PathAndQuery == "/c"), "the new endpoint is woken");
    }

    [Theory]
    [InlineData("https://127.0.0.1/up")]
    [InlineData("https://127.8.9.10:8443/up")]
    [InlineData("https://[::1]/up")]
    [InlineData("https://[::ffff:127.0.0.1]/up")]
    [InlineData("https://0.0.0.0/up")]
    [InlineData("https://10.1.2.3/up")]
    [InlineData("https://172.16.0.9/up")]
    [InlineData("https://192.168.1.1/up")]
    [InlineData("https://100.64.0.1/up")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://[fe80::1]/up")]
    [InlineData("https://[fd12:3456::1]/up")]
    [InlineData("https://224.0.0.1/up")]
    [InlineData("https://[ff02::1]/up")]
    public void Internal_ip_literals_are_refused_unless_private_networks_are_allowed(string url)
    {
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions(), out var problem));
        Assert.Contains("internal", problem, StringComparison.Ordinal);
        Assert.True(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowPrivateNetworks = true }, out problem), problem);
    }

    [Theory]
    [InlineData("8.8.8.8", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("2002:808:808::1", false)]
    [InlineData("2002:7f00:1::1", true)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("::7f00:1", true)]
    [InlineData("::", true)]
    [InlineData("255.255.255.255", true)]
    public void Internal_addresses_are_recognised_in_every_form(string address, bool isInternal) =>
        Assert.Equal(isInternal, WebhookNotifier.IsInternal(IPAddress.Parse(address)));

    [Fact]
    public async Task A_host_name_resolving_to_loopback_is_refused_at_connect_time()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        var options = Options(o => o.AllowPrivateNetworks = false);
        await using var notifier = Notifier(options);
        var endpoint = receiver.Url("/up/" + Secret, host: "localhost");

        // The name says nothing about where it points: only the connection can tell.
        Assert.True(WebhookNotifier.TryValidateEndpoint(endpoint, options, out var problem), problem);
        notifier.Wake(endpoint);
        await Until(() => notifier.Failed == 1, "refused");
        await Settle();

        Assert.Equal(0, receiver.Count);
        Assert.Equal(0, notifier.Retries);
        Assert.Contains("resolves only to internal", Assert.Single(_logger.Entries, e => e.Id == 4003).Message, StringComparison.Ordinal);
        AssertNoLogQuotesTheEndpoint();
    }

    [Fact]
    public async Task A_host_name_resolving_to_loopback_is_delivered_when_private_networks_are_allowed()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        await using var notifier = Notifier(Options());

        notifier.Wake(receiver.Url("/up", host: "localhost"));
        await Until(() => notifier.Delivered == 1, "delivered");
        Assert.Equal(1, receiver.Count);
    }

    [Fact]
    public async Task An_internal_literal_that_skipped_validation_is_refused_before_any_request()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        await using var notifier = Notifier(Options(o => o.AllowPrivateNetworks = false));

        notifier.Wake(receiver.Url("/up"));
        await Until(() => notifier.Failed == 1, "refused");
        await Settle();
        Assert.Equal(0, receiver.Count);
    }

    [Fact]
    public void Http_is_refused_unless_allowed()
    {
        const string url = "http://push.example.org/up/" + Secret;
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions(), out var problem));
        Assert.Contains("https", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
        Assert.True(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowHttp = true }, out problem), problem);
        Assert.True(WebhookNotifier.TryValidateEndpoint("https://push.example.org/up/" + Secret, new NotifyOptions(), out problem), problem);
    }

    [Fact]
    public void User_info_is_refused()
    {
        Assert.False(WebhookNotifier.TryValidateEndpoint("https://user:" + Secret + "@push.example.org/up", new NotifyOptions(), out var problem));
        Assert.Contains("user info", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_over_long_endpoint_is_refused()
    {
        var options = new NotifyOptions { MaxEndpointLength = 100 };
        const string prefix = "https://push.example.org/";
        var longest = prefix + new string('a', 100 - prefix.Length);
        Assert.True(WebhookNotifier.TryValidateEndpoint(longest, options, out var problem), problem);
        Assert.False(WebhookNotifier.TryValidateEndpoint(longest + "a", options, out problem));
        Assert.Contains("longer than 100", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/up/relative")]
    [InlineData("push.example.org/up")]
    [InlineData("ftp://push.example.org/up")]
    [InlineData("file:///etc/passwd")]
    public void Anything_but_an_absolute_web_url_is_refused(string url) =>
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowHttp = true }, out _));

    [Fact]
    public async Task DisposeAsync_with_a_wakeup_in_backoff_returns_promptly()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Respond(503);
        var notifier = Notifier(Options(o => o.MaxBackoff = TimeSpan.FromHours(1)));
        notifier.Wake(receiver.Url("/up"));
        await Until(() => notifier.Retries == 1, "a retry is scheduled");

        var stopwatch = Stopwatch.StartNew();
        await notifier.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        await notifier.DisposeAsync();

        Assert.False(notifier.Wake(receiver.Url("/up")));
        Assert.False(notifier.Wake(receiver.Url("/other")));
        Assert.Equal(2, notifier.Dropped);
        _time.Advance(TimeSpan.FromHours(2));
        await Settle();
        Assert.Equal(1, receiver.Count);
    }

    [Fact]
    public async Task DisposeAsync_cancels_a_post_in_flight()
    {
        await using var receiver = await WakeReceiver.StartAsync();
        receiver.Hold();
        var notifier = Notifier(Options(o => o.RequestTimeout = TimeSpan.FromMinutes(1)));
        notifier.Wake(receiver.Url("/up"));
        await Until(() => receiver.Count == 1, "the POST arrives");

        var stopwatch = Stopwatch.StartNew();
        await notifier.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        Assert.Equal((0L, 0L), (notifier.Delivered, notifier.Failed));
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
