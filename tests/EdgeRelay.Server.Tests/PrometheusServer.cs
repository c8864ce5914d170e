using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) on loopback, scraping one target every
/// second, in a temporary directory of its own; stopped and deleted on dispose.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The binary, or null with a reason the test can give (CI installs it; elsewhere the test is skipped).</summary>
    public static string? Find(string name) =>
        new[] { "/usr/bin", "/usr/local/bin", "/usr/sbin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Skips the calling test when <paramref name="name"/> is missing, except in CI, where it must be there.</summary>
    public static string Require(string name)
    {
        var path = Find(name);
        if (path is null && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"{name} is not installed; .ci/run installs it with apt-get install prometheus.");
        }

        Skip.If(path is null, $"{name} is not installed: apt-get install prometheus");
        return path!;
    }

    public static async Task<PrometheusServer> StartAsync(IPEndPoint target)
    {
        var binary = Require("prometheus");
        var directory = new TempDirectory("edgerelay-prometheus");
        var config = directory.Combine("prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: edgerelay
                static_configs:
                  - targets: ["{target}"]
            """);

        var port = FreePort();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--config.file=" + config,
            "--storage.tsdb.path=" + directory.Combine("data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, directory, port);
        await server.WaitUntilReadyAsync();
        return server;
    }

    /// <summary>An instant query; the value of the only series it returns, or null when it returns none.</summary>
    public async Task<double?> QueryAsync(string query, DateTimeOffset? at = null)
    {
        var url = "api/v1/query?query=" + Uri.EscapeDataString(query)
            + (at is { } time ? "&time=" + (time.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture) : "");
        using var document = await _http.GetFromJsonAsync<JsonDocument>(url);
        var data = document!.RootElement.GetProperty("data");
        var results = data.GetProperty("result");
        if (results.GetArrayLength() == 0)
        {
            return null;
        }

        var value = Assert.Single(results.EnumerateArray()).GetProperty("value")[1].GetString()!;
        return double.Parse(value, CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until Prometheus has scraped the target successfully at least once after <paramref name="after"/>.</summary>
    public async Task WaitForScrapeAfterAsync(DateTimeOffset after)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var document = await _http.GetFromJsonAsync<JsonDocument>("api/v1/targets");
            foreach (var target in document!.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray())
            {
                if (target.GetProperty("health").GetString() == "up"
                    && DateTimeOffset.Parse(target.GetProperty("lastScrape").GetString()!, CultureInfo.InvariantCulture) > after)
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "Prometheus did not scrape the relay within 30 s");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _directory.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(_process.HasExited, $"prometheus exited with code {(_process.HasExited ? _process.ExitCode : 0)}");
            try
            {
                using var response = await _http.GetAsync("-/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "Prometheus did not become ready within 30 s");
            await Task.Delay(100);
        }
    }
}
