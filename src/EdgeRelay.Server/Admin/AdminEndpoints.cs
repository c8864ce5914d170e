using EdgeRelay.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// The admin API under <c>/admin</c> on the HTTP endpoint. Off unless Admin:Token or Admin:TokenFile is set:
/// then nothing is mapped, so every /admin path answers 404 whatever its method and the API's existence is not
/// revealed. On, every request needs <c>Authorization: Bearer &lt;token&gt;</c> (401 otherwise) and every
/// action is written to the audit log with its actor.
/// </summary>
public static partial class AdminEndpoints
{
    /// <summary>
    /// Maps the status page at <c>/</c> (always) and the admin group with its endpoints; returns the group, or null
    /// when the admin API is off.
    /// </summary>
    public static RouteGroupBuilder? MapAdmin(WebApplication app, RelayServer relay)
    {
        relay.StartedAt = relay.Time.GetUtcNow();
        relay.Metrics.CreateAdminMetrics();
        StatusPage.Map(app, relay);
        var token = relay.Options.Admin.ResolveToken();
        if (token is null)
        {
            return null;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(AdminLog.Category);
        var admin = new AdminContext(relay, new AdminAuthentication(token), logger);
        var group = app.MapGroup("/admin");
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!admin.Authentication.IsAuthorised(http.Request.Headers.Authorization))
            {
                var reason = http.Request.Headers.Authorization.Count == 0 ? "no bearer token" : "wrong token";
                AdminLog.Refused(logger, http.Request.Method, http.Request.Path, AdminContext.Remote(http), reason);
                relay.Metrics.AdminAction("authenticate", "refused");
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Json(new AdminError("unauthorised", reason), AdminJson.Default.AdminError, statusCode: StatusCodes.Status401Unauthorized);
            }

            return await next(context);
        });

        group.MapGet("/stats", (HttpContext http) =>
        {
            var stats = admin.Stats();
            admin.Audit(http, "stats", "relay", "ok");
            return Results.Json(stats, AdminJson.Default.AdminStats);
        });

        MapAddresses(group, admin);
        MapDrain(group, admin);
        BackupEndpoint.MapBackup(group, admin);
        AdminLog.Enabled(logger, admin.Authentication.Fingerprint);
        return group;
    }

    /// <summary>What every admin endpoint shares: the relay, the token check and the audit log.</summary>
    internal sealed class AdminContext(RelayServer relay, AdminAuthentication authentication, ILogger logger)
    {
        public RelayServer Relay { get; } = relay;

        public AdminAuthentication Authentication { get; } = authentication;

        public ILogger Logger { get; } = logger;

        public static string Remote(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

        /// <summary>Writes the audit line of an action and counts it under <paramref name="metricOutcome"/> (ok, not_found, refused, failed).</summary>
        public void Audit(HttpContext http, string action, string target, string outcome, string? metricOutcome = null)
        {
            AdminLog.Action(Logger, action, target, Remote(http), Authentication.Fingerprint, outcome);
            Relay.Metrics.AdminAction(action, metricOutcome ?? outcome);
        }

        /// <summary>Audits a refused action and answers it with a stable error code.</summary>
        public IResult Refuse(HttpContext http, string action, string target, int statusCode, string error, string message)
        {
            Audit(http, action, target, $"{error}: {message}", statusCode == StatusCodes.Status404NotFound ? "not_found" : "refused");
            return Results.Json(new AdminError(error, message), AdminJson.Default.AdminError, statusCode: statusCode);
        }

        public AdminStats Stats()
        {
            var relay = Relay;
            var storage = relay.Storage.GetStatistics();
            var status = relay.GetStatus();
            var budget = relay.Options.Storage.MaxDiskBytes;
            var now = relay.Time.GetUtcNow();
            var roles = new List<string>(2);
            if ((status.Roles & ServiceRoles.Receiving) != 0)
            {
                roles.Add("receiving");
            }

            if ((status.Roles & ServiceRoles.Sending) != 0)
            {
                roles.Add("sending");
            }

            return new AdminStats(
                Version: Metrics.RelayMetrics.Version,
                StartedAt: relay.StartedAt,
                UptimeSeconds: (long)(now - relay.StartedAt).TotalSeconds,
                Availability: AvailabilityName(status.Availability),
                Reason: status.Reason,
                Draining: relay.IsDraining,
                Roles: [.. roles],
                Connections: relay.ConnectionCount,
                Addresses: storage.Addresses,
                QueueDepth: storage.PendingMessages,
                PendingMessages: storage.PendingMessages,
                PendingBytes: storage.PendingBytes,
                OutboundMessages: (long)status.OutboundMessages,
                OutboundBytes: (long)status.OutboundBytes,
                LogBytes: storage.LogTailAddress - storage.LogBeginAddress,
                DiskBudgetBytes: budget == 0 ? null : budget,
                DiskHeadroomBytes: budget == 0 ? null : (long)status.DiskHeadroom,
                FilesystemFreeBytes: FilesystemFree(relay.Options.Storage.DataDir));
        }

        internal static string AvailabilityName(Availability availability) => availability switch
        {
            Availability.Accepting => "accepting",
            Availability.Draining => "draining",
            Availability.Degraded => "degraded",
            _ => "unknown",
        };

        private static long? FilesystemFree(string dataDir)
        {
            try
            {
                return new DriveInfo(Path.GetFullPath(dataDir)).AvailableFreeSpace;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return null;
            }
        }
    }
}
