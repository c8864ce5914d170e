using System.Text.Json;
using EdgeRelay.LoadTest.Cli;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Short real runs through the command line, against the in-process targets on loopback: the generator,
/// the client, the relay (or the sink) and the JSON/markdown outputs, end to end.
/// </summary>
public sealed class SmokeTests : IDisposable
{
    private static readonly string[] JsonFields =
    [
        "target", "scenario", "connections", "payload_bytes", "duration_s", "messages", "msgs_per_s", "mb_per_s",
        "latency_us", "errors", "server_alloc_bytes_per_msg",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-tests-").FullName;

    [Theory]
    [InlineData("edgerelay")]
    [InlineData("raw-sink")]
    public async Task A_short_ingest_run_sends_messages_without_errors_and_writes_every_field(string target)
    {
        var json = Path.Combine(_dir, target + ".json");
        var markdown = Path.Combine(_dir, target + ".md");

        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "run", "--target", target, "--scenario", "ingest", "--connections", "2", "--payload", "1024",
            "--duration", "1s", "--warmup", "200ms", "--json", json, "--markdown", markdown,
        ]);

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        foreach (var field in JsonFields)
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing '{field}'");
        }

        Assert.Equal(target, root.GetProperty("target").GetString());
        Assert.Equal("ingest", root.GetProperty("scenario").GetString());
        Assert.Equal(2, root.GetProperty("connections").GetInt32());
        Assert.Equal(1024, root.GetProperty("payload_bytes").GetInt32());
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.9, 1.1);
        Assert.True(root.GetProperty("messages").GetInt64() > 0);
        Assert.True(root.GetProperty("msgs_per_s").GetDouble() > 0);
        Assert.True(root.GetProperty("mb_per_s").GetDouble() > 0);
        var latency = root.GetProperty("latency_us");
        foreach (var p in new[] { "p50", "p90", "p99", "p999", "max" })
        {
            Assert.True(latency.GetProperty(p).GetInt64() > 0, p);
        }

        Assert.True(latency.GetProperty("p50").GetInt64() <= latency.GetProperty("p99").GetInt64());
        Assert.Empty(root.GetProperty("errors").EnumerateObject());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("server_alloc_bytes_per_msg").ValueKind);

        var table = (await File.ReadAllLinesAsync(markdown)).Where(l => l.Length > 0).ToArray();
        Assert.Equal(3, table.Length); // header, separator, one row
        Assert.StartsWith("| " + target + " | ingest |", table[2], StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
