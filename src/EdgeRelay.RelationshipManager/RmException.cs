namespace EdgeRelay.RelationshipManager;

/// <summary>Why the relationship manager refused an operation. Values are stable: apps and scripts switch on them.</summary>
public enum RmError
{
    /// <summary>No contact has that name or id.</summary>
    UnknownContact = 1,

    /// <summary>More than one contact has that name: use the contact's id.</summary>
    AmbiguousContact = 2,

    /// <summary>The relationship was terminated (by either side): nothing more is sent.</summary>
    RelationshipTerminated = 3,

    /// <summary>Someone with this contact's name presented other keys; compare safety numbers and accept the change first.</summary>
    KeyChangeNotAccepted = 4,

    /// <summary>The number the other person read out is not this relationship's safety number.</summary>
    SafetyNumberMismatch = 5,

    /// <summary>The text does not fit the largest envelope (docs/RM-PROTOCOL.md §4.1).</summary>
    MessageTooLarge = 6,

    /// <summary>The invitation is our own.</summary>
    OwnInvitation = 7,

    /// <summary>We already have a relationship with this identity.</summary>
    AlreadyAContact = 8,

    /// <summary>The home directory already holds an RM (init refuses to overwrite it).</summary>
    AlreadyInitialized = 9,

    /// <summary>The home directory holds no RM: run init first.</summary>
    NotInitialized = 10,

    /// <summary>No relay could be reached or none accepted the request; the message stays queued and is retried.</summary>
    ServiceUnavailable = 11,

    /// <summary>A name that is empty, too long, or not valid UTF-8 text.</summary>
    InvalidName = 12,

    /// <summary>No service is recorded at that endpoint.</summary>
    UnknownService = 13,

    /// <summary>The change would leave no receiving service to issue addresses: add another first.</summary>
    LastReceivingService = 14,

    /// <summary>Addresses handed out there may still receive: sunset it and wait until they have expired.</summary>
    ServiceInUse = 15,

    /// <summary>The service's endpoint, roles, pin or token is not usable (the message says which).</summary>
    InvalidService = 16,

    /// <summary>No group has that name or id (docs/RM-PROTOCOL.md §8).</summary>
    UnknownGroup = 17,

    /// <summary>More than one group has that name: use the group's id.</summary>
    AmbiguousGroup = 18,

    /// <summary>Only the group's admin (its first member) adds and removes members.</summary>
    NotGroupAdmin = 19,

    /// <summary>We left the group or were removed from it: nothing more is sent to it.</summary>
    NotInGroup = 20,

    /// <summary>The contact is a member of the group already.</summary>
    AlreadyGroupMember = 21,

    /// <summary>The group lists no such member.</summary>
    NotAGroupMember = 22,

    /// <summary>A group lists at most 100 members.</summary>
    GroupFull = 23,

    /// <summary>The text is not a successor invitation (<c>edgerelay-successor1:…</c>, docs/RM-PROTOCOL.md §9.2).</summary>
    NotASuccessorInvitation = 24,

    /// <summary>No hand-over to a successor awaits the user's decision for this contact.</summary>
    NoSuccessorProposed = 25,

    /// <summary>No merge awaits the user's decision for this contact.</summary>
    NoMergeProposed = 26,

    /// <summary>A merge names two relationships that are not both working, or the same one.</summary>
    CannotMerge = 27,

    /// <summary>A backup identity that is our own.</summary>
    InvalidBackup = 28,
}

/// <summary>A refusal by the relationship manager, with a stable <see cref="Error"/> code.</summary>
public sealed class RmException : Exception
{
    public RmException(RmError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    public RmException()
    {
    }

    public RmException(string message)
        : base(message)
    {
    }

    public RmException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RmError Error { get; }
}
