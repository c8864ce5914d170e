using EdgeRelay.Client;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests;

/// <summary>An RM's owner identity for tests: an Ed25519 key and the addresses it created.</summary>
internal sealed class Owner : IDisposable
{
    public Key Key { get; } = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });

    public Task<CreatedAddress> CreateAddressAsync(RelayClient client, TimeSpan? lifetime = null) => client.CreateAddressAsync(Key.PublicKey, lifetime);

    public void Dispose() => Key.Dispose();
}
