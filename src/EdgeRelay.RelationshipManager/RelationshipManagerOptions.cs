using EdgeRelay.Client;

namespace EdgeRelay.RelationshipManager;

/// <summary>Where an RM keeps its state and how it behaves. Every default is the one the CLI uses.</summary>
public sealed class RelationshipManagerOptions
{
    /// <summary>The RM's home directory: <c>keys.sealed</c> (the passphrase-sealed key store) and <c>state.db</c> (SQLite).</summary>
    public required string Home { get; init; }

    /// <summary>Clock for expiries, timestamps and retry delays. Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Lifetime asked for each new address. Default 30 days (a relay may cap it).</summary>
    public TimeSpan AddressLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How long an invitation can be accepted. Default 7 days.</summary>
    public TimeSpan InvitationLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Template for every relay connection (timeouts, keepalive); TLS pins come from cards and services.</summary>
    public RelayClientOptions? Client { get; init; }

    /// <summary>
    /// When a contact's card expires sooner than this, the next message to them carries a request to refresh it
    /// (docs/RM-PROTOCOL.md §6, update key 15), once per card. Default 7 days.
    /// </summary>
    public TimeSpan RefreshBefore { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// When one of our addresses expires sooner than this, a fresh one replaces it (on the same service) and is
    /// announced to the contact; the old one is collected until it expires and not renewed. Null (the default)
    /// is a third of <see cref="AddressLifetime"/>: 10 days of 30, time for every message already on its way.
    /// </summary>
    public TimeSpan? RotateBefore { get; init; }

    /// <summary>
    /// How long a message a sending service queued may wait for the recipient's relay before it is also sent to the
    /// recipient's next card (through a sending service again): their first relay may be down. The recipient shows
    /// whichever copy arrives first and drops the other. Default 2 minutes.
    /// </summary>
    public TimeSpan SendingPatience { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a following inbox looks for addresses added by another process (an invite or accept). Default 5 s.</summary>
    public TimeSpan AddressRescanInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Cost of the passphrase's key derivation (Argon2id) when a key store is created; null for the library's
    /// default (<see cref="Identity.KeyStoreOptions.Default"/>). Read from the file when it is opened.
    /// </summary>
    public Identity.KeyStoreOptions? KeyStore { get; init; }

    internal string KeyStorePath => Path.Combine(Home, "keys.sealed");

    internal string DatabasePath => Path.Combine(Home, "state.db");
}
