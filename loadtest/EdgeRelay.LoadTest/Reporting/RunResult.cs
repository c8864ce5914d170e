using System.Text.Json.Serialization;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>
/// The outcome of one run, as written by <c>--json</c>. Field names are a contract for the scripts that
/// compare runs: add fields, never rename them.
/// </summary>
internal sealed record RunResult
{
    [JsonPropertyName("target")]
    public required string Target { get; init; }

    /// <summary>The row name: the target plus whatever changes what its ack means, e.g. "redis (AOF always)".</summary>
    [JsonPropertyName("label")]
    public required string Label { get; init; }

    /// <summary>What the target had done with a message when it acknowledged it.</summary>
    [JsonPropertyName("durability")]
    public required string Durability { get; init; }

    [JsonPropertyName("scenario")]
    public required string Scenario { get; init; }

    /// <summary>"closed" or "open".</summary>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>"host:port" when an external system was loaded; null for an in-process target.</summary>
    [JsonPropertyName("endpoint")]
    public string? Endpoint { get; init; }

    [JsonPropertyName("connections")]
    public required int Connections { get; init; }

    [JsonPropertyName("in_flight")]
    public required int InFlight { get; init; }

    /// <summary>Open model: the intended messages per second; null in the closed model.</summary>
    [JsonPropertyName("rate")]
    public double? Rate { get; init; }

    [JsonPropertyName("addresses")]
    public required int Addresses { get; init; }

    /// <summary>The share of SENDs asked to go to a newly derived address (<c>--fresh-ratio</c>).</summary>
    [JsonPropertyName("fresh_ratio")]
    public double FreshRatio { get; init; }

    /// <summary>Push to the relay with <c>--push-window</c>: the batching window its addresses were given, in ms; null for the immediate policy.</summary>
    [JsonPropertyName("push_window_ms")]
    public double? PushWindowMs { get; init; }

    /// <summary>The seed of the draw that picked the fresh SENDs.</summary>
    [JsonPropertyName("seed")]
    public int Seed { get; init; }

    /// <summary>Where the fresh addresses came from (the relay only); null when the run derived none.</summary>
    [JsonPropertyName("fresh_addresses")]
    public FreshAddressesResult? FreshAddresses { get; init; }

    [JsonPropertyName("payload_bytes")]
    public required int PayloadBytes { get; init; }

    [JsonPropertyName("warmup_s")]
    public required double WarmupSeconds { get; init; }

    /// <summary>Measured seconds actually covered (shorter than asked after Ctrl+C).</summary>
    [JsonPropertyName("duration_s")]
    public required double DurationSeconds { get; init; }

    /// <summary>Messages moved by successful operations whose origin fell in the measured window.</summary>
    [JsonPropertyName("messages")]
    public required long Messages { get; init; }

    /// <summary>The operations that moved them: pull batches for <c>pull</c>, else equal to <see cref="Messages"/>.</summary>
    [JsonPropertyName("operations")]
    public required long Operations { get; init; }

    [JsonPropertyName("msgs_per_s")]
    public required double MessagesPerSecond { get; init; }

    /// <summary>Payload (ciphertext) bytes only, 10^6 bytes per MB; framing and addresses are not counted.</summary>
    [JsonPropertyName("mb_per_s")]
    public required double MegabytesPerSecond { get; init; }

    /// <summary>Null when no operation of the measured window succeeded: there is no latency to report.</summary>
    [JsonPropertyName("latency_us")]
    public required LatencyMicroseconds? Latency { get; init; }

    /// <summary>
    /// Open model: how late measured sends went out after their intended time: the generator's own tick
    /// (~1 ms) plus any wait for a free in-flight slot. Already inside <see cref="Latency"/>; shown apart so a
    /// lagging generator is not mistaken for a slow system. Null in the closed model, and its figures null when
    /// no send of the measured window went out (there is no lag to report, and 0 would read as none).
    /// </summary>
    [JsonPropertyName("send_lag_us")]
    public SendLagMicroseconds? SendLag { get; init; }

    /// <summary>Errors of the measured window by code name (the protocol's names, or the generator's own).</summary>
    [JsonPropertyName("errors")]
    public required SortedDictionary<string, long> Errors { get; init; }

    /// <summary>
    /// SENDs of the measured window the relay refused with RATE_LIMITED: a cache miss beyond the connection's
    /// budget of HPKE opens. Also among <see cref="Errors"/>; apart here because fresh addresses provoke it.
    /// </summary>
    [JsonPropertyName("rate_limited")]
    public long RateLimited { get; init; }

    /// <summary>Failed operations over all operations of the measured window, 0 to 1.</summary>
    [JsonPropertyName("error_share")]
    public double ErrorShare { get; init; }

    /// <summary>
    /// True when failures were at least as many as successes, or nothing succeeded: the figures then describe
    /// refusals, not the system's throughput: the tables show none, and the command exits with <c>3</c>
    /// (see <see cref="ErrorRateExceeded"/>).
    /// </summary>
    [JsonPropertyName("error_dominated")]
    public bool ErrorDominated { get; init; }

    /// <summary>The threshold the run was held to (<c>--max-error-rate</c>): the largest acceptable <see cref="ErrorShare"/>.</summary>
    [JsonPropertyName("max_error_rate")]
    public double MaxErrorRate { get; init; }

    /// <summary>
    /// True when the measured window's failures exceeded <see cref="MaxErrorRate"/> of its operations, or it
    /// was <see cref="ErrorDominated"/> (no successful operation included): the command exits with <c>3</c>.
    /// </summary>
    [JsonPropertyName("error_rate_exceeded")]
    public bool ErrorRateExceeded { get; init; }

    /// <summary>Errors of operations that started during warm-up; excluded from <see cref="Errors"/>.</summary>
    [JsonPropertyName("warmup_errors")]
    public required long WarmupErrors { get; init; }

    /// <summary>
    /// Bytes the server allocated on its managed heap per measured message: the growth of its
    /// GC.GetTotalAllocatedBytes (the relay's <c>edgerelay_process_allocated_bytes_total</c>) from when the
    /// measured window opened to when the last worker finished, over <see cref="Messages"/>. Known for the
    /// relay in its own process (<c>--relay-host process</c>) and at <c>--endpoint</c> with <c>--metrics</c>.
    /// Null otherwise: an in-process relay shares one GC heap with the generator, so its allocations cannot be
    /// told from the client's; Redis and NATS are native processes with no such counter. Null too with no
    /// messages. It includes whatever else the server did meanwhile (one metrics scrape, maintenance).
    /// </summary>
    [JsonPropertyName("server_alloc_bytes_per_msg")]
    public double? ServerAllocBytesPerMessage { get; init; }

    /// <summary>
    /// CPU time (user and system, every thread) the server process used per measured message, in
    /// microseconds, over the same span as <see cref="ServerAllocBytesPerMessage"/>. Known for the relay in its
    /// own process and for the Redis and NATS servers a run starts (from the kernel's count for their process
    /// id), and for a relay at <c>--endpoint</c> with <c>--metrics</c> (its <c>process_cpu_seconds_total</c>).
    /// Null for in-process targets (their CPU is the generator's), a peer at <c>--endpoint</c>, or no messages.
    /// </summary>
    [JsonPropertyName("server_cpu_us_per_msg")]
    public double? ServerCpuMicrosecondsPerMessage { get; init; }

    /// <summary>
    /// CPU time the generator's own process used per measured message (every thread: the clients, the
    /// measurement, any fresh addresses derived during the run), over the same span as the server's. For the
    /// in-process targets (raw-sink, raw-fasterlog, edgerelay <c>--relay-host in-process</c>) it includes the
    /// server's. Null with no messages.
    /// </summary>
    [JsonPropertyName("client_cpu_us_per_msg")]
    public double? ClientCpuMicrosecondsPerMessage { get; init; }

    /// <summary>
    /// <c>edgerelay-forward</c>: CPU time of the sending relay (A) per measured message, its own process, over
    /// the same span as the server's (which is then the receiving relay, B). Null for every other target.
    /// </summary>
    [JsonPropertyName("forwarder_cpu_us_per_msg")]
    public double? ForwarderCpuMicrosecondsPerMessage { get; init; }

    /// <summary>
    /// <c>edgerelay-forward</c>: SEND_QUEUED replies of the sending relay per second, counted between the
    /// window's opening and the last reply. With ingest it equals msgs/s; with push it is what A acknowledged
    /// while msgs/s counts arrivals at the owner. Null for every other target.
    /// </summary>
    [JsonPropertyName("forwarder_acked_per_s")]
    public double? ForwarderAckedPerSecond { get; init; }

    [JsonPropertyName("started_at")]
    public required DateTimeOffset StartedAt { get; init; }
}

internal sealed record LatencyMicroseconds
{
    [JsonPropertyName("p50")]
    public required long P50 { get; init; }

    [JsonPropertyName("p90")]
    public required long P90 { get; init; }

    [JsonPropertyName("p99")]
    public required long P99 { get; init; }

    [JsonPropertyName("p999")]
    public required long P999 { get; init; }

    [JsonPropertyName("max")]
    public required long Max { get; init; }
}

internal sealed record FreshAddressesResult
{
    /// <summary>Addresses derived before the warm-up (<c>--fresh-pool</c>).</summary>
    [JsonPropertyName("pre_derived")]
    public required long PreDerived { get; init; }

    /// <summary>Derived by the generator during the run (warm-up included), on a dedicated thread.</summary>
    [JsonPropertyName("derived_during_run")]
    public required long DerivedDuringRun { get; init; }

    /// <summary>SENDs that found no fresh address ready and waited for one: the generator held them back.</summary>
    [JsonPropertyName("waits")]
    public required long Waits { get; init; }

    /// <summary>The same in one sentence, as the reports print it.</summary>
    [JsonPropertyName("source")]
    public required string Source { get; init; }

    public static FreshAddressesResult From(Targets.FreshAddressStats stats) => new()
    {
        PreDerived = stats.PreDerived,
        DerivedDuringRun = stats.DerivedDuringRun,
        Waits = stats.Waits,
        Source = stats.Source,
    };
}

internal sealed record SendLagMicroseconds
{
    [JsonPropertyName("p50")]
    public required long? P50 { get; init; }

    [JsonPropertyName("p99")]
    public required long? P99 { get; init; }

    [JsonPropertyName("max")]
    public required long? Max { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RunResult))]
[JsonSerializable(typeof(List<RunResult>))]
internal sealed partial class RunResultJsonContext : JsonSerializerContext;
