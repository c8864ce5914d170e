namespace EdgeRelay.Storage;

/// <summary>
/// What an operator's tools need of a store beyond the protocol: the registry listed in address order with each
/// address' backlog, and dropping an address' backlog at once.
/// </summary>
/// <remarks>
/// Neither is on a hot path: a listing may take time proportional to the registry (a page of an admin listing,
/// not a request of the protocol). The listing never carries ciphertexts; it carries the
/// <see cref="AddressInfo"/>, whose owner key and notification endpoint the caller must not show.
/// </remarks>
public interface IAddressAdministration
{
    /// <summary>
    /// Copies into <paramref name="destination"/> the addresses whose id follows <paramref name="after"/> in
    /// <see cref="AddressOrder"/> (from the first with <c>default(AddressId)</c>), in that order, revoked and
    /// expired ones included; returns how many. A page ends the listing when it is not full; the next page
    /// starts after the last id returned, so addresses created meanwhile appear in order, once.
    /// </summary>
    int ListAddresses(AddressId after, Span<AddressListing> destination);

    /// <summary>The address with its backlog, or false when the store does not know it.</summary>
    bool TryGetListing(AddressId aid, out AddressListing listing);

    /// <summary>
    /// Drops every message pending for <paramref name="aid"/> when the call starts, as if its owner had acknowledged
    /// them (later reads list none of them; a restart or compaction treats them as acknowledged). Durable once the
    /// result's ticket is; the address itself is unchanged and takes new messages unless revoked. Messages arriving
    /// during the purge stay.
    /// </summary>
    ValueTask<PurgeResult> PurgeAsync(AddressId aid, CancellationToken ct = default);
}

/// <summary>One address as an operator sees it: its registry entry and its backlog.</summary>
/// <param name="Info">The registry entry (holds the owner key and the notification endpoint: never show them).</param>
/// <param name="PendingMessages">Messages stored and not yet acknowledged, durable or not.</param>
/// <param name="PendingBytes">Their ciphertext bytes.</param>
public readonly record struct AddressListing(AddressInfo Info, int PendingMessages, long PendingBytes);

/// <summary>What <see cref="IAddressAdministration.PurgeAsync"/> did.</summary>
/// <param name="Status"><see cref="PurgeStatus.UnknownAddress"/>: nothing written.</param>
/// <param name="Messages">Messages dropped.</param>
/// <param name="Bytes">Their ciphertext bytes.</param>
/// <param name="Ticket">Durable once a flush covers the drop; <see cref="DurabilityTicket.None"/> when nothing was dropped.</param>
public readonly record struct PurgeResult(PurgeStatus Status, long Messages, long Bytes, DurabilityTicket Ticket);

/// <summary>The outcome of a purge (append new members at the end, never renumber).</summary>
public enum PurgeStatus
{
    /// <summary>The backlog was dropped (possibly of nothing).</summary>
    Purged = 0,
    UnknownAddress = 1,
}

/// <summary>The order of address listings: the 16 bytes of the id as one unsigned big-endian number (Hi, then Lo).</summary>
public sealed class AddressOrder : IComparer<AddressId>
{
    public static AddressOrder Instance { get; } = new();

    public int Compare(AddressId x, AddressId y) => x.Hi != y.Hi ? x.Hi.CompareTo(y.Hi) : x.Lo.CompareTo(y.Lo);
}
