using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Executable.Commands;

/// <summary><c>edgerelay admin addresses|inspect|revoke|purge</c>.</summary>
internal static partial class AdminCommand
{
    private static Command Addresses()
    {
        var limit = new Option<int>("--limit")
        {
            Description = $"Addresses per page, 1 to {AdminEndpoints.MaxPage}. Default {AdminEndpoints.DefaultPage}.",
            DefaultValueFactory = _ => AdminEndpoints.DefaultPage,
        };
        var after = new Option<string?>("--after") { Description = "List the addresses after this one (the next page's cursor, printed at the end of a full page)." };
        var command = new Command("addresses", "One page of the relay's addresses in id order: created, expiry, revoked, pending messages and bytes, delivery policy.");
        command.Options.Add(limit);
        command.Options.Add(after);
        command.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var path = $"admin/addresses?limit={result.GetValue(limit).ToString(CultureInfo.InvariantCulture)}";
            if (result.GetValue(after) is { Length: > 0 } cursor)
            {
                path += "&after=" + Uri.EscapeDataString(cursor);
            }

            var body = await client.SendAsync(HttpMethod.Get, path, ct);
            if (json)
            {
                Console.WriteLine(body);
                return 0;
            }

            var page = JsonSerializer.Deserialize(body, AdminJson.Default.AdminAddressPage)!;
            Console.WriteLine($"{"AID",-32}  {"CREATED",-20}  {"EXPIRES",-20}  {"STATE",-8}  {"PENDING",9}  {"BYTES",10}  POLICY");
            foreach (var a in page.Addresses)
            {
                Console.WriteLine($"{a.Aid,-32}  {Time(a.CreatedAt),-20}  {Time(a.ExpiresAt),-20}  {State(a),-8}  {Number(a.PendingMessages),9}  {Bytes(a.PendingBytes),10}  {Policy(a)}");
            }

            Console.WriteLine(page.NextAfter is null
                ? $"{page.Addresses.Length} address(es); end of the listing."
                : $"{page.Addresses.Length} address(es); next page: --after {page.NextAfter}");
            return 0;
        }));
        return command;
    }

    private static Command Inspect()
    {
        var aid = new Argument<string>("aid") { Description = "The address id (32 hex digits)." };
        var command = new Command("inspect", "One address: created, expiry, revocation, pending messages and bytes, delivery policy, whether wake-ups are registered.");
        command.Arguments.Add(aid);
        command.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var body = await client.SendAsync(HttpMethod.Get, "admin/addresses/" + Uri.EscapeDataString(result.GetValue(aid)!), ct);
            if (json)
            {
                Console.WriteLine(body);
                return 0;
            }

            var a = JsonSerializer.Deserialize(body, AdminJson.Default.AdminAddress)!;
            WriteTable(
            [
                ("aid", a.Aid),
                ("created", Time(a.CreatedAt)),
                ("expires", Time(a.ExpiresAt) + (a.Expired ? " (expired)" : "")),
                ("revoked", a.RevokedAt is { } at ? Time(at) : "no"),
                ("pending", $"{Number(a.PendingMessages)} messages, {Bytes(a.PendingBytes)}"),
                ("policy", Policy(a)),
                ("wake-ups", a.WakeUps ? "registered" : "none"),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var aid = new Argument<string>("aid") { Description = "The address id (32 hex digits)." };
        var command = new Command("revoke", "Revoke an address: it takes no new message; its owner can still read and acknowledge what it holds.");
        command.Arguments.Add(aid);
        command.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var body = await client.SendAsync(HttpMethod.Post, $"admin/addresses/{Uri.EscapeDataString(result.GetValue(aid)!)}/revoke", ct);
            var change = JsonSerializer.Deserialize(body, AdminJson.Default.AdminAddressChange)!;
            Console.WriteLine(json ? body : $"{change.Aid}: {change.Outcome.Replace('_', ' ')}");
            return 0;
        }));
        return command;
    }

    private static Command Purge()
    {
        var aid = new Argument<string>("aid") { Description = "The address id (32 hex digits)." };
        var yes = new Option<bool>("--yes") { Description = "Confirm: the messages are dropped for good, their owner never receives them." };
        var command = new Command("purge", "Drop every message waiting for an address, durably (its owner's next PULL finds none). Needs --yes.");
        command.Arguments.Add(aid);
        command.Options.Add(yes);
        command.SetAction(async (result, ct) =>
        {
            if (!result.GetValue(yes))
            {
                await Console.Error.WriteLineAsync("edgerelay admin purge: this drops the address' messages for good; add --yes to confirm.");
                return AdminHttpClient.UsageError;
            }

            return await RunAsync(result, async (client, json) =>
            {
                var body = await client.SendAsync(HttpMethod.Post, $"admin/addresses/{Uri.EscapeDataString(result.GetValue(aid)!)}/purge", ct);
                var change = JsonSerializer.Deserialize(body, AdminJson.Default.AdminAddressChange)!;
                Console.WriteLine(json ? body : $"{change.Aid}: purged {Number(change.PurgedMessages)} messages, {Bytes(change.PurgedBytes)}");
                return 0;
            });
        });
        return command;
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string State(AdminAddress a) => a.RevokedAt is not null ? "revoked" : a.Expired ? "expired" : "active";

    private static string Policy(AdminAddress a) => a.PolicyWindowMs is { } window ? $"{a.Policy} ({window} ms)" : a.Policy;
}
