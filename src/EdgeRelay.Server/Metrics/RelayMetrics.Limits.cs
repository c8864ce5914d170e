using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// The operator's abuse limits (section Limits): connections refused, SENDs over a connection's rate, and
/// signature checks paid for and refused. The refusals are also in <c>edgerelay_requests_refused_total</c> under their codes (CONNECTION_LIMIT,
/// SEND_RATE_LIMITED, VERIFY_RATE_LIMITED), and CONNECTION_LIMIT in <c>edgerelay_connections_closed_by_server_total</c>; these
/// say which limit refused, which the code alone does not.
/// </summary>
public sealed partial class RelayMetrics
{
    private Counter.Child _refusedTotal = null!;
    private Counter.Child _refusedPerIp = null!;

    /// <summary>SENDs refused with SEND_RATE_LIMITED (Limits:SendsPerSecondPerConnection).</summary>
    internal Counter SendsRateLimited { get; private set; } = null!;

    /// <summary>Ed25519 signature checks the relay paid for (AUTH claims, REVOKE_ADDRESS requests).</summary>
    internal Counter SignatureChecks { get; private set; } = null!;

    private Counter.Child _signatureRefusedConnection = null!;
    private Counter.Child _signatureRefusedServer = null!;

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
        SignatureChecks = factory.CreateCounter(
            "edgerelay_signature_checks_total",
            "Ed25519 signature checks the relay made: one per AUTH claim and per REVOKE_ADDRESS that its budgets admitted.");
        var signatureRefused = factory.CreateCounter(
            "edgerelay_signature_checks_refused_total",
            "Signature checks refused with VERIFY_RATE_LIMITED (counted per claim, not per request), by the budget used up: connection (Limits:SignatureChecksPerSecondPerConnection) or server (Limits:SignatureChecksPerSecond).",
            "budget");
        _signatureRefusedConnection = signatureRefused.WithLabels("connection");
        _signatureRefusedServer = signatureRefused.WithLabels("server");
    }

    internal void SignatureChecksRefused(bool connectionBudget, int checks) =>
        (connectionBudget ? _signatureRefusedConnection : _signatureRefusedServer).Inc(checks);

    /// <summary>Signature checks refused so far by a connection's budget and by the relay's (tests, the status page).</summary>
    internal (double Connection, double Server) SignatureChecksRefusedCounts => (_signatureRefusedConnection.Value, _signatureRefusedServer.Value);

    internal void ConnectionRefused(ConnectionRefusal refusal) =>
        (refusal == ConnectionRefusal.Total ? _refusedTotal : _refusedPerIp).Inc();
}
