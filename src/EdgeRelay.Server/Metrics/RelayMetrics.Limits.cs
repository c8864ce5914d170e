using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// The operator's abuse limits (section Limits): connections refused and SENDs over a connection's rate. Both
/// refusals are also in <c>edgerelay_requests_refused_total</c> under their codes (CONNECTION_LIMIT,
/// SEND_RATE_LIMITED), and CONNECTION_LIMIT in <c>edgerelay_connections_closed_by_server_total</c>; these
/// say which limit refused, which the code alone does not.
/// </summary>
public sealed partial class RelayMetrics
{
    private Counter.Child _refusedTotal = null!;
    private Counter.Child _refusedPerIp = null!;

    /// <summary>SENDs refused with SEND_RATE_LIMITED (Limits:SendsPerSecondPerConnection).</summary>
    internal Counter SendsRateLimited { get; private set; } = null!;

    /// <summary>Creates the metrics of this file; the relay calls it once, before any connection.</summary>
    internal void CreateLimitMetrics()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = static (_, _) => Exemplar.None };
        var refused = factory.CreateCounter(
            "edgerelay_connections_refused_total",
            "Connections refused with CONNECTION_LIMIT before HELLO, by the limit reached: total (Limits:MaxConnections) or per_ip (Limits:MaxConnectionsPerIp).",
            "limit");
        _refusedTotal = refused.WithLabels("total");
        _refusedPerIp = refused.WithLabels("per_ip");
        SendsRateLimited = factory.CreateCounter(
            "edgerelay_sends_rate_limited_total",
            "SENDs refused with SEND_RATE_LIMITED because their connection's rate (Limits:SendsPerSecondPerConnection) was used up; nothing stored.");
    }

    internal void ConnectionRefused(ConnectionRefusal refusal) =>
        (refusal == ConnectionRefusal.Total ? _refusedTotal : _refusedPerIp).Inc();
}
