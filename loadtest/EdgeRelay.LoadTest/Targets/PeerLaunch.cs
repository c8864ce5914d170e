namespace EdgeRelay.LoadTest.Targets;

/// <summary>How to start one kind of server with <see cref="PeerProcess.StartAsync(PeerLaunch, CancellationToken)"/>.</summary>
internal sealed record PeerLaunch
{
    /// <summary>Full path of the program, e.g. from <see cref="PeerProcess.FindExecutable"/>.</summary>
    public required string Executable { get; init; }

    /// <summary>The server's name in messages and in its directory's name. Default: the executable's file name.</summary>
    public string? Name { get; init; }

    /// <summary>Free loopback ports the server listens on; the first is <see cref="PeerProcess.EndPoint"/>.</summary>
    public int Ports { get; init; } = 1;

    /// <summary>The command line for the ports (as many as <see cref="Ports"/>) and a data directory.</summary>
    public required Func<IReadOnlyList<int>, string, IEnumerable<string>> Arguments { get; init; }

    /// <summary>Whether the started server answers yet; called until it does.</summary>
    public required Func<PeerProcess, CancellationToken, Task<bool>> IsReadyAsync { get; init; }

    /// <summary>
    /// Null (default): the server is killed outright, its data being the run's own. Otherwise it is sent
    /// SIGTERM and killed only if still running after this long: for a server whose orderly exit is part
    /// of what the run exercises (the relay drains and takes a final commit).
    /// </summary>
    public TimeSpan? StopGracePeriod { get; init; }

    /// <summary>
    /// Environment variables starting with any of these are not passed on, so an operator's settings for a
    /// production server of the same kind (EDGERELAY_*) cannot reconfigure the one the run starts.
    /// </summary>
    public IReadOnlyList<string> WithheldEnvironmentPrefixes { get; init; } = [];
}
