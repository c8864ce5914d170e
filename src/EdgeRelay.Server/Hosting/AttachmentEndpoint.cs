using System.Globalization;
using EdgeRelay.Attachments;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace EdgeRelay.Server;

/// <summary>
/// <c>GET</c> and <c>HEAD /a/{id}</c> on the HTTP endpoint: a committed attachment's ciphertext, with
/// ranges, a strong ETag (the SHA-256) and conditional requests handled by ASP.NET Core's file results.
/// </summary>
/// <remarks>
/// The URL is the capability: anyone holding it may download until the attachment expires, so the id is
/// 128 random bits and every miss (malformed, unknown, expired, swept) is the same bare 404, telling a
/// prober nothing. The bytes are ciphertext; their key travels in the message that carries the URL.
/// </remarks>
internal static class AttachmentEndpoint
{
    public static async Task<IResult> ServeAsync(string id, RelayServer relay, HttpContext context)
    {
        var store = relay.Attachments;
        if (!AttachmentId.TryParse(id, out var attachmentId))
        {
            return Results.NotFound();
        }

        StoredAttachment? attachment = null;
        Stream? stream = null;
        if (store.TryGet(attachmentId, out var local))
        {
            (attachment, stream) = (local, store.OpenRead(local));
        }

        if (stream is null)
        {
            // Committed on another node of the cluster (maybe lost since), or its blob gone here: read from the replicas.
            try
            {
                if (await store.FetchAsync(attachmentId, context.RequestAborted) is not { } fetched)
                {
                    return Results.NotFound();
                }

                (attachment, stream) = fetched;
            }
            catch (IOException)
            {
                // Not "gone": the cluster did not answer, or is busy with other reads. Logged by the store.
                context.Response.Headers.RetryAfter = "5";
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
        }

        if (attachment is null)
        {
            return Results.NotFound();
        }

        relay.Metrics.AttachmentDownloads.Inc();
        var headers = context.Response.Headers;
        var maxAge = Math.Max(0, (long)(attachment.ExpiresAt - relay.Time.GetUtcNow()).TotalSeconds);

        // Immutable for as long as it lives: the same URL never names other bytes. Private: the URL is a
        // secret a shared cache should not keep.
        headers.CacheControl = "private, immutable, max-age=" + maxAge.ToString(CultureInfo.InvariantCulture);
        headers.Expires = attachment.ExpiresAt.ToString("R", CultureInfo.InvariantCulture);
        headers.XContentTypeOptions = "nosniff";
        return Results.File(
            stream,
            "application/octet-stream",
            fileDownloadName: null,
            lastModified: attachment.StoredAt,
            entityTag: new EntityTagHeaderValue(attachment.ETag),
            enableRangeProcessing: true);
    }
}
