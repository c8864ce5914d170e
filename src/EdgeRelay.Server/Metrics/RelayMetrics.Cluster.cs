using EdgeRelay.Storage;
using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// The storage engine as this node sees it: whether it is ready (what <c>/readyz</c> says, for every backend), and,
/// for a store several nodes share, how far this node's index is behind the streams and what it learnt from the
/// other nodes. Each node serves its own: Prometheus's <c>instance</c> label tells them apart, so a node that
/// lags or keeps retrying stands out beside the others.
/// </summary>
public sealed partial class RelayMetrics
{
    private Gauge _storageReady = null!;
    private Counter? _clusterApplied;
    private Gauge? _clusterBehind;
    private Counter? _clusterRemoteArrivals;
    private Counter? _clusterPublishRetries;
    private Gauge? _clusterLeasesHeld;
    private Counter? _clusterLeaseHandOvers;
    private Counter? _clusterLeaseTakeOvers;
    private Counter? _clusterWakeClaimsLost;
    private Counter? _clusterOutboundAdopted;

    /// <summary>Creates the metrics of this file; the shared-store ones only for a shared store, so one machine's relay shows none of them.</summary>
    internal void CreateStorageEngineMetrics(IRelayStorage storage)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _storageReady = factory.CreateGauge(
            "edgerelay_storage_ready",
            "1 while the storage engine serves this node, 0 while it does not (a shared store's cluster unreachable); /readyz answers 503 with the reason meanwhile.");
        if (storage is not ISharedStorage)
        {
            return;
        }

        _clusterApplied = factory.CreateCounter(
            "edgerelay_cluster_records_applied_total",
            "Records of the shared streams this node applied to its index (its own writes and every other node's).");
        _clusterBehind = factory.CreateGauge(
            "edgerelay_cluster_records_behind",
            "Records the shared streams hold that this node has not applied yet, as the engine last said: 0 when its index is current.");
        _clusterRemoteArrivals = factory.CreateCounter(
            "edgerelay_cluster_remote_arrivals_total",
            "Messages other nodes accepted that this node learnt of (and pushed to its own subscribers, if any).");
        _clusterPublishRetries = factory.CreateCounter(
            "edgerelay_cluster_publish_retries_total",
            "Writes this node retried because the cluster gave no answer or had no stream leader (an election, a lost server).");
        _clusterLeasesHeld = factory.CreateGauge(
            "edgerelay_cluster_push_leases_held",
            "Addresses this node pushes now: it holds their push lease, so no other node pushes them.");
        _clusterLeaseHandOvers = factory.CreateCounter(
            "edgerelay_cluster_push_lease_handovers_total",
            "Push leases this node took over from a node that had died (silent for about Storage:JetStream:NodeTimeout and one heartbeat) or left.");
        _clusterLeaseTakeOvers = factory.CreateCounter(
            "edgerelay_cluster_push_lease_takeovers_total",
            "Push leases this node took from a live node because the owner subscribed here after subscribing there (the newest subscription is pushed; the older connection may be stale).");
        _clusterWakeClaimsLost = factory.CreateCounter(
            "edgerelay_cluster_wake_claims_lost_total",
            "Wake-ups this node did not send because another node had already claimed the burst (also in edgerelay_wakeups_suppressed_total).");
        _clusterOutboundAdopted = factory.CreateCounter(
            "edgerelay_cluster_outbound_adopted_total",
            "Queued SEND_VIA messages this node adopted from a node that died (the outbound queue is shared; each node forwards what it took, then one node what a dead one left).");
    }

    private void CollectClusterForwarding(Forwarding.ForwardingEngine engine) => _clusterOutboundAdopted?.IncTo(engine.Adopted);

    private void CollectStorageEngine(IRelayStorage storage)
    {
        _storageReady.Set(storage is IStorageReadiness { NotReadyReason: not null } ? 0 : 1);
        if (storage is ISharedStorage shared && _clusterApplied is not null)
        {
            var stats = shared.GetSharedStatistics();
            _clusterApplied.IncTo(stats.RecordsApplied);
            _clusterBehind!.Set(stats.RecordsBehind);
            _clusterRemoteArrivals!.IncTo(stats.RemoteArrivals);
            _clusterPublishRetries!.IncTo(stats.PublishRetries);
            _clusterLeasesHeld!.Set(stats.LeasesHeld);
            _clusterLeaseHandOvers!.IncTo(stats.LeaseHandOvers);
            _clusterLeaseTakeOvers!.IncTo(stats.LeaseTakeOvers);
            _clusterWakeClaimsLost!.IncTo(stats.WakeClaimsLost);
        }
    }
}
