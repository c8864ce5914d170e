namespace EdgeRelay.Forwarding;

/// <summary>A relay the engine forwards to: its endpoint and, when it speaks TLS, the pin of its key.</summary>
/// <param name="Endpoint">"host:port" as address cards carry it (an IPv6 literal in brackets).</param>
/// <param name="Pin">SHA-256 of the relay certificate's public key (32 bytes), or empty for plain TCP.</param>
public sealed record PeerDestination(string Endpoint, ReadOnlyMemory<byte> Pin)
{
    /// <summary>Endpoint and pin in one string: messages to one endpoint under different pins do not share connections.</summary>
    public string Key => Pin.IsEmpty ? Endpoint : Endpoint + "#" + Convert.ToHexStringLower(Pin.Span);
}

/// <summary>Opens connections to other relays. The engine's one way out, so that tests can stand in for the network.</summary>
public interface IPeerConnector
{
    /// <summary>Connects, does the handshake (and presents a peer token when one is configured). Throws on failure.</summary>
    Task<IPeerConnection> ConnectAsync(PeerDestination destination, CancellationToken cancellationToken);
}

/// <summary>One connection to a relay; SENDs on it may be pipelined from several callers at once.</summary>
public interface IPeerConnection : IAsyncDisposable
{
    /// <summary>
    /// Sends one message; completes when the receiving relay acknowledged it as stored. Throws
    /// <see cref="Client.RelayException"/> for a refusal (its code) or a failed connection.
    /// </summary>
    Task SendAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken);
}
