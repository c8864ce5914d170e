using System.Text.Json;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Writes the user's data as JSON Lines (UTF-8, one object per line): a header with our name and public
    /// identity, our services, each contact with the cards they gave us and ours they hold, every message, then
    /// each group with its members and every group message.
    /// Public data only: no private key, ratchet secret, passphrase-derived key or service token is ever part of
    /// it. The format is docs/RM-LIBRARY.md's "Export format".
    /// </summary>
    public Task ExportAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return SerialisedAsync(
            async () =>
            {
                var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
                async Task Line(object value)
                {
                    await JsonSerializer.SerializeAsync(destination, value, options, cancellationToken);
                    destination.WriteByte((byte)'\n');
                }

                await Line(new { type = "rm-export", version = 1, name = Name, identity = Convert.ToHexStringLower(Identity.Bytes), exportedAt = Time.GetUtcNow() });
                foreach (var service in _database.GetServices())
                {
                    var described = Describe(service);
                    await Line(new
                    {
                        type = "service",
                        endpoint = service.Endpoint,
                        receiving = described.Use.HasFlag(ServiceUse.Receiving),
                        sending = described.Use.HasFlag(ServiceUse.Sending),
                        pin = service.Pin is null ? null : Convert.ToHexStringLower(service.Pin),
                        state = Kebab(described.State.ToString()),
                        sunsetAt = described.SunsetAt,
                        collectUntil = described.CollectUntil,
                    });
                }

                var relationships = _database.GetRelationships();
                foreach (var r in relationships)
                {
                    await Line(new
                    {
                        type = "contact",
                        id = r.Id,
                        name = r.Name,
                        identity = Convert.ToHexStringLower(r.Identity.Bytes),
                        verified = r.Verified,
                        state = Kebab(r.State.ToString()),
                        since = r.CreatedAt,
                        cards = _database.GetTheirCards(r.Id).Select(c => Card(c.Card).ToString()).ToArray(),
                        ourCards = _database.GetOurCards(r.Id).Where(c => c.ReplacedAt is null).Select(c => Card(c.Address.Card).ToString()).ToArray(),
                    });
                }

                foreach (var r in relationships)
                {
                    foreach (var m in _database.GetMessages(r.Id, int.MaxValue))
                    {
                        var stored = ToStoredMessage(m);
                        await Line(new { type = "message", contact = r.Id, id = stored.Id.Value, outgoing = stored.Outgoing, text = stored.Text, sentAt = stored.SentAt, at = stored.At, status = Kebab(stored.Status.ToString()) });
                    }
                }

                foreach (var group in _database.GetGroups())
                {
                    await Line(new
                    {
                        type = "group",
                        id = group.Id.ToString(),
                        name = group.Name,
                        epoch = group.Epoch,
                        standing = Kebab(group.Standing.ToString()),
                        members = group.Members.Select(m => new { identity = Convert.ToHexStringLower(m.Identity.Bytes), name = m.Name }).ToArray(),
                    });
                }

                foreach (var group in _database.GetGroups())
                {
                    foreach (var m in _database.GetGroupMessages(group.Id, int.MaxValue))
                    {
                        await Line(new
                        {
                            type = "group-message",
                            group = group.Id.ToString(),
                            id = Convert.ToHexStringLower(m.MessageId),
                            sender = Convert.ToHexStringLower(m.Sender.Bytes),
                            senderName = m.SenderName,
                            outgoing = m.Direction == MessageDirection.Out,
                            text = m.Text,
                            epoch = m.Epoch,
                            sentAt = m.SentAt,
                            at = m.At,
                        });
                    }
                }

                await destination.FlushAsync(cancellationToken);
                return true;
            },
            cancellationToken);
    }

    private static string Kebab(string name) => JsonNamingPolicy.KebabCaseLower.ConvertName(name);
}
