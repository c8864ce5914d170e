using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// <c>GET /</c> on the HTTP endpoint: a read-only page for a person checking on the relay. It needs no token, so it
/// shows only what is safe for anyone who can reach the port: counts and levels, never an address id, a key, a
/// token or a path.
/// </summary>
internal static class StatusPage
{
    public static void Map(WebApplication app, RelayServer relay) => app.MapGet("/", (HttpContext http) =>
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";
        return Results.Content(Render(relay), "text/html; charset=utf-8");
    });

    internal static string Render(RelayServer relay)
    {
        var storage = relay.Storage.GetStatistics();
        var status = relay.GetStatus();
        var budget = relay.Options.Storage.MaxDiskBytes;
        var uptime = relay.Time.GetUtcNow() - relay.StartedAt;
        var readiness = relay.IsShuttingDown ? "shutting down" : relay.IsDraining ? "draining (new messages refused)" : "ready";
        var rows = new (string Name, string Value)[]
        {
            ("Version", Metrics.RelayMetrics.Version),
            ("Uptime", $"{(int)uptime.TotalDays}d {uptime.Hours:00}:{uptime.Minutes:00}:{uptime.Seconds:00}"),
            ("Readiness", readiness),
            ("Availability", AdminEndpoints.AdminContext.AvailabilityName(status.Availability) + (status.Reason.Length > 0 ? " (" + status.Reason + ")" : "")),
            ("Connections", relay.ConnectionCount.ToString("N0", CultureInfo.InvariantCulture)),
            ("Queue depth", $"{storage.PendingMessages.ToString("N0", CultureInfo.InvariantCulture)} messages, {storage.PendingBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes"),
            ("Disk headroom", budget == 0 ? "no budget" : $"{((long)status.DiskHeadroom).ToString("N0", CultureInfo.InvariantCulture)} of {budget.ToString("N0", CultureInfo.InvariantCulture)} bytes"),
        };

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>EdgeRelay</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:2em}</style></head>\n")
            .Append("<body><h1>EdgeRelay</h1>\n<table>\n");
        foreach (var (name, value) in rows)
        {
            html.Append("<tr><th>").Append(WebUtility.HtmlEncode(name)).Append("</th><td>").Append(WebUtility.HtmlEncode(value)).Append("</td></tr>\n");
        }

        return html.Append("</table>\n</body></html>\n").ToString();
    }
}
