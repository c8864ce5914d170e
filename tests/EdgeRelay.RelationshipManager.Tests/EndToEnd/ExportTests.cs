using System.Text;
using System.Text.Json;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>The export is the user's data, all of it, and nothing that would let its reader act as the user.</summary>
public sealed class ExportTests
{
    [Fact]
    public async Task Every_relationship_service_and_message_is_exported_as_documented()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var sender = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await Traffic.IntroduceAsync(alice, bob);
        await Traffic.IntroduceAsync(carol, alice);
        await ConversationTests.Exchange(alice, bob, "one");
        await ConversationTests.Exchange(bob, alice, "two");
        await ConversationTests.Exchange(carol, alice, "three");
        var group = await alice.Rm.CreateGroupAsync("friends", [alice.Contact("bob"), alice.Contact("carol")]);
        await alice.Rm.SendToGroupAsync(group.Id, "to both");
        await alice.Rm.AddServiceAsync(sender.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(sender, "alice"));

        var lines = await ExportAsync(alice);

        var header = lines[0];
        Assert.Equal("rm-export", header.GetProperty("type").GetString());
        Assert.Equal(1, header.GetProperty("version").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(alice.Rm.Identity.Bytes), header.GetProperty("identity").GetString());
        var services = lines.Where(l => l.GetProperty("type").GetString() == "service").ToList();
        Assert.Equal([relay.Endpoint, sender.Endpoint], services.Select(s => s.GetProperty("endpoint").GetString()));
        Assert.True(services[1].GetProperty("sending").GetBoolean());
        var contacts = lines.Where(l => l.GetProperty("type").GetString() == "contact").ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal(["bob", "carol"], contacts.Keys.Order());
        Assert.Equal(Convert.ToHexStringLower(bob.Rm.Identity.Bytes), contacts["bob"].GetProperty("identity").GetString());
        Assert.All(contacts.Values, c => Assert.StartsWith("edgerelay1:", c.GetProperty("cards")[0].GetString(), StringComparison.Ordinal));
        Assert.All(contacts.Values, c => Assert.StartsWith("edgerelay1:", c.GetProperty("ourCards")[0].GetString(), StringComparison.Ordinal));
        var messages = lines.Where(l => l.GetProperty("type").GetString() == "message").ToList();
        Assert.Equal(["one", "two", "three"], messages.Select(m => m.GetProperty("text").GetString())); // by contact, then as stored
        Assert.Equal(contacts["carol"].GetProperty("id").GetInt64(), messages.Single(m => m.GetProperty("text").GetString() == "three").GetProperty("contact").GetInt64());
        Assert.True(messages.Single(m => m.GetProperty("text").GetString() == "one").GetProperty("outgoing").GetBoolean());
        var exportedGroup = Assert.Single(lines, l => l.GetProperty("type").GetString() == "group");
        Assert.Equal(group.Id.ToString(), exportedGroup.GetProperty("id").GetString());
        Assert.Equal(["alice", "bob", "carol"], exportedGroup.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        var groupMessage = Assert.Single(lines, l => l.GetProperty("type").GetString() == "group-message");
        Assert.Equal("to both", groupMessage.GetProperty("text").GetString());
        Assert.True(groupMessage.GetProperty("outgoing").GetBoolean());
    }

    [Fact]
    public async Task No_key_material_appears_in_the_export_in_any_encoding()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var sender = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await Traffic.IntroduceAsync(alice, bob);
        await ConversationTests.Exchange(alice, bob, "a message");
        await ConversationTests.Exchange(bob, alice, "and its answer");
        var token = Traffic.Token(sender, "alice");
        await alice.Rm.AddServiceAsync(sender.Endpoint, ServiceUse.Sending, sendingToken: token);
        await alice.Rm.CreateInvitationAsync(); // an open invitation: its private key and secret are at rest too

        var export = await ExportBytesAsync(alice);
        var secrets = Secrets(alice, token);

        // The search finds what the export does contain, in the encodings it uses: a public key, by value.
        Assert.True(Contains(export, alice.Rm.Identity.Bytes.ToArray()[..32]));
        Assert.True(secrets.Count >= 10, $"{secrets.Count} secrets gathered");
        foreach (var (what, value) in secrets)
        {
            Assert.False(Contains(export, value), $"the export holds {what}");
        }
    }

    /// <summary>
    /// Every secret alice's RM holds, by value, read the hard way: the key store's secrets, the key the passphrase
    /// derives, the passphrase, each address's owner key, each ratchet's private keys and chain keys, each open
    /// invitation's private key, and the sending service's token.
    /// </summary>
    private static List<(string What, byte[] Value)> Secrets(Person person, string token)
    {
        var found = new List<(string, byte[])>
        {
            ("the passphrase", Encoding.UTF8.GetBytes(Person.Passphrase)),
            ("the sending token", Encoding.UTF8.GetBytes(token)),
        };

        var file = File.ReadAllBytes(person.Options.KeyStorePath);
        var parameters = KeyStoreFile.ReadHeader(file);
        var argon2 = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = parameters.MemoryKiB, NumberOfPasses = parameters.Iterations });
        found.Add(("the passphrase-derived key", argon2.DeriveBytes(Encoding.UTF8.GetBytes(Person.Passphrase), KeyStoreFile.Salt(file), 32)));

        using var store = KeyStore.Open(person.Options.KeyStorePath, Person.Passphrase);
        var keys = new byte[KeyStoreFile.SecretsLength];
        store.RevealSecrets(keys);
        found.Add(("the identity signing seed", keys[..32]));
        found.Add(("the identity agreement key", keys[32..64]));
        found.Add(("the state key", keys[64..]));

        using var state = RmDatabase.Open(person.Options.DatabasePath);
        foreach (var address in state.GetAddresses())
        {
            found.Add(($"the owner key of {address.Aid}", store.StateSealer.Open(address.SealedOwnerKey, Sealing.OwnerKey(address.Aid))));
        }

        foreach (var relationship in state.GetRelationships())
        {
            using var ratchet = RatchetState.FromBytes(store.StateSealer.Open(relationship.SealedRatchet, Sealing.Ratchet(relationship.Identity)));
            found.Add(("a send chain key", ratchet.SendChainKey.ToArray()));
            found.Add(("a receive chain key", ratchet.ReceiveChainKey.ToArray()));
            found.AddRange(ratchet.OwnKeys.Select(k => ("a ratchet private key", k.Private.ToArray())));
            found.AddRange(ratchet.Skipped.Values.Select(k => ("a skipped message key", k.ToArray())));
        }

        using var command = state.Command("SELECT id, secrets FROM invitations");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = (byte[])reader[0];
            using var invitation = InvitationSecrets.Unseal(store.StateSealer, (byte[])reader[1], Sealing.InvitationSecrets(id));
            found.Add(("an invitation private key", invitation.InvitationPrivateKey.ToArray()));
        }

        return found;
    }

    /// <summary>Whether <paramref name="value"/> is in <paramref name="export"/> raw, in hex (either case) or in base64 (standard or URL-safe, padded or not).</summary>
    private static bool Contains(byte[] export, byte[] value)
    {
        var text = Encoding.UTF8.GetString(export);
        var base64 = Convert.ToBase64String(value);
        string[] encodings =
        [
            Convert.ToHexStringLower(value),
            Convert.ToHexString(value),
            base64.TrimEnd('='),
            base64.TrimEnd('=').Replace('+', '-').Replace('/', '_'),
        ];
        return export.AsSpan().IndexOf(value) >= 0 || encodings.Any(e => text.Contains(e, StringComparison.Ordinal));
    }

    private static async Task<byte[]> ExportBytesAsync(Person person)
    {
        using var stream = new MemoryStream();
        await person.Rm.ExportAsync(stream);
        return stream.ToArray();
    }

    private static async Task<List<JsonElement>> ExportAsync(Person person) =>
        [.. Encoding.UTF8.GetString(await ExportBytesAsync(person)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
}
