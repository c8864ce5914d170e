using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

/// <summary>The relay refused a request. <see cref="Code"/> is the stable protocol error code.</summary>
public sealed class RelayException : Exception
{
    private readonly bool _connectionFailed;

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

    /// <summary>An error after which this client gave up on the connection, whatever the relay does after <paramref name="code"/>.</summary>
    internal RelayException(ErrorCode code, string reason, Exception? innerException, bool connectionFailed)
        : base(code == ErrorCode.None ? reason : $"{ErrorCodes.Name(code)} ({(ushort)code}): {reason}", innerException)
    {
        Code = code;
        Reason = reason;
        _connectionFailed = connectionFailed;
    }

    /// <summary>The relay's error code; <see cref="ErrorCode.None"/> when the connection failed instead (see the inner exception).</summary>
    public ErrorCode Code { get; }

    public string Reason { get; } = "";

    /// <summary>
    /// Whether the connection is over after this error, so that a new one is needed: the relay closes it after
    /// some codes, it failed (<see cref="ErrorCode.None"/>), or this client gave up on it (e.g. a reply out of order).
    /// </summary>
    public bool ConnectionClosed => _connectionFailed || Code == ErrorCode.None || ErrorCodes.ClosesConnection(Code);

    /// <summary>
    /// The relay presented a TLS certificate this client does not accept: with a pin, a key other than the pinned
    /// one. Not a sign that the relay is down, so no reason to try another endpoint of its service
    /// (<see cref="RelayClient.IsUnreachable"/>).
    /// </summary>
    public bool CertificateRejected { get; init; }
}
