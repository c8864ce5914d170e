using EdgeRelay.Forwarding;
using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// The batched sending mode (SEND_VIA_MODE mode 2): how many messages wait for their release time, read from the
/// forwarding engine at scrape time. Its refusal, MODE_UNAVAILABLE, is in <c>edgerelay_requests_refused_total</c>.
/// </summary>
public sealed partial class RelayMetrics
{
    private Gauge _forwardHeld = null!;

    private void CreateBatchedMetrics(MetricFactory factory) =>
        _forwardHeld = factory.CreateGauge(
            "edgerelay_forward_held_messages",
            "Batched messages (SEND_VIA_MODE mode 2) queued and waiting for their release time; included in edgerelay_forward_queued_messages.");

    private void CollectBatched(ForwardingEngine engine) => _forwardHeld.Set(engine.HeldMessages);
}
