using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>The machine-readable outputs: <c>--json</c> (one object) and <c>--markdown</c> (a one-row table with header).</summary>
internal static class ResultWriters
{
    public static string ToJson(RunResult result) => JsonSerializer.Serialize(result, RunResultJsonContext.Default.RunResult);

    public static RunResult? FromJson(string json) => JsonSerializer.Deserialize(json, RunResultJsonContext.Default.RunResult);

    public static string ToMarkdown(RunResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| target | scenario | model | connections | in-flight | payload B | duration s | messages | msgs/s | MB/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors | server CPU µs/msg | server alloc B/msg |");
        sb.AppendLine("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|");
        sb.Append(c, $"| {result.Label} | {result.Scenario} | {ModelText(result)} | {result.Connections} | {result.InFlight} | {result.PayloadBytes} ");
        sb.Append(c, $"| {result.DurationSeconds:0.##} | {result.Messages} | {result.MessagesPerSecond:0} | {result.MegabytesPerSecond:0.0} ");
        var l = result.Latency;
        sb.Append(c, $"| {l.P50} | {l.P90} | {l.P99} | {l.P999} | {l.Max} | {ErrorsText(result)} | {ServerCpuText(result)} | {ServerAllocText(result)} |");
        sb.AppendLine();
        return sb.ToString();
    }

    public static string ModelText(RunResult result) =>
        result.Rate is { } rate ? string.Create(CultureInfo.InvariantCulture, $"open {rate:0.##}/s") : "closed";

    public static string ErrorsText(RunResult result) =>
        result.Errors.Count == 0 ? "0" : string.Join(", ", result.Errors.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} {e.Value}")));

    /// <summary>The server's CPU µs per message to one decimal, or a dash when unknown.</summary>
    public static string ServerCpuText(RunResult result, string unit = "") =>
        result.ServerCpuMicrosecondsPerMessage is { } cpu ? cpu.ToString("N1", CultureInfo.InvariantCulture) + unit : "-";

    /// <summary>The server's allocated bytes per message, whole, or a dash when unknown.</summary>
    public static string ServerAllocText(RunResult result, string unit = "") =>
        result.ServerAllocBytesPerMessage is { } bytes ? bytes.ToString("N0", CultureInfo.InvariantCulture) + unit : "-";

    /// <remarks>Not cancellable on purpose: after Ctrl+C the results of the shortened run are still written.</remarks>
    public static async Task WriteFilesAsync(RunResult result, string? jsonPath, string? markdownPath)
    {
        if (jsonPath is not null)
        {
            await File.WriteAllTextAsync(jsonPath, ToJson(result) + Environment.NewLine);
        }

        if (markdownPath is not null)
        {
            await File.WriteAllTextAsync(markdownPath, ToMarkdown(result));
        }
    }
}
