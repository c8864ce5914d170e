using System.Collections.Concurrent;
using EdgeRelay.Client;
using EdgeRelay.Protocol;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>
/// The network, as the engine sees it: relays that are up or down, refuse some messages, and record what they
/// stored and how many connections were open to them at once.
/// </summary>
internal sealed class FakePeers : IPeerConnector
{
    private readonly ConcurrentDictionary<string, Peer> _peers = new();

    /// <summary>The relay at <paramref name="endpoint"/> (up, accepting everything, until told otherwise).</summary>
    public Peer this[string endpoint] => _peers.GetOrAdd(endpoint, e => new Peer(e));

    public Task<IPeerConnection> ConnectAsync(PeerDestination destination, CancellationToken cancellationToken)
    {
        var peer = this[destination.Endpoint];
        Interlocked.Increment(ref peer.ConnectAttempts);
        if (!peer.Up)
        {
            return Task.FromException<IPeerConnection>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
        }

        peer.Pins.Add(Convert.ToHexString(destination.Pin.Span));
        var open = Interlocked.Increment(ref peer.Open);
        peer.MaxOpen = Math.Max(peer.MaxOpen, open);
        return Task.FromResult<IPeerConnection>(new Connection(peer));
    }

    public sealed class Peer(string endpoint)
    {
        public string Endpoint { get; } = endpoint;

        public volatile bool Up = true;

        public int ConnectAttempts;

        public int Open;

        public int MaxOpen;

        /// <summary>Decides each SEND: null stores it, an exception refuses it.</summary>
        public Func<byte[], Exception?> Decide { get; set; } = _ => null;

        public ConcurrentBag<string> Pins { get; } = [];

        public ConcurrentQueue<byte[]> Stored { get; } = new();

        public static Exception Refusal(ErrorCode code) => new RelayException(code, "refused by the fake peer");
    }

    private sealed class Connection(Peer peer) : IPeerConnection
    {
        private int _disposed;

        public Task SendAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken)
        {
            if (!peer.Up)
            {
                return Task.FromException(new RelayException("The relay closed the connection."));
            }

            var bytes = ciphertext.ToArray();
            var refusal = peer.Decide(bytes);
            if (refusal is not null)
            {
                return Task.FromException(refusal);
            }

            peer.Stored.Enqueue(bytes);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref peer.Open);
            }

            return default;
        }
    }
}
