namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>Why an invitation was refused (docs/RM-PROTOCOL.md §3.3). The values are stable: apps map them to messages.</summary>
public enum InvitationError
{
    /// <summary>Not an invitation: wrong prefix, not canonical base64url, or truncated.</summary>
    Malformed = 1,

    /// <summary>A format version this library does not know (a newer app made it, probably).</summary>
    UnknownVersion = 2,

    /// <summary>A cipher suite this library does not know.</summary>
    UnknownSuite = 3,

    /// <summary>The inviter's signature does not verify: the invitation was altered or forged.</summary>
    BadSignature = 4,

    /// <summary>The invitation's expiry has passed.</summary>
    Expired = 5,

    /// <summary>Bytes after the signature, which nothing covers.</summary>
    TrailingBytes = 6,

    /// <summary>A name longer than 64 bytes of UTF-8.</summary>
    NameTooLong = 7,

    /// <summary>A name that is not UTF-8 or holds control characters (which could rewrite a terminal's display).</summary>
    BadName = 8,

    /// <summary>An empty or oversized card, or one that does not decode as an address card.</summary>
    BadCard = 9,

    /// <summary>Sealed invitation secrets whose key or secret do not belong to the invitation stored with them.</summary>
    SecretsMismatch = 10,
}

/// <summary>An invitation refused; <see cref="Error"/> says why in a form code can test.</summary>
public sealed class InvitationException : Exception
{
    public InvitationException()
        : this(InvitationError.Malformed, "The invitation was refused.")
    {
    }

    public InvitationException(string message)
        : this(InvitationError.Malformed, message)
    {
    }

    public InvitationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = InvitationError.Malformed;
    }

    public InvitationException(InvitationError error, string message, Exception? innerException = null)
        : base($"{error}: {message}", innerException)
    {
        Error = error;
    }

    public InvitationError Error { get; }
}
