namespace EdgeRelay.Protocol;

/// <summary>What a request body parser found, for the error code a refusal carries.</summary>
public enum BodyStatus
{
    /// <summary>The body parsed.</summary>
    Ok,

    /// <summary>The layout is wrong (a length that does not match, bytes that do not decode): MALFORMED_FRAME.</summary>
    Malformed,

    /// <summary>The layout is right but a field's value is outside its range (a count, a length): INVALID_ARGUMENT.</summary>
    OutOfRange,
}
