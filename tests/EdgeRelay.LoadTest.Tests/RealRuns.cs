using System.Text.Json;
using EdgeRelay.LoadTest.Cli;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Tests that start real targets and apply real load share this collection, so they run one at a time: on a
/// 2-core machine two load runs side by side would starve each other's relay or server of CPU.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RealRunsCollection
{
    public const string Name = "real runs";
}

/// <summary>Runs the command line as an operator would, and reads back what it wrote.</summary>
internal static class RealRuns
{
    /// <summary>Every field the issue asks of a result; the JSON contract for scripts.</summary>
    public static readonly string[] JsonFields =
    [
        "target", "scenario", "connections", "payload_bytes", "duration_s", "messages", "msgs_per_s", "mb_per_s",
        "latency_us", "errors", "server_alloc_bytes_per_msg", "server_cpu_us_per_msg",
        "addresses", "fresh_ratio", "seed", "fresh_addresses", "rate_limited", "error_share", "error_dominated", "client_cpu_us_per_msg",
    ];

    /// <summary>
    /// Bounds no real run comes near: a relay on this machine spends tens of µs and allocates a few hundred
    /// bytes per 1 KiB message. A per-message figure beyond them is a unit or arithmetic mistake.
    /// </summary>
    public const double MaxPlausibleCpuMicroseconds = 10_000;

    public const double MaxPlausibleAllocatedBytes = 100_000;

    /// <summary>Runs <c>run</c> with <paramref name="args"/> plus --json, expects exit 0, returns the JSON object.</summary>
    public static async Task<JsonElement> RunAsync(string dir, params string[] args)
    {
        var json = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".json");
        int exit = await LoadTestCommandLine.InvokeAsync(["run", .. args, "--json", json]);
        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        return document.RootElement.Clone();
    }

    /// <summary>
    /// What every successful short run must show: all fields, messages moved, sane latencies, no errors, and the
    /// server's CPU and allocations per message exactly where <paramref name="known"/> says they can be known.
    /// </summary>
    public static void AssertCompleteRun(JsonElement root, string target, string scenario, KnownServerUsage known = KnownServerUsage.None)
    {
        foreach (var field in JsonFields)
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing '{field}'");
        }

        Assert.Equal(target, root.GetProperty("target").GetString());
        Assert.Equal(scenario, root.GetProperty("scenario").GetString());
        Assert.True(root.GetProperty("messages").GetInt64() > 0, "no messages");
        Assert.True(root.GetProperty("msgs_per_s").GetDouble() > 0);
        Assert.True(root.GetProperty("mb_per_s").GetDouble() > 0);
        var latency = root.GetProperty("latency_us");
        foreach (var p in new[] { "p50", "p90", "p99", "p999", "max" })
        {
            Assert.True(latency.GetProperty(p).GetInt64() > 0, p);
        }

        Assert.True(latency.GetProperty("p50").GetInt64() <= latency.GetProperty("p99").GetInt64());
        Assert.True(latency.GetProperty("p99").GetInt64() <= latency.GetProperty("max").GetInt64());
        var errors = root.GetProperty("errors");
        Assert.True(!errors.EnumerateObject().Any(), $"{target} {scenario} had errors: {errors.GetRawText()}");
        Assert.False(root.GetProperty("error_dominated").GetBoolean());
        Assert.Equal(0, root.GetProperty("rate_limited").GetInt64());

        // The generator's own CPU is known for every run (Linux: its own /proc entry).
        AssertPerMessage(root, "client_cpu_us_per_msg", known: true, MaxPlausibleCpuMicroseconds);
        AssertPerMessage(root, "server_cpu_us_per_msg", known.HasFlag(KnownServerUsage.Cpu), MaxPlausibleCpuMicroseconds);
        AssertPerMessage(root, "server_alloc_bytes_per_msg", known.HasFlag(KnownServerUsage.Allocations), MaxPlausibleAllocatedBytes);
    }

    private static void AssertPerMessage(JsonElement root, string field, bool known, double max)
    {
        var value = root.GetProperty(field);
        if (!known)
        {
            Assert.True(value.ValueKind == JsonValueKind.Null, $"{field} should be null, is {value.GetRawText()}");
            return;
        }

        Assert.True(value.ValueKind == JsonValueKind.Number, $"{field} should be known, is {value.GetRawText()}");
        Assert.InRange(value.GetDouble(), double.Epsilon, max);
    }

    /// <summary>
    /// Pull checks of its own: its window ends early when a small prefill runs dry, it goes one batch at a time,
    /// and it counts batches apart from messages.
    /// </summary>
    public static void AssertPullRun(JsonElement root)
    {
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.001, 1.1);
        Assert.Equal(1, root.GetProperty("in_flight").GetInt32());
        long batches = root.GetProperty("operations").GetInt64();
        Assert.InRange(batches, 1, root.GetProperty("messages").GetInt64() - 1); // several messages per batch
    }
}

/// <summary>Which of the server's per-message figures a run can know (see RunResult.ServerCpuMicrosecondsPerMessage).</summary>
[Flags]
internal enum KnownServerUsage
{
    None = 0,
    Cpu = 1,
    Allocations = 2,
    Both = Cpu | Allocations,
}
