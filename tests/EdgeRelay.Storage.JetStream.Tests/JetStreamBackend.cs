using System.Globalization;
using EdgeRelay.Storage;
using EdgeRelay.Testing.Conformance;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// The JetStream backend on the shared 3-node cluster, in streams of its own (R3, two partitions, so that ids
/// interleave as they do in production). A crash is the connection cut under the store: nothing it had not
/// published yet reaches the cluster, and whatever the cluster acknowledged stays.
/// </summary>
public sealed class JetStreamBackend : StorageBackend
{
    private static int _instances;
    private readonly string _prefix = "T" + Interlocked.Increment(ref _instances).ToString(CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private readonly OwnConnections<IRelayStorage> _connections = new();

    /// <summary>Publishes that were on their way when the connection was cut may or may not have been stored.</summary>
    public override bool CrashLosesUndurableWrites => false;

    public override bool IdsKnownAtAppend => false;

    public int Partitions { get; init; } = 2;

    public async Task<JetStreamStorageOptions> OptionsAsync(Action<StorageLimits>? limits = null)
    {
        var cluster = await SharedCluster.GetAsync();
        var options = new JetStreamStorageOptions { Url = cluster.Url, StreamPrefix = _prefix, Replicas = 3, Partitions = Partitions };
        DefaultLimits(options);
        limits?.Invoke(options);
        return options;
    }

    public override async Task<IRelayStorage> OpenAsync(Action<StorageLimits>? limits = null)
    {
        var options = await OptionsAsync(limits);
        return await _connections.OpenAsync<IRelayStorage>(options, async connection => await JetStreamStorage.OpenAsync(options, Time, connection: connection));
    }

    public override async Task<IRelayStorage> CrashAndReopenAsync(IRelayStorage storage, Action<StorageLimits>? limits = null)
    {
        await _connections.CrashAsync(storage);
        return await OpenAsync(limits);
    }

    public override async ValueTask DisposeAsync()
    {
        await _connections.CloseAsync();
        await SharedCluster.DeleteStreamsAsync(_prefix);
    }
}
