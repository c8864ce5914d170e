using System.Net.Sockets;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;

namespace EdgeRelay.RelationshipManager.Services;

/// <summary>
/// One relay connection per endpoint, opened on first use and replaced when it fails, so that a burst of
/// operations (a pull across addresses, a flush of the outbox) does not pay a handshake each. A service that runs
/// on several nodes is still known by the one endpoint it was recorded under: when that node cannot be reached, the
/// connection goes to the service's other endpoints (from its cards and its HELLO), and keeps that name.
/// </summary>
internal sealed class ServiceConnections : IAsyncDisposable
{
    // How long a STATUS reply is trusted before it is asked again: CONFIG pushes keep the limits current on a
    // live connection, but availability (degraded, draining) is only learned by asking.
    private static readonly TimeSpan StatusLifetime = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, RelayClient> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<RelayClient, (RelayStatus Status, DateTimeOffset At)> _status = [];
    private readonly Dictionary<string, ServiceHealth> _health = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _others = new(StringComparer.OrdinalIgnoreCase);
    private readonly RelayClientOptions? _template;
    private readonly TimeProvider _time;

    public ServiceConnections(RelayClientOptions? template, TimeProvider time)
    {
        _template = template;
        _time = time;
    }

    /// <summary>What this process has learned of a service: its last status and its recent failures.</summary>
    public ServiceHealth HealthOf(string endpoint)
    {
        if (!_health.TryGetValue(endpoint, out var health))
        {
            health = new ServiceHealth();
            _health[endpoint] = health;
        }

        return health;
    }

    /// <summary>
    /// The relay's status as this connection knows it: asked once per connection (and again when stale), then
    /// kept current by the CONFIG frames the relay pushes when its operator changes sizes or sending options,
    /// so a change applies to the next message without a restart of either side.
    /// </summary>
    public async Task<RelayStatus> StatusAsync(string endpoint, RelayClient client, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!_status.TryGetValue(client, out var known) || now - known.At > StatusLifetime)
        {
            known = (await client.GetStatusAsync(cancellationToken), now);
        }

        while (client.ConfigUpdates.TryRead(out var pushed))
        {
            // A STATUS reply computed just before a change can arrive after the CONFIG announcing it: the highest version wins.
            if (pushed.ConfigVersion >= known.Status.ConfigVersion)
            {
                known = (pushed with { Availability = known.Status.Availability, Reason = known.Status.Reason }, known.At);
            }
        }

        _status[client] = known;
        HealthOf(endpoint).Observed(known.Status);
        return known.Status;
    }

    /// <summary>
    /// Notes the endpoints of the service reached at <paramref name="endpoint"/> (a card's, or HELLO's own and
    /// alternative ones): connections to <paramref name="endpoint"/> try the others, in this order, when it is
    /// unreachable. The latest word replaces an earlier one, so the list never outgrows the service's.
    /// </summary>
    public void Learn(string endpoint, IEnumerable<string> endpoints)
    {
        _others[endpoint] = [.. endpoints
            .Where(e => !string.Equals(e, endpoint, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Take(AddressCard.MaxAlternativeEndpoints + 1)];
    }

    /// <summary><paramref name="endpoint"/>, then the other endpoints of its service as far as they are known.</summary>
    public IReadOnlyList<string> EndpointsOf(string endpoint) =>
        _others.TryGetValue(endpoint, out var others) ? [endpoint, .. others] : [endpoint];

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
        _status.Clear();
    }

    internal static bool IsConnectionFailure(Exception e) =>
        e is RelayException { ConnectionClosed: true } or IOException or SocketException or ObjectDisposedException or TimeoutException;

    private async Task<RelayClient> GetAsync(string endpoint, RelayClientOptions options, CancellationToken cancellationToken)
    {
        if (!_clients.TryGetValue(endpoint, out var client))
        {
            client = await RelayClient.ConnectAnyAsync(EndpointsOf(endpoint), options, cancellationToken);
            if (client.ServerInfo.AlternativeEndpoints.Count > 0 || _others.ContainsKey(endpoint))
            {
                // The node that answered names its service's nodes, itself included: what to try next time.
                Learn(endpoint, [client.ServerInfo.Endpoint, .. client.ServerInfo.AlternativeEndpoints]);
            }

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

        _status.Remove(client);
        await client.DisposeAsync();
    }
}
