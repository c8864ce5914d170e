using System.Text.Json;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Writes the user's data as JSON Lines (UTF-8, one object per line): a header with our name and public
    /// identity, then each contact with the cards they gave us, then every message. Public keys only: no
    /// private key, ratchet secret or passphrase-derived key is ever part of it.
    /// </summary>
    /// <remarks>
    /// Lines: <c>{"type":"rm-export","version":1,"name",…,"identity":hex}</c>;
    /// <c>{"type":"contact","id","name","identity":hex,"verified","state","since","cards":["edgerelay1:…"]}</c>;
    /// <c>{"type":"message","contact":id,"id":hex,"outgoing","text","sentAt","at","status"}</c>. Times are
    /// ISO 8601 UTC; states and statuses the enum names in kebab case.
    /// </remarks>
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

                await destination.FlushAsync(cancellationToken);
                return true;
            },
            cancellationToken);
    }

    private static string Kebab(string name) => JsonNamingPolicy.KebabCaseLower.ConvertName(name);
}
