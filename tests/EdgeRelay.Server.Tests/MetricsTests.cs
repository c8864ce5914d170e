using System.Diagnostics;
using System.Globalization;
using EdgeRelay.Client;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server.Tests;

/// <summary>/metrics as Prometheus sees it: valid exposition format, and a real Prometheus scraping it.</summary>
public sealed class MetricsTests
{
    private static readonly string[] ExpectedFamilies =
    [
        "edgerelay_connections", "edgerelay_connections_accepted_total", "edgerelay_connections_closed_by_server_total",
        "edgerelay_frames_received_total", "edgerelay_received_bytes_total", "edgerelay_frames_sent_total", "edgerelay_sent_bytes_total",
        "edgerelay_sends_accepted_total", "edgerelay_requests_refused_total", "edgerelay_send_ack_latency_seconds",
        "edgerelay_log_commit_duration_seconds", "edgerelay_pending_messages", "edgerelay_pending_bytes",
        "edgerelay_log_size_bytes", "edgerelay_log_head_address", "edgerelay_log_tail_address",
        "edgerelay_resolution_cache_lookups_total", "edgerelay_delivery_latency_seconds", "edgerelay_push_subscribers",
        "edgerelay_messages_delivered_total", "edgerelay_messages_acked_total", "edgerelay_wakeups_total",
        "edgerelay_message_reads_total", "dotnet_collection_count_total", "process_cpu_seconds_total", "edgerelay_process_allocated_bytes_total",
        "edgerelay_storage_ready",
    ];

    [SkippableFact]
    public async Task The_metrics_endpoint_passes_promtool_and_has_every_family()
    {
        var promtool = PrometheusServer.Require("promtool");
        await using var relay = await TestRelay.StartAsync();
        await GenerateTrafficAsync(relay, sends: 50, garbage: 2);

        var text = await ScrapeAsync(relay);
        foreach (var family in ExpectedFamilies)
        {
            Assert.Contains($"# TYPE {family} ", text, StringComparison.Ordinal);
        }

        // One machine's relay: its store is ready, and it shows none of a shared store's metrics.
        Assert.Contains("\nedgerelay_storage_ready 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("edgerelay_cluster_", text, StringComparison.Ordinal);

        var allocated = text.Split('\n').Single(l => l.StartsWith("edgerelay_process_allocated_bytes_total ", StringComparison.Ordinal));
        Assert.True(double.Parse(allocated[(allocated.IndexOf(' ') + 1)..], CultureInfo.InvariantCulture) > 0, allocated);

        var check = new ProcessStartInfo(promtool, "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(check)!;
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "promtool check metrics: " + output);
    }

    [SkippableFact]
    public async Task A_real_prometheus_scraping_the_relay_sees_the_counts_the_rate_and_the_quantiles()
    {
        await using var relay = await TestRelay.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync(relay.Host.HttpEndPoint);

        // Prometheus applies its targets a few seconds after it is ready: start once it has scraped.
        await prometheus.WaitForScrapeAfterAsync(DateTimeOffset.MinValue);

        // A steady 200 SENDs per second for 6 s, then two refusals.
        using var owner = new Owner();
        await using var client = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(client);
        var ephemeral = RelayClient.DeriveEphemeralAddress(created.Card);
        var started = DateTimeOffset.UtcNow;
        var sent = 0;
        var progress = new List<(DateTimeOffset At, int Sent)> { (started, 0) };
        using (var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50)))
        {
            while (DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(6))
            {
                await tick.WaitForNextTickAsync();
                var due = (int)((DateTimeOffset.UtcNow - started).TotalSeconds * 200) - sent;
                await Task.WhenAll(Enumerable.Range(0, Math.Max(0, due)).Select(_ => client.SendAsync(ephemeral, "payload"u8.ToArray())));
                sent += Math.Max(0, due);
                progress.Add((DateTimeOffset.UtcNow, sent));
            }
        }

        for (var i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(Garbage(), "x"u8.ToArray()));
            Assert.Equal(ErrorCode.AddressInvalid, error.Code);
        }

        var finished = DateTimeOffset.UtcNow;
        await prometheus.WaitForScrapeAfterAsync(finished.AddMilliseconds(100));

        Assert.Equal(sent, await prometheus.QueryAsync("edgerelay_sends_accepted_total"));
        Assert.Equal(2, await prometheus.QueryAsync("edgerelay_requests_refused_total{code=\"ADDRESS_INVALID\"}"));
        Assert.Equal(sent + 2, await prometheus.QueryAsync("edgerelay_frames_received_total{command=\"send\"}"));

        // Mid-run, Prometheus' rate() over 4 s sees the pace the test kept in those 4 s. The bounds are
        // loose because rate() extrapolates from 1 s scrapes, and a busy machine delays both the sends
        // and the scrapes; a broken counter or rate would be off by far more.
        var at = started.AddSeconds(5);
        var pace = (SentAt(progress, at) - SentAt(progress, at.AddSeconds(-4))) / 4.0;
        var rate = await prometheus.QueryAsync("rate(edgerelay_sends_accepted_total[4s])", at);
        Assert.NotNull(rate);
        Assert.InRange(rate.Value, pace * 0.5, pace * 2.0);

        // The quantile Prometheus computes from the buckets is the one computed here from the same buckets.
        var text = await ScrapeAsync(relay);
        foreach (var q in new[] { 0.5, 0.9, 0.99 })
        {
            var expected = Quantile(q, Buckets(text, "edgerelay_send_ack_latency_seconds_bucket"));
            var actual = await prometheus.QueryAsync($"histogram_quantile({q.ToString(CultureInfo.InvariantCulture)}, edgerelay_send_ack_latency_seconds_bucket)");
            Assert.NotNull(actual);
            Assert.Equal(expected, actual.Value, 9);
            Assert.InRange(actual.Value, 0.00001, 1); // an ack on loopback takes more than 10 µs and less than a second
        }
    }

    [SkippableFact]
    public async Task The_shipped_prometheus_config_passes_promtool()
    {
        var promtool = PrometheusServer.Require("promtool");
        var check = new ProcessStartInfo(promtool) { RedirectStandardOutput = true, RedirectStandardError = true };
        check.ArgumentList.Add("check");
        check.ArgumentList.Add("config");
        check.ArgumentList.Add(ContainerTests.RepositoryFile("config/prometheus.yml"));
        using var process = Process.Start(check)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "promtool check config: " + output);
    }

    [Fact]
    public async Task Every_dashboard_query_names_metrics_the_relay_exports()
    {
        await using var relay = await TestRelay.StartAsync();
        var text = await ScrapeAsync(relay);
        using var dashboard = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(ContainerTests.RepositoryFile("config/grafana-dashboard.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            var names = System.Text.RegularExpressions.Regex.Matches(query, @"\b(edgerelay|process|dotnet)_[a-z_]+").Select(m => m.Value).ToList();
            Assert.NotEmpty(names);
            foreach (var name in names)
            {
                Assert.True(text.Contains("\n" + name, StringComparison.Ordinal) || text.Contains("\n" + name + "{", StringComparison.Ordinal), $"the dashboard queries {name}, which /metrics does not have ({query})");
            }
        }
    }

    [Fact]
    public void Hot_path_metric_updates_do_not_allocate()
    {
        var metrics = new EdgeRelay.Server.Metrics.RelayMetrics();
        void Updates()
        {
            metrics.FrameReceived(FrameType.Send, 1100);
            metrics.FrameSent(FrameType.Ok, 10);
            metrics.Refused(ErrorCode.AddressInvalid);
            metrics.Refused(ErrorCode.FrameTooLarge);
            metrics.SendsAccepted.Inc();
            metrics.AckLatency.Observe(0.003);
            metrics.DeliveryLatency.Observe(0.004);
            metrics.PushedMessages.Inc(3);
        }

        Updates(); // first use may initialise lazily
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Updates();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>How many sends had completed at <paramref name="at"/>, from the test's own record.</summary>
    private static int SentAt(List<(DateTimeOffset At, int Sent)> progress, DateTimeOffset at) =>
        progress.LastOrDefault(p => p.At <= at).Sent;

    private static async Task GenerateTrafficAsync(TestRelay relay, int sends, int garbage)
    {
        using var owner = new Owner();
        await using var client = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(client);
        for (var i = 0; i < sends; i++)
        {
            await client.SendAsync(created.Card, BitConverter.GetBytes(i));
        }

        for (var i = 0; i < garbage; i++)
        {
            await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(Garbage(), "x"u8.ToArray()));
        }

        await client.AuthenticateAsync(created.Id, owner.Key);
        await using var subscription = await client.SubscribeAsync(created.Id, credit: 10);
        await subscription.AckAsync((await PushTests.ReadAsync(subscription)).Select(m => m.Id).ToArray());
    }

    private static byte[] Garbage()
    {
        var bytes = new byte[ProtocolConstants.EphemeralAddressLength];
        Random.Shared.NextBytes(bytes);
        bytes[0] = 1; // the right format version, so it is refused as not opening (ADDRESS_INVALID)
        return bytes;
    }

    private static async Task<string> ScrapeAsync(TestRelay relay)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://{relay.Host.HttpEndPoint}/metrics");
    }

    /// <summary>The (upper bound, cumulative count) pairs of an unlabelled histogram in exposition text.</summary>
    private static List<(double Le, double Count)> Buckets(string text, string name) =>
        text.Split('\n')
            .Where(line => line.StartsWith(name + "{le=\"", StringComparison.Ordinal))
            .Select(line =>
            {
                var le = line[(name.Length + 5)..line.IndexOf('"', name.Length + 5)];
                var count = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                return (le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture), count);
            })
            .OrderBy(b => b.Item1)
            .ToList();

    /// <summary>Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank.</summary>
    private static double Quantile(double q, List<(double Le, double Count)> buckets)
    {
        var total = buckets[^1].Count;
        var rank = q * total;
        for (var i = 0; i < buckets.Count; i++)
        {
            if (buckets[i].Count >= rank)
            {
                if (double.IsPositiveInfinity(buckets[i].Le))
                {
                    return buckets[i - 1].Le;
                }

                var lower = i == 0 ? 0 : buckets[i - 1].Le;
                var below = i == 0 ? 0 : buckets[i - 1].Count;
                return lower + ((buckets[i].Le - lower) * (rank - below) / (buckets[i].Count - below));
            }
        }

        return double.NaN;
    }
}
