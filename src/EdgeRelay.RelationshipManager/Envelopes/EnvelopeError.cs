namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// Why an envelope was refused (docs/RM-PROTOCOL.md §4.3). Stable: the values are stored and logged.
/// A refused envelope is never shown and leaves the relationship's state as it was.
/// </summary>
public enum EnvelopeError
{
    /// <summary>Bytes that do not parse: a truncated header, a body length that does not fit, a CBOR body that breaks §6.</summary>
    Malformed = 1,

    UnknownVersion = 2,

    UnknownSuite = 3,

    /// <summary>A kind byte this version does not define.</summary>
    UnknownKind = 4,

    /// <summary>A known kind handed to the operation for the other one (an introduction to Open, a message to OpenIntroduction).</summary>
    WrongKind = 5,

    /// <summary>An envelope that is not exactly 256, 1024, 4096 or 16384 bytes long.</summary>
    WrongLength = 6,

    /// <summary>HPKE did not open: tampered bytes, or sealed with keys this receiver does not hold.</summary>
    DoesNotOpen = 7,

    /// <summary>The inner signature is not the sender's over what it covers.</summary>
    BadSignature = 8,

    /// <summary>A padding byte is not zero.</summary>
    BadPadding = 9,

    /// <summary>Sealed to a ratchet key the receiver has already deleted (older than its newest three).</summary>
    StaleKey = 10,

    /// <summary>Sealed to a ratchet key the receiver never created.</summary>
    UnknownKey = 11,

    /// <summary>A message number already received (or whose skipped key was dropped): the relay delivers at least once.</summary>
    Replay = 12,

    /// <summary>A message number more than 256 past the next expected one.</summary>
    TooManySkipped = 13,

    /// <summary>A body too long for the largest envelope (refused by the sender).</summary>
    TooLarge = 14,

    /// <summary>An introduction for another invitation than the one given.</summary>
    UnknownInvitation = 15,

    /// <summary>A command type this version does not define.</summary>
    UnknownCommand = 16,

    /// <summary>A ratchet key that cannot be used: low order, or another public key under an id already known.</summary>
    BadRatchetKey = 17,

    /// <summary>Serialized ratchet state that does not parse.</summary>
    BadState = 18,

    /// <summary>The sending chain reached message number 2^32 − 1: the relationship must be re-established.</summary>
    ChainExhausted = 19,
}
