using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.State;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Creates an address on one of our receiving services, owned by a fresh Ed25519 key (one per address, so
    /// the relay cannot link our relationships by owner), and records it with its owner key sealed.
    /// </summary>
    private async Task<OwnAddressRecord> CreateAddressAsync(OwnAddressState state, ServiceRecord service, CancellationToken cancellationToken)
    {
        using var owner = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving });
        var created = await _connections.RunAsync(
            service.Endpoint,
            _connections.ForService(service.Pin),
            client => client.CreateAddressAsync(owner.PublicKey, _options.AddressLifetime, cancellationToken),
            cancellationToken);
        var raw = owner.Export(KeyBlobFormat.RawPrivateKey);
        byte[] sealedKey;
        try
        {
            sealedKey = _keys.StateSealer.Seal(raw, Sealing.OwnerKey(created.Id));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(raw);
        }

        var record = new OwnAddressRecord(created.Id, created.Card.ToArray(), service.Id, sealedKey, created.ExpiresAt, state);
        using var writer = _database.BeginWrite();
        writer.AddAddress(record, Time.GetUtcNow());
        writer.Commit();
        return record;
    }

    /// <summary>An address we have not handed out yet (made at init or after the last invitation), or a new one.</summary>
    private async Task<OwnAddressRecord> TakeUnusedAddressAsync(CancellationToken cancellationToken)
    {
        // An address about to expire would make a poor invitation: the invitee might answer after it lapsed.
        var threshold = Time.GetUtcNow() + _options.InvitationLifetime;
        var active = ActiveReceivingServices();
        var unused = _database.GetAddresses(OwnAddressState.Unused)
            .Where(a => a.ExpiresAt > threshold && active.Any(s => s.Id == a.ServiceId))
            .OrderBy(a => active.FindIndex(s => s.Id == a.ServiceId))
            .FirstOrDefault();
        return unused ?? (await CreateAddressesAsync(active, firstOnly: true, cancellationToken))[0];
    }

    /// <summary>
    /// A new address on each of <paramref name="services"/> that can be reached (or on the first that can, with
    /// <paramref name="firstOnly"/>), in their order. At least one, or the last failure is thrown.
    /// </summary>
    private async Task<List<OwnAddressRecord>> CreateAddressesAsync(IReadOnlyList<ServiceRecord> services, bool firstOnly, CancellationToken cancellationToken)
    {
        var created = new List<OwnAddressRecord>();
        Exception? failure = null;
        foreach (var service in services)
        {
            try
            {
                created.Add(await CreateAddressAsync(OwnAddressState.Unused, service, cancellationToken));
                if (firstOnly)
                {
                    break;
                }
            }
            catch (Exception e) when (e is RelayException || Services.ServiceConnections.IsConnectionFailure(e))
            {
                _connections.HealthOf(service.Endpoint).Failed(e.Message, Time.GetUtcNow());
                failure = e;
            }
        }

        if (created.Count == 0)
        {
            throw failure ?? new RmException(RmError.LastReceivingService, "No receiving service is active: add one.");
        }

        return created;
    }

    /// <summary>Receiving services that issue our new addresses, in their order.</summary>
    private List<ServiceRecord> ActiveReceivingServices() => [.. _database.GetServices().Where(s => s.IsActiveReceiving)];

    /// <summary>The owner key of one of our addresses, unsealed for an AUTH or a revoke.</summary>
    private Key OwnerKey(OwnAddressRecord address)
    {
        var raw = _keys.StateSealer.Open(address.SealedOwnerKey, Sealing.OwnerKey(address.Aid));
        try
        {
            return Key.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPrivateKey);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>Addresses on which something may still arrive: handed out, not revoked, not expired.</summary>
    private List<OwnAddressRecord> LiveAddresses()
    {
        var now = Time.GetUtcNow();
        return [.. _database.GetAddresses().Where(a => a.State is OwnAddressState.Invitation or OwnAddressState.Relationship && a.ExpiresAt > now)];
    }

    private async Task SetAddressPolicyAsync(OwnAddressRecord address, DeliveryPolicy policy, CancellationToken cancellationToken)
    {
        var service = _database.GetService(address.ServiceId) ?? throw new StateException(StateError.Corrupt, "An address names a service that is not recorded.");
        await _connections.RunAsync(
            service.Endpoint,
            _connections.ForService(service.Pin),
            async client =>
            {
                using var owner = OwnerKey(address);
                await client.AuthenticateAsync(address.Aid, owner, cancellationToken);
                await client.SetPolicyAsync(address.Aid, policy, cancellationToken);
                return true;
            },
            cancellationToken);
    }

    private async Task RevokeAddressAsync(OwnAddressRecord address, CancellationToken cancellationToken)
    {
        var service = _database.GetService(address.ServiceId) ?? throw new StateException(StateError.Corrupt, "An address names a service that is not recorded.");
        using var owner = OwnerKey(address);
        await _connections.RunAsync(
            service.Endpoint,
            _connections.ForService(service.Pin),
            async client =>
            {
                await client.RevokeAddressAsync(address.Aid, owner, cancellationToken);
                return true;
            },
            cancellationToken);
        using var writer = _database.BeginWrite();
        writer.SetAddressState(address.Aid, OwnAddressState.Revoked);
        writer.Commit();
    }

    private static AddressCard Card(byte[] bytes) => AddressCard.Decode(bytes);
}
