namespace EdgeRelay.Server;

/// <summary>
/// The NATS JetStream backend (section "Storage:JetStream"): where the cluster is, how to authenticate, and how
/// its streams are laid out. Every relay node of one service uses the same values.
/// </summary>
public sealed class JetStreamSection
{
    /// <summary>NATS server URLs, comma-separated (<c>nats://n1:4222,nats://n2:4222,nats://n3:4222</c>). Required for "jetstream".</summary>
    public string Url { get; set; } = "";

    /// <summary>Prefix of the stream names and subjects. Default "EDGERELAY"; two services on one cluster use two prefixes.</summary>
    public string StreamPrefix { get; set; } = "EDGERELAY";

    /// <summary>Copies JetStream keeps of every record: 1, 3 (default: one server may be lost) or 5.</summary>
    public int Replicas { get; set; } = 3;

    /// <summary>Message streams, each its own RAFT group (1 .. 64, default 1). Fixed once the streams exist.</summary>
    public int Partitions { get; set; } = 1;

    /// <summary>How long a write may keep failing (a stream electing a leader) before the relay gives up and stops. Default 30 s.</summary>
    public TimeSpan PublishRetryWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Newest ciphertexts each node keeps in memory for push, in bytes. Default 64 MiB; 0 reads every message from its stream.</summary>
    public long ReadCacheBytes { get; set; } = 64L << 20;

    /// <summary>How often each node writes its heartbeat (100 ms .. 1 min, default 1 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A node whose own newest stored heartbeat is this old stops pushing; the others count it dead after
    /// NodeTimeout / HeartbeatInterval + 1 of their own heartbeats since its newest one (in stream order, not by their
    /// clocks), then take over the push of its owners and wake them. At least twice <see cref="HeartbeatInterval"/>,
    /// at most 10 min; default 5 s. A node that stops cleanly hands over at once.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A NATS credentials file (JWT and seed), or empty.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>PEM file of the CA that signed the NATS servers' certificates; set to require TLS.</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>PEM client certificate for servers that verify clients (with <see cref="TlsKeyFile"/>).</summary>
    public string? TlsCertFile { get; set; }

    /// <summary>PEM private key of <see cref="TlsCertFile"/>.</summary>
    public string? TlsKeyFile { get; set; }

    internal void Validate(List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(Url))
        {
            problems.Add("Storage:JetStream:Url: required when Storage:Backend is \"jetstream\" (nats://host:4222, comma-separated).");
        }

        if (Replicas is not (1 or 3 or 5))
        {
            problems.Add($"Storage:JetStream:Replicas: {Replicas} must be 1, 3 or 5.");
        }

        RelayEndpointOptions.Range(problems, "Storage:JetStream:Partitions", Partitions, 1, 64);
        if (StreamPrefix.Length is 0 or > 32 || !StreamPrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            problems.Add("Storage:JetStream:StreamPrefix: must be 1-32 letters, digits, '-' or '_'.");
        }

        if (PublishRetryWindow < TimeSpan.FromSeconds(1) || PublishRetryWindow > TimeSpan.FromMinutes(10))
        {
            problems.Add($"Storage:JetStream:PublishRetryWindow: {PublishRetryWindow} must be between 1 s and 10 min.");
        }

        if (HeartbeatInterval < TimeSpan.FromMilliseconds(100) || HeartbeatInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add($"Storage:JetStream:HeartbeatInterval: {HeartbeatInterval} must be between 100 ms and 1 min.");
        }

        if (NodeTimeout < 2 * HeartbeatInterval || NodeTimeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"Storage:JetStream:NodeTimeout: {NodeTimeout} must be at least twice HeartbeatInterval and at most 10 min.");
        }

        RelayEndpointOptions.Range(problems, "Storage:JetStream:ReadCacheBytes", ReadCacheBytes, 0, 1L << 40);
        foreach (var (name, file) in new[] { ("CredentialsFile", CredentialsFile), ("TlsCaFile", TlsCaFile), ("TlsCertFile", TlsCertFile), ("TlsKeyFile", TlsKeyFile) })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                problems.Add($"Storage:JetStream:{name}: {file} does not exist.");
            }
        }

        if (string.IsNullOrEmpty(TlsCertFile) != string.IsNullOrEmpty(TlsKeyFile))
        {
            problems.Add("Storage:JetStream:TlsCertFile and TlsKeyFile go together.");
        }
    }
}
