using System.Globalization;
using EdgeRelay.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// <c>/admin/addresses</c>: the registry in pages, one address, its revocation and the purge of its backlog. Replies
/// show what an operator needs to run the relay and nothing that belongs to the owner: no key, no wake-up
/// endpoint, no ciphertext.
/// </summary>
public static partial class AdminEndpoints
{
    /// <summary>Default and largest page of <c>GET /admin/addresses</c>.</summary>
    public const int DefaultPage = 100;
    public const int MaxPage = 1000;

    private static void MapAddresses(RouteGroupBuilder group, AdminContext admin)
    {
        group.MapGet("/addresses", (HttpContext http, string? limit, string? after) =>
        {
            var size = DefaultPage;
            if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPage))
            {
                return admin.Refuse(http, "addresses", "relay", StatusCodes.Status400BadRequest, "invalid_argument", $"limit must be 1 to {MaxPage}");
            }

            var cursor = default(AddressId);
            if (!string.IsNullOrEmpty(after) && !TryParseAid(after, out cursor))
            {
                return admin.Refuse(http, "addresses", "relay", StatusCodes.Status400BadRequest, "invalid_argument", "after must be an address id: 32 hex digits");
            }

            var page = new AddressListing[size];
            var count = admin.Relay.Storage.ListAddresses(cursor, page);
            var now = admin.Relay.Time.GetUtcNow().ToUnixTimeSeconds();
            var addresses = new AdminAddress[count];
            for (var i = 0; i < count; i++)
            {
                addresses[i] = Describe(page[i], now);
            }

            admin.Audit(http, "addresses", string.IsNullOrEmpty(after) ? "relay" : "relay after " + after, "ok");
            return Results.Json(new AdminAddressPage(addresses, count == size ? addresses[^1].Aid : null), AdminJson.Default.AdminAddressPage);
        });

        group.MapGet("/addresses/{aid}", (HttpContext http, string aid) =>
        {
            if (!TryParseAid(aid, out var id))
            {
                return admin.Refuse(http, "inspect", aid, StatusCodes.Status400BadRequest, "invalid_argument", "an address id is 32 hex digits");
            }

            if (!admin.Relay.Storage.TryGetListing(id, out var listing))
            {
                return admin.Refuse(http, "inspect", aid, StatusCodes.Status404NotFound, "unknown_address", $"no address {aid} on this relay");
            }

            admin.Audit(http, "inspect", aid, "ok");
            return Results.Json(Describe(listing, admin.Relay.Time.GetUtcNow().ToUnixTimeSeconds()), AdminJson.Default.AdminAddress);
        });

        group.MapPost("/addresses/{aid}/revoke", async (HttpContext http, string aid) =>
        {
            if (!TryParseAid(aid, out var id))
            {
                return admin.Refuse(http, "revoke", aid, StatusCodes.Status400BadRequest, "invalid_argument", "an address id is 32 hex digits");
            }

            var (status, ticket) = await admin.Relay.Storage.RevokeAsync(id, http.RequestAborted);
            if (status == RevokeStatus.UnknownAddress)
            {
                return admin.Refuse(http, "revoke", aid, StatusCodes.Status404NotFound, "unknown_address", $"no address {aid} on this relay");
            }

            // The reply promises the revocation: only once it is durable, as REVOKE_ADDRESS's OK.
            await admin.Relay.Storage.WaitDurableAsync(ticket, http.RequestAborted);
            var outcome = status == RevokeStatus.Revoked ? "revoked" : "already_revoked";
            admin.Audit(http, "revoke", aid, outcome);
            return Results.Json(new AdminAddressChange(aid, outcome, 0, 0), AdminJson.Default.AdminAddressChange);
        });

        group.MapPost("/addresses/{aid}/purge", async (HttpContext http, string aid) =>
        {
            if (!TryParseAid(aid, out var id))
            {
                return admin.Refuse(http, "purge", aid, StatusCodes.Status400BadRequest, "invalid_argument", "an address id is 32 hex digits");
            }

            var result = await admin.Relay.Storage.PurgeAsync(id, http.RequestAborted);
            if (result.Status == PurgeStatus.UnknownAddress)
            {
                return admin.Refuse(http, "purge", aid, StatusCodes.Status404NotFound, "unknown_address", $"no address {aid} on this relay");
            }

            await admin.Relay.Storage.WaitDurableAsync(result.Ticket, http.RequestAborted);
            admin.Audit(http, "purge", aid, $"purged {result.Messages} messages ({result.Bytes} bytes)", "ok");
            return Results.Json(new AdminAddressChange(aid, "purged", result.Messages, result.Bytes), AdminJson.Default.AdminAddressChange);
        });
    }

    /// <summary>Parses the 32 hex digits an address id is shown as (its 16 bytes big-endian).</summary>
    public static bool TryParseAid(string text, out AddressId aid)
    {
        aid = default;
        Span<byte> bytes = stackalloc byte[16];
        if (text.Length != 32 || Convert.FromHexString(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 16)
        {
            return false;
        }

        aid = AddressId.Read(bytes);
        return !aid.IsEmpty;
    }

    private static AdminAddress Describe(AddressListing listing, long nowUnixSeconds)
    {
        var info = listing.Info;
        var policy = info.Policy.Kind switch
        {
            DeliveryPolicyKind.Immediate => "immediate",
            DeliveryPolicyKind.Batched => "batched",
            DeliveryPolicyKind.PullOnly => "pull-only",
            _ => "unknown",
        };
        return new AdminAddress(
            Aid: info.Id.ToString(),
            CreatedAt: DateTimeOffset.FromUnixTimeSeconds(info.CreatedAt),
            ExpiresAt: DateTimeOffset.FromUnixTimeSeconds(info.ExpiresAt),
            RevokedAt: info.IsRevoked ? DateTimeOffset.FromUnixTimeSeconds(info.RevokedAt) : null,
            Expired: info.ExpiresAt <= nowUnixSeconds,
            PendingMessages: listing.PendingMessages,
            PendingBytes: listing.PendingBytes,
            Policy: policy,
            PolicyWindowMs: info.Policy.Kind == DeliveryPolicyKind.Batched ? info.Policy.WindowMilliseconds : null,
            WakeUps: info.NotifyEndpoint is not null);
    }
}
