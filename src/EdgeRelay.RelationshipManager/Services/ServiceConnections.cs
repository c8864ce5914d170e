using System.Net.Sockets;
using EdgeRelay.Addressing;
using EdgeRelay.Client;

namespace EdgeRelay.RelationshipManager.Services;

/// <summary>
/// One relay connection per endpoint, opened on first use and replaced when it fails, so that a burst of
/// operations (a pull across addresses, a flush of the outbox) does not pay a handshake each.
/// </summary>
internal sealed class ServiceConnections : IAsyncDisposable
{
    private readonly Dictionary<string, RelayClient> _clients = new(StringComparer.Ordinal);
    private readonly RelayClientOptions? _template;

    public ServiceConnections(RelayClientOptions? template)
    {
        _template = template;
    }

    /// <summary>Options for one of our own services: TLS pinned to its recorded key when it has one.</summary>
    public RelayClientOptions ForService(byte[]? pin) => RelayClientOptions.ForPin(pin, _template);

    public RelayClientOptions ForCard(AddressCard card) => RelayClientOptions.ForCard(card, _template);

    /// <summary>
    /// Runs <paramref name="operation"/> on the connection to <paramref name="endpoint"/>. A connection that
    /// turns out dead (a relay restarted since it was opened) is replaced and the operation tried once more;
    /// a refusal by a live relay is the caller's to handle.
    /// </summary>
    public async Task<T> RunAsync<T>(string endpoint, RelayClientOptions options, Func<RelayClient, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var client = await GetAsync(endpoint, options, cancellationToken);
            try
            {
                return await operation(client);
            }
            catch (Exception e) when (attempt == 1 && IsConnectionFailure(e))
            {
                await DropAsync(endpoint, client);
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                await DropAsync(endpoint, client);
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            await client.DisposeAsync();
        }

        _clients.Clear();
    }

    internal static bool IsConnectionFailure(Exception e) =>
        e is RelayException { ConnectionClosed: true } or IOException or SocketException or ObjectDisposedException or TimeoutException;

    private async Task<RelayClient> GetAsync(string endpoint, RelayClientOptions options, CancellationToken cancellationToken)
    {
        if (!_clients.TryGetValue(endpoint, out var client))
        {
            client = await RelayClient.ConnectAsync(endpoint, options, cancellationToken);
            _clients[endpoint] = client;
        }

        return client;
    }

    private async Task DropAsync(string endpoint, RelayClient client)
    {
        if (_clients.TryGetValue(endpoint, out var cached) && ReferenceEquals(cached, client))
        {
            _clients.Remove(endpoint);
        }

        await client.DisposeAsync();
    }
}
