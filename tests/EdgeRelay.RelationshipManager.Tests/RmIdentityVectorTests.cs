using System.Globalization;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Tests;

/// <summary>docs/vectors/rm-identity-v1.txt: every value rebuilt from the fixed inputs and compared, every line read.</summary>
public sealed class RmIdentityVectorTests
{
    private readonly Vectors _vectors = Vectors.Load();

    [Fact]
    public void Identities_and_the_safety_number()
    {
        using var a = Identity("a");
        using var b = Identity("b");

        Assert.Equal(_vectors.Hex("identity.a.public"), a.Public.Bytes.ToArray());
        Assert.Equal(_vectors.Hex("identity.b.public"), b.Public.Bytes.ToArray());
        Assert.Equal(_vectors.Text("safety.number"), SafetyNumber.Compute(a.Public, b.Public));
        Assert.Equal(_vectors.Text("safety.number"), SafetyNumber.Compute(b.Public, a.Public));
    }

    [Fact]
    public void The_invitation()
    {
        using var inviter = Identity("a");
        var card = AddressCard.Decode(_vectors.Hex("invitation.card"));
        var expires = DateTimeOffset.FromUnixTimeSeconds(_vectors.Number("invitation.expires"));

        var invitation = Invitation.Create(
            inviter,
            _vectors.Text("invitation.name"),
            card,
            expires,
            _vectors.Hex("invitation.invitation_private_key"),
            _vectors.Hex("invitation.secret"),
            out var secrets);
        using var _ = secrets;

        Assert.Equal(_vectors.Hex("invitation.invitation_public_key"), invitation.InvitationKey.ToArray());
        Assert.Equal(_vectors.Hex("invitation.bytes"), invitation.ToArray());
        Assert.Equal(_vectors.Text("invitation.text"), invitation.ToString());
        Assert.Equal(_vectors.Hex("invitation.id"), invitation.Id.ToArray());

        // And the other way: the published text reads back as the published fields, the second before expiry.
        var read = Invitation.Parse(_vectors.Text("invitation.text"), expires.AddSeconds(-1));
        Assert.Equal(inviter.Public, read.Inviter);
        Assert.Equal(_vectors.Hex("invitation.secret"), read.Secret.ToArray());
        Assert.Equal(card.ToArray(), read.Card.ToArray());
    }

    [Fact]
    public void The_key_store_file()
    {
        var passphrase = _vectors.Text("keystore.passphrase");
        var salt = _vectors.Hex("keystore.salt");
        var options = KeyStoreOptions.Testing with
        {
            MemoryKiB = (int)_vectors.Number("keystore.memory_kib"),
            Iterations = (int)_vectors.Number("keystore.iterations"),
        };
        byte[] secrets = [.. _vectors.Hex("identity.a.signing_seed"), .. _vectors.Hex("identity.a.agreement_private_key"), .. _vectors.Hex("keystore.state_key")];

        var file = KeyStore.Seal(passphrase, options, secrets, salt, _vectors.Hex("keystore.nonce"), out var key);
        key.Dispose();
        var argon2 = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = options.MemoryKiB,
            NumberOfPasses = options.Iterations,
        }).DeriveBytes(System.Text.Encoding.UTF8.GetBytes(passphrase), salt, 32);

        Assert.Equal(_vectors.Hex("keystore.argon2id_output"), argon2);
        Assert.Equal(_vectors.Hex("keystore.file"), file);

        // The published file opens as a store: A's identity, and the state key seals what a store of it opens.
        using var directory = new TempDirectory("rm-vectors");
        File.WriteAllBytes(directory.Combine(KeyStore.DefaultFileName), _vectors.Hex("keystore.file"));
        using var store = KeyStore.Open(directory.Combine(KeyStore.DefaultFileName), passphrase);
        Assert.Equal(_vectors.Hex("identity.a.public"), store.Identity.Public.Bytes.ToArray());
        using var sealer = new StateSealer(_vectors.Hex("keystore.state_key"));
        Assert.Equal("x"u8.ToArray(), store.StateSealer.Open(sealer.Seal("x"u8, []), []));
    }

    [Fact]
    public void Every_vector_is_checked()
    {
        Identities_and_the_safety_number();
        The_invitation();
        The_key_store_file();

        Assert.Empty(_vectors.Unread());
    }

    private IdentityKeyPair Identity(string who) =>
        IdentityKeyPair.FromPrivateKeys(_vectors.Hex($"identity.{who}.signing_seed"), _vectors.Hex($"identity.{who}.agreement_private_key"));

    /// <summary>The file's "name: value" lines, read as its header describes; notes which names were read.</summary>
    private sealed class Vectors
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _read = new(StringComparer.Ordinal);

        private Vectors(IEnumerable<string> lines)
        {
            foreach (var line in lines)
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var parts = line.Split(": ", 2);
                if (parts.Length != 2 || !_values.TryAdd(parts[0], parts[1]))
                {
                    throw new InvalidDataException($"rm-identity-v1.txt: '{line}' is not a new \"name: value\" line.");
                }
            }
        }

        public static Vectors Load() =>
            new(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Vectors", "rm-identity-v1.txt")));

        public string Text(string name)
        {
            _read.Add(name);
            return _values[name];
        }

        public byte[] Hex(string name)
        {
            var value = Text(name);
            Assert.Equal(value.ToLowerInvariant(), value);
            return Convert.FromHexString(value);
        }

        public long Number(string name) => long.Parse(Text(name), NumberStyles.None, CultureInfo.InvariantCulture);

        public IEnumerable<string> Unread() => _values.Keys.Where(name => !_read.Contains(name));
    }
}
