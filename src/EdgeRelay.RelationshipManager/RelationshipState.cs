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
}
