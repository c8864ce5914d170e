using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

/// <summary>The relay refused a request. <see cref="Code"/> is the stable protocol error code.</summary>
public sealed class RelayException : Exception
{
    public RelayException(ErrorCode code, string reason)
        : base($"{ErrorCodes.Name(code)} ({(ushort)code}): {reason}")
    {
        Code = code;
        Reason = reason;
    }

    public RelayException()
        : this(ErrorCode.InternalError, "unknown")
    {
    }

    public RelayException(string message)
        : base(message)
    {
        Reason = message;
    }

    public RelayException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>The relay's error code; <see cref="ErrorCode.None"/> when the connection failed instead (see the inner exception).</summary>
    public ErrorCode Code { get; }

    public string Reason { get; } = "";

    /// <summary>Whether the relay closed the connection after this error.</summary>
    public bool ConnectionClosed => ErrorCodes.ClosesConnection(Code);
}
