using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// <c>POST /admin/drain</c> and <c>/admin/accept</c> (or <c>/admin/drain?undo</c>): stop and resume taking new
/// messages while delivery goes on; and <c>POST /admin/reload</c>, the configuration reload SIGHUP also triggers.
/// </summary>
public static partial class AdminEndpoints
{
    private static void MapDrain(RouteGroupBuilder group, AdminContext admin)
    {
        group.MapPost("/drain", (HttpContext http) => SetDraining(http, admin, !http.Request.Query.ContainsKey("undo")));
        group.MapPost("/accept", (HttpContext http) => SetDraining(http, admin, draining: false));
        group.MapPost("/reload", (HttpContext http) =>
        {
            if (admin.Relay.ReloadConfiguration is not { } reload)
            {
                return admin.Refuse(http, "reload", "configuration", StatusCodes.Status409Conflict, "reload_unavailable", "this relay was started without a configuration file to reload");
            }

            var change = reload();
            var outcome = change.Problems.Count > 0 ? "refused"
                : change.Applied.Count > 0 ? $"applied {string.Join(", ", change.Applied)}"
                : "unchanged";
            admin.Audit(http, "reload", "configuration", outcome, change.Problems.Count > 0 ? "refused" : "ok");
            return Results.Json(new AdminReload([.. change.Applied], [.. change.NeedRestart], [.. change.Problems]), AdminJson.Default.AdminReload);
        });
    }

    private static IResult SetDraining(HttpContext http, AdminContext admin, bool draining)
    {
        var was = admin.Relay.IsDraining;
        admin.Relay.IsDraining = draining;
        var action = draining ? "drain" : "accept";
        admin.Audit(http, action, "relay", was == draining ? "unchanged" : draining ? "draining" : "accepting", "ok");
        return Results.Json(
            new AdminDrainState(draining, AdminContext.AvailabilityName(admin.Relay.GetStatus().Availability)),
            AdminJson.Default.AdminDrainState);
    }
}
