using EdgeRelay.Client;
using EdgeRelay.Protocol;

namespace EdgeRelay.Forwarding;

/// <summary>What became of one forwarding attempt.</summary>
internal enum AttemptResult
{
    Delivered,

    /// <summary>The receiving relay refused it for good: retrying cannot help. The message fails with the code.</summary>
    Refused,

    /// <summary>It may work later (the relay is down, busy, over a quota, or the connection broke): the message stays queued.</summary>
    Transient,
}

/// <summary>Which refusals are final. Everything not named here is worth another try, until the message's maximum age.</summary>
internal static class Failures
{
    /// <summary>
    /// Refusals about the message itself: the address does not exist there, is expired, revoked, or not
    /// sealed to that relay; the ciphertext is too large for it; the frame is one it cannot read. The same
    /// bytes would be refused again.
    /// </summary>
    public static bool IsPermanent(ErrorCode code) => code is ErrorCode.AddressUnknown or ErrorCode.AddressExpired
        or ErrorCode.AddressRevoked or ErrorCode.AddressInvalid or ErrorCode.AddressMalformed
        or ErrorCode.CiphertextTooLarge or ErrorCode.InvalidArgument or ErrorCode.MalformedFrame;

    /// <summary>Classifies an exception from a connect or a send; <paramref name="code"/> is the relay's code, or 0 when the connection failed.</summary>
    public static AttemptResult Classify(Exception error, out ushort code, out bool connectionBroken)
    {
        if (error is RelayException relay)
        {
            code = (ushort)relay.Code;
            connectionBroken = relay.ConnectionClosed;
            return relay.Code != ErrorCode.None && !relay.ConnectionClosed && IsPermanent(relay.Code) ? AttemptResult.Refused : AttemptResult.Transient;
        }

        // Sockets, TLS, a send that timed out: the connection is in an unknown state and is dropped.
        code = 0;
        connectionBroken = true;
        return AttemptResult.Transient;
    }
}
