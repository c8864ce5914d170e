using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary><c>edgerelay_admin_actions_total</c>: admin API requests by action and outcome, refusals included.</summary>
public sealed partial class RelayMetrics
{
    private Counter? _adminActions;

    /// <summary>
    /// Registers the admin series. Called by the admin API's mapping rather than the constructor, so the series
    /// exists (at zero) on every relay, the admin API on or off, without the constructor knowing of it.
    /// </summary>
    internal void CreateAdminMetrics() =>
        _adminActions ??= Prometheus.Metrics.WithCustomRegistry(Registry).CreateCounter(
            "edgerelay_admin_actions_total",
            "Admin API requests, by action (stats, addresses, inspect, revoke, purge, drain, accept, reload, authenticate) and outcome (ok, not_found, refused, failed).",
            "action",
            "outcome");

    internal void AdminAction(string action, string outcome) => _adminActions?.WithLabels(action, outcome).Inc();
}
