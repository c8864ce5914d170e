using EdgeRelay.Client;

namespace EdgeRelay.Forwarding;

/// <summary>Connections to other relays with the ordinary client: protocol v1, TLS pinned to the card's key when it names one.</summary>
public sealed class RelayPeerConnector : IPeerConnector
{
    private readonly ForwardingOptions _options;

    public RelayPeerConnector(ForwardingOptions options)
    {
        _options = options;
    }

    public async Task<IPeerConnection> ConnectAsync(PeerDestination destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var client = await RelayClient.ConnectAsync(
            destination.Endpoint,
            new RelayClientOptions
            {
                ConnectTimeout = _options.ConnectTimeout,
                MaxInFlight = _options.MaxInFlightPerDestination,

                // A connection whose round outlasted the send timeout is given up as broken: closing it, or
                // declaring it dead for an unanswered PING, need not wait longer than that.
                KeepAliveTimeout = _options.SendTimeout < RelayClientOptions.DefaultKeepAliveTimeout ? _options.SendTimeout : RelayClientOptions.DefaultKeepAliveTimeout,
                Tls = destination.Pin.IsEmpty ? null : new RelayTlsOptions { PinnedPublicKeySha256 = destination.Pin },
            },
            cancellationToken);
        try
        {
            // The destination's operator may have issued this relay a peer token: without it, a busy peer may
            // hold this relay to the budget of an anonymous sender.
            if (_options.PeerTokens.TryGetValue(destination.Endpoint, out var token))
            {
                await client.AuthenticateTokenAsync(token, cancellationToken);
            }
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        return new Connection(client);
    }

    private sealed class Connection(RelayClient client) : IPeerConnection
    {
        public Task SendAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken) =>
            client.SendAsync(ephemeralAddress, ciphertext, cancellationToken);

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }
}
