namespace EdgeRelay.Executable.Commands;

/// <summary>
/// The exit codes of <c>edgerelay</c>, the same for every verb (listed in <c>edgerelay --help</c> and the README).
/// Stable: service managers, container health checks and scripts test them.
/// </summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A failure nothing else names; the message says what happened.</summary>
    public const int Failure = 1;

    /// <summary>An unknown verb or flag, a missing or bad argument, an invalid option or configuration file.</summary>
    public const int Usage = 2;

    /// <summary>The storage refused its files (damaged log, missing snapshot, another format); nothing was changed.</summary>
    public const int Storage = 3;

    /// <summary>Another process holds the data folder's lock; the message names its pid.</summary>
    public const int DataFolderInUse = 4;

    /// <summary>A listening endpoint is taken; the message names the option, the endpoint and its protocol.</summary>
    public const int PortInUse = 5;

    /// <summary>The relay could not be reached, or answered with a failure (healthcheck, admin, backup).</summary>
    public const int Unreachable = 6;

    /// <summary>The relay refused the credentials (admin token missing or wrong).</summary>
    public const int Unauthorised = 7;

    /// <summary>
    /// serve: the storage failed while the relay ran (a full disk, a device error) and could not commit again;
    /// the relay stopped so that a restart recovers every acknowledged message. Restarting is right.
    /// </summary>
    public const int StorageFailed = 8;

    public const string Help =
        """
        Exit codes:
          0  ok
          1  unexpected failure
          2  usage or configuration error (unknown verb or flag, invalid option, check-config found problems)
          3  the storage refused its files (nothing was changed)
          4  the data folder is in use by another process (its pid is named)
          5  a listening port is in use (the option, endpoint and protocol are named)
          6  the relay could not be reached or answered with a failure (healthcheck, admin, backup)
          7  authorisation refused (admin token missing or wrong)
          8  the storage failed while the relay ran (e.g. a full disk) and the relay stopped; free the space and
             start it again: it recovers every acknowledged message
        """;
}
