namespace EdgeRelay.Cli;

/// <summary>The exit codes of edgerelay-rm (also listed in <c>edgerelay-rm --help</c> and docs/RM-LIBRARY.md). Stable: scripts test them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad usage: an unknown verb or option, a missing argument, no passphrase available.</summary>
    public const int Usage = 1;

    /// <summary>The RM refused: an invalid or expired invitation, an unknown, ambiguous or terminated contact, a key change not yet accepted, a message too long.</summary>
    public const int Refused = 2;

    /// <summary>The passphrase does not open the key store (or the key store is damaged).</summary>
    public const int WrongPassphrase = 3;

    /// <summary>The home directory holds no RM (run init), or init found one already there.</summary>
    public const int Home = 4;

    /// <summary>verify --number: the number given is not the safety number. Nothing was changed.</summary>
    public const int Mismatch = 5;

    /// <summary>No relay could be reached or none accepted: for send, the message is stored and queued for retry.</summary>
    public const int Unavailable = 6;

    /// <summary>Anything else: the home's files unreadable or busy, a failure not foreseen. The message says which.</summary>
    public const int Failure = 7;

    public const string Help = "Exit codes: 0 ok, 1 usage, 2 refused, 3 wrong passphrase, 4 no RM in the home (or init over an existing one), 5 safety number mismatch, 6 relay unavailable (send: queued for retry), 7 any other failure.";
}
