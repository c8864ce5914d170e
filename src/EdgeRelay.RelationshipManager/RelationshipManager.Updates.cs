using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>Changes our preferred name and tells every contact (an associated-data update).</summary>
    /// <exception cref="RmException"><see cref="RmError.InvalidName"/>.</exception>
    public Task SetNameAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        return SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var now = Time.GetUtcNow();
                    writer.SetProfileName(name);
                    foreach (var listed in _database.GetRelationships().Where(r => r.State is RelationshipState.Established or RelationshipState.AwaitingReply))
                    {
                        var relationship = listed;
                        Seal(writer, ref relationship, new Update(Name: name), now);
                    }

                    writer.Commit();
                }

                Name = name;
                return await FlushOutboxAsync(cancellationToken);
            },
            cancellationToken);
    }

    /// <summary>
    /// Asks the contact for fresh cards in place of those that expire within
    /// <see cref="RelationshipManagerOptions.RefreshBefore"/>, once per card, in the transaction of any command
    /// sealed to them (so the request travels with real traffic, receipts included, not on a timer of its own).
    /// </summary>
    private void RequestRefreshIfDue(RmWriter writer, ref RelationshipRecord relationship, DateTimeOffset now)
    {
        var due = _database.GetTheirCards(relationship.Id)
            .Where(c => c.RefreshRequestedAt is null && c.ExpiresAt - now < _options.RefreshBefore)
            .ToList();
        if (due.Count == 0)
        {
            return;
        }

        Seal(writer, ref relationship, new Update(Refresh: [.. due.Select(c => c.Aid)]), now);
        foreach (var card in due)
        {
            writer.MarkRefreshRequested(relationship.Id, card.Aid, now);
        }
    }
}
