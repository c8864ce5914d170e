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
        sb.AppendLine("| target | scenario | model | connections | in-flight | addresses | fresh | payload B | duration s | messages | msgs/s | MB/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors | server CPU µs/msg | client CPU µs/msg | server alloc B/msg |");
        sb.AppendLine("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|");
        sb.Append(c, $"| {result.Label} | {result.Scenario} | {ModelText(result)} | {result.Connections} | {result.InFlight} | {result.Addresses} | {FreshText(result)} | {result.PayloadBytes} ");
        sb.Append(c, $"| {result.DurationSeconds:0.##} | {result.Messages} | {ThroughputText(result, "0")} | {(result.ErrorDominated ? "-" : result.MegabytesPerSecond.ToString("0.0", c))} ");
        var l = ShownLatency(result);
        sb.Append(c, $"| {Micros(l?.P50, "0")} | {Micros(l?.P90, "0")} | {Micros(l?.P99, "0")} | {Micros(l?.P999, "0")} | {Micros(l?.Max, "0")} ");
        sb.Append(c, $"| {ErrorsText(result)} | {ServerCpuText(result)} | {ClientCpuText(result)} | {ServerAllocText(result)} |");
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>The share of fresh SENDs as a percentage ("0%", "100%", "12.5%").</summary>
    public static string FreshText(RunResult result) => (result.FreshRatio * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>
    /// The latency the tables show: none when errors dominated the window, as the few successes among the
    /// refusals are not the system at work (the JSON keeps them).
    /// </summary>
    public static LatencyMicroseconds? ShownLatency(RunResult result) => result.ErrorDominated ? null : result.Latency;

    /// <summary>A latency in µs, or a dash when the run measured none.</summary>
    public static string Micros(long? value, string format = "N0") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>A latency with its unit ("1,234 µs"), or a bare dash when the run measured none: "- µs" would read as a figure.</summary>
    public static string MicrosText(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) + " µs" : "-";

    /// <summary>
    /// msgs/s, or what the window was instead when errors dominated it: a refusal rate is not a throughput.
    /// </summary>
    public static string ThroughputText(RunResult result, string format = "N0") =>
        !result.ErrorDominated ? result.MessagesPerSecond.ToString(format, CultureInfo.InvariantCulture)
        : result.Errors.Count == 0 ? "not a figure: nothing measured"
        : string.Create(CultureInfo.InvariantCulture, $"not a figure: {result.ErrorShare * 100:0}% errors");

    /// <summary>The generator's CPU µs per message to one decimal, or a dash when unknown.</summary>
    public static string ClientCpuText(RunResult result, string unit = "") =>
        result.ClientCpuMicrosecondsPerMessage is { } cpu ? cpu.ToString("N1", CultureInfo.InvariantCulture) + unit : "-";

    /// <summary>Why a run's figures are not figures, in one line for stderr; null when they are.</summary>
    public static string? ErrorDominatedMessage(RunResult result) =>
        !result.ErrorDominated ? null
        : result.Errors.Count == 0 ? $"{result.Label}: no operation completed in the measured window, so there are no figures"
        : result.Operations == 0 ? string.Create(
            CultureInfo.InvariantCulture,
            $"{result.Label}: no operation succeeded in the measured window; all {result.Errors.Values.Sum():N0} failed ({ErrorsText(result)}), so there are no figures")
        : string.Create(
            CultureInfo.InvariantCulture,
            $"{result.Label}: the measured window was dominated by errors ({result.ErrorShare * 100:0.#}% of {result.Operations + result.Errors.Values.Sum():N0} operations failed: {ErrorsText(result)}); its throughput and latency are not figures of the system at work");

    /// <summary>
    /// Why the run fails its error check, in one line for stderr (the error-dominated message when that is the
    /// reason); null when it passes.
    /// </summary>
    public static string? ErrorRateMessage(RunResult result) =>
        !result.ErrorRateExceeded ? null
        : ErrorDominatedMessage(result) ?? string.Create(
            CultureInfo.InvariantCulture,
            $"{result.Label}: {result.ErrorShare * 100:0.##}% of {result.Operations + result.Errors.Values.Sum():N0} operations in the measured window failed ({ErrorsText(result)}), above --max-error-rate {result.MaxErrorRate * 100:0.##}%");

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
