using System.Net;
using EdgeRelay.Client;
using NSec.Cryptography;

namespace EdgeRelay.Testing;

/// <summary>
/// A message acknowledged before a test sends a relay bad input: whatever the bad input did to its own
/// connection, this message must still be there afterwards, untouched. One per test class of bad inputs.
/// </summary>
public sealed class BadInputWitness : IDisposable
{
    private BadInputWitness(Key owner, CreatedAddress address)
    {
        Owner = owner;
        Address = address;
    }

    /// <summary>The witness' ciphertext.</summary>
    public static ReadOnlyMemory<byte> Ciphertext { get; } = "acknowledged before the bad input"u8.ToArray();

    /// <summary>The owner of <see cref="Address"/> (Ed25519), for tests that authenticate as it.</summary>
    public Key Owner { get; }

    /// <summary>The address the witness was sent to (valid for an hour of the relay's clock).</summary>
    public CreatedAddress Address { get; }

    /// <summary>Creates an address on <paramref name="relay"/> and sends the witness to it; returns once the relay acknowledged it (durable).</summary>
    public static async Task<BadInputWitness> StoreAsync(IPEndPoint relay)
    {
        var owner = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        try
        {
            await using var client = await RelayClient.ConnectAsync(relay);
            var address = await client.CreateAddressAsync(owner.PublicKey, TimeSpan.FromHours(1));
            await client.SendAsync(address.Card, Ciphertext.ToArray());
            return new BadInputWitness(owner, address);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    /// <summary>Pulls the witness' address as its owner and checks the witness is there, byte for byte.</summary>
    public async Task AssertSurvivesAsync(IPEndPoint relay)
    {
        await using var owner = await RelayClient.ConnectAsync(relay);
        await owner.AuthenticateAsync(Address.Id, Owner);
        var pulled = await owner.PullAsync(Address.Id);
        Assert.Contains(pulled.Messages, m => m.Ciphertext.Span.SequenceEqual(Ciphertext.Span));
    }

    public void Dispose() => Owner.Dispose();
}
