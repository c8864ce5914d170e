using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;
using ServiceRoles = EdgeRelay.RelationshipManager.State.ServiceRoles;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Adds a relay as one of our services, or changes one already added (roles are added to its roles; a
    /// token or pin given replaces the recorded one). The relay is asked first: it must answer, play the roles
    /// asked, and accept the token. A new receiving service gets an address for every relationship at once,
    /// announced to each contact after the ones they have.
    /// </summary>
    /// <param name="pin">SHA-256 of the relay's TLS public key (32 bytes), or empty for plain TCP.</param>
    /// <param name="sendingToken">An RM token of the relay: required to send through it.</param>
    /// <param name="sendingMode">How to ask it to forward; <see cref="SendingMode.Batched"/> trades latency for timing privacy where the relay offers it.</param>
    /// <exception cref="RmException"><see cref="RmError.InvalidService"/>, or <see cref="RmError.ServiceUnavailable"/> when it cannot be reached.</exception>
    public Task<ServiceInfo> AddServiceAsync(
        string endpoint,
        ServiceUse use,
        ReadOnlyMemory<byte> pin = default,
        string? sendingToken = null,
        SendingMode sendingMode = SendingMode.Immediate,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        return SerialisedAsync(
            async () =>
            {
                var existing = _database.GetService(endpoint);
                var restored = existing?.RemovedAt is not null;
                if (restored)
                {
                    existing = existing! with { Roles = ServiceRoles.None, SealedToken = null, Pin = null };
                }

                var roles = (ServiceRoles)(int)use | (existing?.Roles ?? ServiceRoles.None);
                var token = sendingToken ?? (existing?.SealedToken is not null ? OpenToken(existing) : null);
                var pinBytes = pin.IsEmpty ? existing?.Pin : pin.ToArray();
                CheckService(endpoint, roles, pinBytes, token, sendingMode);
                await ProbeServiceAsync(endpoint, pinBytes, roles, token, cancellationToken);

                using (var writer = _database.BeginWrite())
                {
                    var sealedToken = token is null ? null : _keys.StateSealer.Seal(Encoding.UTF8.GetBytes(token), Sealing.ServiceToken(endpoint));
                    if (existing is null)
                    {
                        writer.AddService(endpoint, pinBytes, roles, sealedToken, Time.GetUtcNow(), (byte)sendingMode);
                    }
                    else
                    {
                        writer.UpdateService(existing.Id, pinBytes, roles, sealedToken, (byte)sendingMode);
                        if (restored)
                        {
                            writer.RestoreService(existing.Id);
                        }
                    }

                    writer.Commit();
                }

                if (roles.HasFlag(ServiceRoles.Receiving))
                {
                    await MaintainAddressesAsync([], cancellationToken);
                    await FlushOutboxAsync(cancellationToken);
                }

                return Describe(_database.GetService(endpoint)!);
            },
            cancellationToken);
    }

    /// <summary>
    /// Retires a receiving service: no new address is issued there, every relationship gets an address on our
    /// other receiving services (announced at once), and what was handed out there is still collected until it
    /// expires; <see cref="ServiceInfo.State"/> then becomes <see cref="ServiceState.ReadyToDrop"/>.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.UnknownService"/>, <see cref="RmError.InvalidService"/> (not a receiving service), <see cref="RmError.LastReceivingService"/>.</exception>
    public Task<ServiceInfo> SunsetServiceAsync(string endpoint, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                var service = KnownService(endpoint);
                if (!service.Roles.HasFlag(ServiceRoles.Receiving))
                {
                    throw new RmException(RmError.InvalidService, $"{endpoint} is not a receiving service: there is nothing to sunset.");
                }

                if (service.SunsetAt is null)
                {
                    if (!_database.GetServices().Any(s => s.Id != service.Id && s.IsActiveReceiving))
                    {
                        throw new RmException(RmError.LastReceivingService, $"{endpoint} is the only receiving service: add another before sunsetting it.");
                    }

                    using (var writer = _database.BeginWrite())
                    {
                        writer.SetServiceSunset(service.Id, Time.GetUtcNow());
                        writer.Commit();
                    }

                    await MaintainAddressesAsync([], cancellationToken);
                    await FlushOutboxAsync(cancellationToken);
                }

                return Describe(_database.GetService(service.Id)!);
            },
            cancellationToken);

    /// <summary>
    /// Forgets a service. A receiving service can be removed only when nothing handed out there can still
    /// receive (sunset it and wait for <see cref="ServiceState.ReadyToDrop"/>), and never the last one.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.UnknownService"/>, <see cref="RmError.ServiceInUse"/>, <see cref="RmError.LastReceivingService"/>.</exception>
    public Task RemoveServiceAsync(string endpoint, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            () =>
            {
                var service = KnownService(endpoint);
                if (service.Roles.HasFlag(ServiceRoles.Receiving))
                {
                    if (CollectUntil(service) is { } until && until > Time.GetUtcNow())
                    {
                        throw new RmException(RmError.ServiceInUse, $"Addresses handed out on {endpoint} can receive until {until:u}: sunset it, and remove it once it is ready to drop.");
                    }

                    if (service.IsActiveReceiving && !_database.GetServices().Any(s => s.Id != service.Id && s.IsActiveReceiving))
                    {
                        throw new RmException(RmError.LastReceivingService, $"{endpoint} is the only receiving service: add another before removing it.");
                    }
                }

                using var writer = _database.BeginWrite();
                writer.RemoveService(service.Id, Time.GetUtcNow());
                writer.Commit();
                return Task.FromResult(true);
            },
            cancellationToken);

    /// <summary>
    /// Our services in the order they are used, each with its state and, when <paramref name="probe"/>, its
    /// status asked now (availability, limits, sending options) or why it could not be reached.
    /// </summary>
    public Task<IReadOnlyList<ServiceInfo>> GetServicesAsync(bool probe = false, CancellationToken cancellationToken = default) =>
        SerialisedAsync<IReadOnlyList<ServiceInfo>>(
            async () =>
            {
                var services = _database.GetServices();
                if (probe)
                {
                    foreach (var service in services)
                    {
                        try
                        {
                            await _connections.RunAsync(service.Endpoint, _connections.ForService(service.Pin), client => _connections.StatusAsync(service.Endpoint, client, cancellationToken), cancellationToken);
                            _connections.HealthOf(service.Endpoint).Succeeded();
                        }
                        catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
                        {
                            _connections.HealthOf(service.Endpoint).Failed(e.Message, Time.GetUtcNow());
                        }
                    }
                }

                return [.. services.Select(Describe)];
            },
            cancellationToken);

    private ServiceInfo Describe(ServiceRecord service)
    {
        var now = Time.GetUtcNow();
        var until = CollectUntil(service);
        var state = service.SunsetAt is null ? ServiceState.Active
            : until is { } u && u > now ? ServiceState.Sunsetting
            : ServiceState.ReadyToDrop;
        var live = _database.GetAddressesOn(service.Id).Count(a => a.State is OwnAddressState.Invitation or OwnAddressState.Relationship && a.ExpiresAt > now);
        var health = _connections.HealthOf(service.Endpoint);
        return new ServiceInfo(
            service.Endpoint,
            (ServiceUse)(int)service.Roles,
            service.SealedToken is not null,
            (SendingMode)service.SendingMode,
            state,
            service.SunsetAt,
            until,
            live,
            health.Status,
            health.LastError)
        {
            OtherEndpoints = [.. _connections.EndpointsOf(service.Endpoint).Skip(1)],
        };
    }

    /// <summary>When the last address we handed out on a service expires; null if none was.</summary>
    private DateTimeOffset? CollectUntil(ServiceRecord service) =>
        _database.GetAddressesOn(service.Id)
            .Where(a => a.State is OwnAddressState.Invitation or OwnAddressState.Relationship)
            .Select(a => (DateTimeOffset?)a.ExpiresAt)
            .Max();

    private ServiceRecord KnownService(string endpoint) =>
        _database.GetService(endpoint) is { RemovedAt: null } service ? service : throw new RmException(RmError.UnknownService, $"No service is recorded at {endpoint}.");

    private string OpenToken(ServiceRecord service) =>
        Encoding.UTF8.GetString(_keys.StateSealer.Open(service.SealedToken!, Sealing.ServiceToken(service.Endpoint)));

    private static void CheckService(string endpoint, ServiceRoles roles, byte[]? pin, string? token, SendingMode mode)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new RmException(RmError.InvalidService, $"'{endpoint}' is not host:port.");
        }

        if (roles == ServiceRoles.None)
        {
            throw new RmException(RmError.InvalidService, "A service is used for receiving, sending, or both.");
        }

        if (pin is { Length: not 32 })
        {
            throw new RmException(RmError.InvalidService, "A TLS pin is the SHA-256 of the relay's public key: 32 bytes.");
        }

        if (roles.HasFlag(ServiceRoles.Sending) && string.IsNullOrEmpty(token))
        {
            throw new RmException(RmError.InvalidService, $"Sending through {endpoint} needs an RM token from its operator.");
        }

        if (mode is not (SendingMode.Immediate or SendingMode.Batched))
        {
            throw new RmException(RmError.InvalidService, $"Unknown sending mode {mode}.");
        }
    }

    /// <summary>Asks the relay before it is recorded: a typo or a relay without the role should fail now, not at the first message.</summary>
    private async Task ProbeServiceAsync(string endpoint, byte[]? pin, ServiceRoles roles, string? token, CancellationToken cancellationToken)
    {
        RelayStatus status;
        try
        {
            status = await _connections.RunAsync(
                endpoint,
                _connections.ForService(pin),
                async client =>
                {
                    var s = await _connections.StatusAsync(endpoint, client, cancellationToken);
                    if (roles.HasFlag(ServiceRoles.Sending) && s.Roles.HasFlag(EdgeRelay.Protocol.ServiceRoles.Sending))
                    {
                        await client.AuthenticateTokenAsync(token!, cancellationToken);
                    }

                    return s;
                },
                cancellationToken);
        }
        catch (RelayException e) when (!e.ConnectionClosed)
        {
            throw new RmException(RmError.InvalidService, $"{endpoint} refused: {e.Message}", e);
        }
        catch (Exception e) when (ServiceConnections.IsConnectionFailure(e))
        {
            throw new RmException(RmError.ServiceUnavailable, $"{endpoint} cannot be reached: {e.Message}", e);
        }

        var missing = (EdgeRelay.Protocol.ServiceRoles)(int)roles & ~status.Roles;
        if (missing != EdgeRelay.Protocol.ServiceRoles.None)
        {
            throw new RmException(RmError.InvalidService, $"{endpoint} does not offer the {missing} role.");
        }
    }
}
