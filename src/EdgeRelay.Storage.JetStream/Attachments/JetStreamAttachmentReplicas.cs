using System.Globalization;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// A relay cluster's committed attachments in a JetStream object store bucket, <c>&lt;PREFIX&gt;-ATTACH</c>, at the
/// store's replication: one object per attachment, named by its id, its record in the object's metadata. Every node
/// reads any of them; the bucket's age limit (the attachments' expiry and a day) removes them without a sweep.
/// </summary>
/// <remarks>
/// The object store splits the bytes into chunks of its own (128 KiB) and checks its SHA-256 of them on every read, so
/// a damaged replica is refused, not served. A put waits for JetStream to acknowledge each chunk at the replication,
/// and is asked again as a whole (the same name replaces a partial object) while the cluster does not answer, for up to
/// <see cref="JetStreamStorageOptions.PublishRetryWindow"/>.
/// </remarks>
public sealed class JetStreamAttachmentReplicas : IAttachmentReplicas
{
    private const string SizeKey = "edgerelay-size";
    private const string DigestKey = "edgerelay-sha256";
    private const string StoredKey = "edgerelay-stored-ms";
    private const string ExpiresKey = "edgerelay-expires-ms";
    private const string OwnerKey = "edgerelay-owner";

    private readonly INatsObjStore _bucket;
    private readonly JetStreamStorageOptions _options;
    private readonly ILogger _logger;

    private JetStreamAttachmentReplicas(INatsObjStore bucket, JetStreamStorageOptions options, ILogger logger)
    {
        _bucket = bucket;
        _options = options;
        _logger = logger;
    }

    /// <summary>Opens the bucket, creating it if needed, with an age limit of <paramref name="expiry"/> and a day (an existing bucket keeps its own).</summary>
    internal static async Task<JetStreamAttachmentReplicas> OpenAsync(INatsJSContext js, JetStreamStorageOptions options, TimeSpan expiry, ILogger logger, CancellationToken ct)
    {
        var context = new NatsObjContext(js);
        var config = new NatsObjConfig(options.AttachmentBucket)
        {
            Description = "EdgeRelay attachments: every node serves any node's",
            Storage = NatsObjStorageType.File,
            NumberOfReplicas = options.Replicas,
            MaxAge = expiry + TimeSpan.FromDays(1),
        };
        var bucket = await StartRetry.RunAsync(
            async c =>
            {
                try
                {
                    return await context.CreateObjectStoreAsync(config, c).ConfigureAwait(false);
                }
                catch (NatsJSApiException ex) when (ex.Error.ErrCode == StreamNameInUse)
                {
                    // Created with other limits (an operator raised the expiry, or a node runs with fewer replicas): an
                    // attachment must outlive the expiry its URL promises, so a shorter age or fewer replicas are raised.
                    await RaiseLimitsAsync(js, config, c).ConfigureAwait(false);
                    return await context.GetObjectStoreAsync(options.AttachmentBucket, c).ConfigureAwait(false);
                }
            },
            "creating bucket " + options.AttachmentBucket,
            options.PublishRetryWindow,
            logger,
            ct).ConfigureAwait(false);
        return new JetStreamAttachmentReplicas(bucket, options, logger);
    }

    /// <summary>The bucket's stream (JetStream names it <c>OBJ_</c> and the bucket) keeps at least <paramref name="wanted"/>'s age and replicas.</summary>
    private static async Task RaiseLimitsAsync(INatsJSContext js, NatsObjConfig wanted, CancellationToken ct)
    {
        var stream = await js.GetStreamAsync("OBJ_" + wanted.Bucket, cancellationToken: ct).ConfigureAwait(false);
        var config = stream.Info.Config;
        var maxAge = wanted.MaxAge ?? TimeSpan.Zero;
        if ((config.MaxAge != TimeSpan.Zero && config.MaxAge < maxAge) || config.NumReplicas < wanted.NumberOfReplicas)
        {
            await js.UpdateStreamAsync(config with
            {
                MaxAge = config.MaxAge == TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(config.MaxAge.Ticks, maxAge.Ticks)),
                NumReplicas = Math.Max(config.NumReplicas, wanted.NumberOfReplicas),
            }, ct).ConfigureAwait(false);
        }
    }

    /// <summary>JetStream's error for a stream that exists with another configuration.</summary>
    private const int StreamNameInUse = 10058;

    public async Task PutAsync(AttachmentRecord record, Stream content, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(content);
        var start = content.Position;
        var meta = new ObjectMetadata
        {
            Name = record.Id.ToString(),
            Metadata = new Dictionary<string, string>
            {
                [SizeKey] = record.Size.ToString(CultureInfo.InvariantCulture),
                [DigestKey] = Convert.ToHexStringLower(record.Sha256),
                [StoredKey] = record.StoredAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                [ExpiresKey] = record.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                [OwnerKey] = record.Owner,
            },
        };
        try
        {
            await StartRetry.RunAsync(
                async c =>
                {
                    // With every server gone the client neither answers nor throws: each attempt is bounded, and one
                    // that runs out is asked again (the same name replaces what it left) while the window lasts.
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(c);
                    attempt.CancelAfter(AttemptTimeout);
                    content.Position = start;
                    try
                    {
                        return await _bucket.PutAsync(meta, content, leaveOpen: true, attempt.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!c.IsCancellationRequested)
                    {
                        throw new TimeoutException($"No answer within {AttemptTimeout.TotalSeconds} s.");
                    }
                },
                "storing attachment " + meta.Name,
                _options.PublishRetryWindow,
                _logger,
                ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
        {
            throw new IOException($"The cluster did not store attachment {meta.Name}: {ex.Message}", ex);
        }
    }

    /// <summary>How long one attempt of a put, or a read, may go unanswered.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    public async Task<AttachmentRecord?> FindAsync(AttachmentId id, CancellationToken ct = default)
    {
        var info = await ReadAsync(id, c => _bucket.GetInfoAsync(id.ToString(), showDeleted: false, c).AsTask(), ct).ConfigureAwait(false);
        return info is null || info.Deleted ? null : Read(id, info);
    }

    public async Task<bool> CopyToAsync(AttachmentId id, Stream destination, CancellationToken ct = default) =>
        await ReadAsync(id, c => _bucket.GetAsync(id.ToString(), destination, leaveOpen: true, c).AsTask(), ct).ConfigureAwait(false) is not null;

    /// <summary>
    /// A read of the bucket: null when there is no such object; an <see cref="IOException"/> when the cluster does not
    /// answer within <see cref="JetStreamStorageOptions.PublishRetryWindow"/> (with a chunk missing the ordered read
    /// would wait for ever), or refuses (a digest that does not match the chunks read is a NatsObjException too: the
    /// bytes are refused, never served).
    /// </summary>
    private async Task<T?> ReadAsync<T>(AttachmentId id, Func<CancellationToken, Task<T>> read, CancellationToken ct)
        where T : class
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(_options.PublishRetryWindow);
        try
        {
            return await read(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new IOException($"Attachment {id} was not read from the cluster within {_options.PublishRetryWindow.TotalSeconds} s.");
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
        {
            throw new IOException($"Attachment {id} could not be read from the cluster: {ex.Message}", ex);
        }
    }

    /// <summary>The record in an object's metadata; an object without it (not written by a relay) is not an attachment.</summary>
    private static AttachmentRecord? Read(AttachmentId id, ObjectMetadata info)
    {
        var meta = info.Metadata;
        if (meta is null
            || !meta.TryGetValue(SizeKey, out var size) || !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || !meta.TryGetValue(DigestKey, out var digest) || digest.Length != 64
            || !meta.TryGetValue(StoredKey, out var stored) || !long.TryParse(stored, NumberStyles.None, CultureInfo.InvariantCulture, out var storedMs)
            || !meta.TryGetValue(ExpiresKey, out var expires) || !long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresMs))
        {
            return null;
        }

        return new AttachmentRecord(id, length, Convert.FromHexString(digest), DateTimeOffset.FromUnixTimeMilliseconds(storedMs), DateTimeOffset.FromUnixTimeMilliseconds(expiresMs), meta.GetValueOrDefault(OwnerKey) ?? string.Empty);
    }
}
