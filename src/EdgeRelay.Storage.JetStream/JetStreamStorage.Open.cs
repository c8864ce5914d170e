using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

// Opening: the streams, then the index rebuilt by reading them, then writes.
public sealed partial class JetStreamStorage
{
    private async Task StartAsync(CancellationToken ct)
    {
        await _connection.ConnectAsync().ConfigureAwait(false);
        await EnsureStreamsAsync(ct).ConfigureAwait(false);

        // Addresses first, so that the messages read next find their addresses (a live node may still see a
        // message before its address' record: the two streams are not ordered with each other).
        await FollowAsync(_options.AddressStream, ApplyAddressRecord, ct).ConfigureAwait(false);
        for (var p = 0; p < _options.Partitions; p++)
        {
            var partition = p;
            await FollowAsync(_options.MessageStream(p), (seq, record) => ApplyMessageRecord(partition, seq, record), ct).ConfigureAwait(false);
        }

        // Presence last, and this node's first heartbeat applied before it serves: its leases count from here.
        await FollowAsync(_options.PresenceStream, _presence.Apply, ct).ConfigureAwait(false);
        var beat = await _presence.StartAsync(ct).ConfigureAwait(false);
        await _followers[_options.PresenceStream].WaitAppliedAsync(beat).WaitAsync(ct).ConfigureAwait(false);

        _publisher.Start();
        _deleter.Start();
        _maintenance = _time.CreateTimer(_ => RunMaintenance(), null, _options.MaintenanceInterval, _options.MaintenanceInterval);
        JetStreamLog.Opened(_logger, _addresses, _pendingMessages, _options.Partitions, _options.Replicas, _options.StreamPrefix);
    }

    private async Task FollowAsync(string stream, Action<ulong, byte[]> apply, CancellationToken ct)
    {
        // A node whose index stopped following a stream would serve it stale (other nodes' messages never pushed,
        // their acks never seen) and look healthy: it fails instead, so the relay stops and a restart rebuilds it.
        var follower = new StreamFollower(_js, stream, apply, _publisher.Fail, _logger, _options.PublishRetryWindow);
        _followers.Add(stream, follower);
        await follower.StartAsync(_stopping.Token, ct).ConfigureAwait(false);
    }

    private async Task EnsureStreamsAsync(CancellationToken ct)
    {
        // A stream past the configured partitions means the streams were made with more: ids would change meaning.
        try
        {
            var extra = _options.MessageStream(_options.Partitions);
            await StartRetry.RunAsync(c => _js.GetStreamAsync(extra, cancellationToken: c).AsTask(), "reading stream " + extra, _options.PublishRetryWindow, _logger, ct).ConfigureAwait(false);
            throw new InvalidOperationException(
                $"Stream {extra} exists: the streams of prefix {_options.StreamPrefix} were created with more than {_options.Partitions} partitions. Set Partitions to the number they were created with.");
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }

        await CreateStreamAsync(
            new StreamConfig(_options.AddressStream, [_options.AddressSubjectPrefix + "*"])
            {
                Storage = StreamConfigStorage.File,
                NumReplicas = _options.Replicas,
                MaxMsgsPerSubject = 1,
                AllowDirect = true,
                DuplicateWindow = _options.DuplicateWindow,
                Description = "EdgeRelay address registry: the newest record of each address",
            },
            ct).ConfigureAwait(false);

        var root = _options.SubjectRoot;
        await CreateStreamAsync(
            new StreamConfig(_options.PresenceStream, [root + ".node.*", root + ".lease.*", root + ".wake.*", root + ".dispatch.*"])
            {
                Storage = StreamConfigStorage.File,
                NumReplicas = _options.Replicas,

                // Not 1: two claims stored from one record (see Presence.Apply) are judged by every node in stream order,
                // which needs the first still there when a node's follower reads the second. A race writes at most the two
                // claims and the winner's rewrite; a follower would have to lag four records on one subject to miss one.
                MaxMsgsPerSubject = 4,
                Discard = StreamConfigDiscard.Old,
                AllowDirect = true,
                Description = "EdgeRelay presence: node heartbeats, push leases and wake-up marks, the newest record of each",
            },
            ct).ConfigureAwait(false);

        for (var p = 0; p < _options.Partitions; p++)
        {
            _messageStreams[p] = await CreateStreamAsync(
                new StreamConfig(_options.MessageStream(p), [_options.MessageSubject(p)])
                {
                    Storage = StreamConfigStorage.File,
                    NumReplicas = _options.Replicas,

                    // The relay expires messages itself at the TTL (an expire record); the stream's own age limit only
                    // reclaims what that left behind (acks, expiry records), a day later.
                    MaxAge = _options.MessageTtl + TimeSpan.FromDays(1),
                    AllowDirect = true,
                    DuplicateWindow = _options.DuplicateWindow,
                    Description = "EdgeRelay messages of one partition, with the acks and expiries that removed them",
                },
                ct).ConfigureAwait(false);
        }
    }

    private Task<INatsJSStream> CreateStreamAsync(StreamConfig config, CancellationToken ct) =>
        StartRetry.RunAsync(
            async c =>
            {
                try
                {
                    // Subjects a stream has are kept: a newer relay may have added some (a record kind this version does
                    // not know), and an older node restarting in a rolling upgrade or a rollback must not take them away.
                    var existing = await _js.GetStreamAsync(config.Name!, cancellationToken: c).ConfigureAwait(false);
                    if (existing.Info.Config.Subjects is { } subjects && config.Subjects is { } ours)
                    {
                        config = config with { Subjects = [.. ours.Union(subjects, StringComparer.Ordinal)] };
                    }
                }
                catch (NatsJSApiException ex) when (ex.Error.Code == 404)
                {
                }

                return await _js.CreateOrUpdateStreamAsync(config, c).ConfigureAwait(false);
            },
            "creating stream " + config.Name,
            _options.PublishRetryWindow,
            _logger,
            ct);

    private void RunMaintenance()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var cutoff = _time.GetUtcNow().Subtract(_options.MessageTtl).ToUnixTimeMilliseconds();
                var expired = await ExpireAsync(cutoff).ConfigureAwait(false);
                if (expired > 0)
                {
                    JetStreamLog.Expired(_logger, expired);
                    RequestFlush();
                }
            }
            catch (ObjectDisposedException)
            {
            }
            catch (Exception ex)
            {
                JetStreamLog.MaintenanceFailed(_logger, ex);
            }
        });
    }
}
