using EdgeRelay.Attachments;
using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// Attachment metrics: levels and counters read from the store at scrape time. Refusals are in
/// <c>edgerelay_requests_refused_total</c> under their codes (ATTACHMENT_TOO_LARGE, QUOTA_ATTACHMENTS,
/// UPLOAD_UNKNOWN, UPLOAD_OFFSET, UPLOAD_INCOMPLETE, NOT_AUTHORISED).
/// </summary>
public sealed partial class RelayMetrics
{
    private Gauge _attachments = null!;
    private Gauge _attachmentStoredBytes = null!;
    private Gauge _uploadsInProgress = null!;
    private Gauge _attachmentReservedBytes = null!;
    private Counter.Child _uploadsStarted = null!;
    private Counter.Child _uploadsCommitted = null!;
    private Counter.Child _uploadsExpired = null!;
    private Counter _attachmentsExpired = null!;
    private Counter _uploadBytes = null!;

    /// <summary>Downloads started on the HTTP endpoint (GET or HEAD of a live attachment, whatever range or condition).</summary>
    internal Counter AttachmentDownloads { get; }

    private Counter CreateAttachmentMetrics(MetricFactory factory)
    {
        _attachments = factory.CreateGauge("edgerelay_attachments", "Committed attachments being served.");
        _attachmentStoredBytes = factory.CreateGauge("edgerelay_attachment_stored_bytes", "Bytes of committed attachments on disk.");
        _uploadsInProgress = factory.CreateGauge("edgerelay_attachment_uploads_in_progress", "Uploads begun and neither committed nor expired.");
        _attachmentReservedBytes = factory.CreateGauge("edgerelay_attachment_reserved_bytes", "Declared sizes of uploads in progress, counted against Attachments:MaxDiskBytes.");
        var uploads = factory.CreateCounter("edgerelay_attachment_uploads_total", "Uploads by outcome: started, committed, expired (no progress for Attachments:UploadTimeout).", "event");
        _uploadsStarted = uploads.WithLabels("started");
        _uploadsCommitted = uploads.WithLabels("committed");
        _uploadsExpired = uploads.WithLabels("expired");
        _attachmentsExpired = factory.CreateCounter("edgerelay_attachments_expired_total", "Attachments removed at their expiry (Attachments:Expiry).");
        _uploadBytes = factory.CreateCounter("edgerelay_attachment_received_bytes_total", "Chunk bytes written to uploads.");
        return factory.CreateCounter("edgerelay_attachment_downloads_total", "GET and HEAD requests answered for a live attachment.");
    }

    private void CollectAttachments(AttachmentStatistics stats)
    {
        _attachments.Set(stats.Attachments);
        _attachmentStoredBytes.Set(stats.StoredBytes);
        _uploadsInProgress.Set(stats.UploadsInProgress);
        _attachmentReservedBytes.Set(stats.ReservedBytes);
        _uploadsStarted.IncTo(stats.UploadsStarted);
        _uploadsCommitted.IncTo(stats.UploadsCommitted);
        _uploadsExpired.IncTo(stats.UploadsExpired);
        _attachmentsExpired.IncTo(stats.AttachmentsExpired);
        _uploadBytes.IncTo(stats.BytesReceived);
    }
}
