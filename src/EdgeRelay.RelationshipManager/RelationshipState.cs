namespace EdgeRelay.RelationshipManager;

/// <summary>Where a relationship stands, as the user sees it.</summary>
public enum RelationshipState
{
    /// <summary>We accepted their invitation; they have not answered yet (we may already send).</summary>
    AwaitingReply = 0,

    Established = 1,

    /// <summary>We ended it: nothing is sent or shown any more, and our address for it is revoked.</summary>
    TerminatedByUs = 2,

    /// <summary>They ended it: we stop sending.</summary>
    TerminatedByThem = 3,

    /// <summary>
    /// Someone with the name of an existing contact but other keys: held (nothing sent, nothing shown) until
    /// the user compares safety numbers and accepts the change.
    /// </summary>
    KeyChangePending = 4,

    /// <summary>
    /// We handed over to a successor app (docs/RM-PROTOCOL.md §9.2): nothing more is sent from here, and what
    /// still arrives is acknowledged but neither stored nor answered (the correspondent resends it to the successor).
    /// </summary>
    HandedOver = 5,

    /// <summary>Folded into another relationship with the same person (docs/RM-PROTOCOL.md §9.3): its messages show there.</summary>
    Merged = 6,
}
