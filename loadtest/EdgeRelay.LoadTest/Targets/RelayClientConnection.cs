using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A connection that speaks protocol v1 through the real <see cref="RelayClient"/>: the same client, framing
/// and payloads whether the peer is the relay or the raw sink, so the two numbers compare.
/// </summary>
internal sealed class RelayClientConnection : ILoadConnection
{
    private readonly RelayClient _client;
    private readonly ReadOnlyMemory<byte>[] _ephemeralAddresses;
    private readonly FreshAddressPool? _fresh;

    private RelayClientConnection(RelayClient client, ReadOnlyMemory<byte>[] ephemeralAddresses, FreshAddressPool? fresh)
    {
        _client = client;
        _ephemeralAddresses = ephemeralAddresses;
        _fresh = fresh;
    }

    /// <param name="inFlight">The client's window; the server's advertised max_in_flight caps it further.</param>
    /// <param name="ephemeralAddresses">Destinations: queue q is the 73-byte ephemeral address at index q.</param>
    /// <param name="fresh">Where fresh SENDs take their address; null: they go to the queue's usual address.</param>
    /// <param name="peerToken">A peer token to present after HELLO (a sending service's connection), or null.</param>
    public static async Task<RelayClientConnection> ConnectAsync(
        IPEndPoint endPoint, int inFlight, ReadOnlyMemory<byte>[] ephemeralAddresses, CancellationToken cancellationToken, FreshAddressPool? fresh = null, string? peerToken = null)
    {
        var client = await RelayClient.ConnectAsync(endPoint, new RelayClientOptions { MaxInFlight = inFlight }, cancellationToken);
        if (peerToken is not null)
        {
            await client.AuthenticateTokenAsync(peerToken, cancellationToken);
        }

        return new RelayClientConnection(client, ephemeralAddresses, fresh);
    }

    public ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        new(_client.SendAsync(_ephemeralAddresses[queue], payload, cancellationToken));

    /// <summary>
    /// A SEND to an address taken from the pool, whichever queue it belongs to. Without a pool (the raw sink,
    /// which opens nothing) the queue's usual address: the bytes on the wire are alike either way.
    /// </summary>
    public ValueTask SendFreshAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _fresh is null ? SendAsync(queue, payload, cancellationToken) : SendFromPoolAsync(_fresh, payload, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendFromPoolAsync(FreshAddressPool pool, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        int slot = await pool.TakeAsync(cancellationToken);
        bool unused = false;
        try
        {
            await _client.SendAsync(pool.Address(slot), payload, cancellationToken);
        }
        catch (RelayException ex) when (ex.Code == ErrorCode.RateLimited)
        {
            unused = true;
            throw;
        }
        finally
        {
            pool.Return(slot, unused);
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <summary>
    /// A refusal is named by its protocol error code (docs/PROTOCOL.md §5); a connection that dropped without
    /// an ERROR frame is <see cref="GeneratorErrors.ConnectionLost"/>.
    /// </summary>
    public static LoadError Classify(Exception error) => error switch
    {
        RelayException { Code: not ErrorCode.None } relay => new LoadError(ErrorCodes.Name(relay.Code), relay.ConnectionClosed),
        RelayException or IOException or SocketException or ObjectDisposedException => new LoadError(GeneratorErrors.ConnectionLost, true),
        _ => new LoadError(error.GetType().Name, false),
    };

    /// <summary>
    /// Checks, over a first connection, that the server answers HELLO and accepts payloads of this size; a
    /// server that cannot be reached is an operator's problem, reported in one line.
    /// </summary>
    public static async Task<ServerInfo> CheckServerAsync(IPEndPoint endPoint, int payloadBytes, CancellationToken cancellationToken)
    {
        ServerInfo info;
        try
        {
            await using var client = await RelayClient.ConnectAsync(endPoint, new RelayClientOptions { MaxInFlight = 1 }, cancellationToken);
            info = client.ServerInfo;
        }
        catch (Exception ex) when (ex is SocketException or IOException or RelayException)
        {
            throw new LoadTestException($"cannot open a protocol v1 session with {endPoint}: {ex.Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadTestException($"{endPoint} did not complete TCP connect and HELLO in time.", ex);
        }

        if (payloadBytes > info.MaxCiphertext)
        {
            throw new LoadTestException($"--payload {payloadBytes} is over the server's max_ciphertext of {info.MaxCiphertext} bytes.");
        }

        return info;
    }
}
