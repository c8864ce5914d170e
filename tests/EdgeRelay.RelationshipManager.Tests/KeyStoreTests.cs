using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

/// <summary>Creating, opening and resealing the key store. Argon2id runs at its minimum cost (KeyStoreOptions.Testing).</summary>
public sealed class KeyStoreTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";

    private static readonly byte[] Place = "relationships/1/ratchet"u8.ToArray();

    private readonly TempDirectory _directory = new("rm-keystore");

    private string StorePath => _directory.Combine(KeyStore.DefaultFileName);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void A_created_store_reopens_with_the_same_identity_and_state_key()
    {
        PublicIdentity created;
        byte[] sealedData;
        using (var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing))
        {
            created = store.Identity.Public;
            sealedData = store.StateSealer.Seal("ratchet state"u8, Place);
        }

        using var reopened = KeyStore.Open(StorePath, Passphrase);

        Assert.Equal(created, reopened.Identity.Public);
        Assert.Equal("ratchet state"u8.ToArray(), reopened.StateSealer.Open(sealedData, Place));
        Assert.Equal(KeyStoreOptions.Testing.MemoryKiB, reopened.Options.MemoryKiB);
        Assert.Equal(KeyStoreOptions.Testing.Iterations, reopened.Options.Iterations);
    }

    [Fact]
    public void The_reopened_identity_signs_what_the_created_one_verifies()
    {
        using (KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing))
        {
        }

        using var store = KeyStore.Open(StorePath, Passphrase);
        var signature = new byte[IdentityKeyPair.SignatureLength];
        store.Identity.Sign("x"u8, signature);

        Assert.True(IdentityKeyPair.Verify(store.Identity.Public.SigningKey, "x"u8, signature));
    }

    [Fact]
    public void Two_stores_have_different_identities_and_state_keys()
    {
        using var one = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing);
        using var other = KeyStore.Create(_directory.Combine("other"), Passphrase, KeyStoreOptions.Testing);

        Assert.NotEqual(one.Identity.Public, other.Identity.Public);
        Assert.False(other.StateSealer.TryOpen(one.StateSealer.Seal("x"u8, Place), Place, out _));
    }

    [Fact]
    public void A_wrong_passphrase_is_refused()
    {
        KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing).Dispose();

        var refusal = Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, Passphrase + "!"));

        Assert.Equal(KeyStoreError.WrongPassphrase, refusal.Error);
    }

    [Fact]
    public void A_missing_file_is_not_found()
    {
        Assert.Equal(KeyStoreError.NotFound, Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, Passphrase)).Error);
        Assert.Equal(KeyStoreError.NotFound, Assert.Throws<KeyStoreException>(() => KeyStore.Open(_directory.Combine("no", "such"), Passphrase)).Error);
    }

    [Fact]
    public void Create_never_overwrites_a_file()
    {
        File.WriteAllText(StorePath, "something else");

        var refusal = Assert.Throws<KeyStoreException>(() => KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing));

        Assert.Equal(KeyStoreError.AlreadyExists, refusal.Error);
        Assert.Equal("something else", File.ReadAllText(StorePath));
        Assert.Single(Directory.GetFiles(_directory.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_unusable_passphrase_is_refused(bool loneSurrogate)
    {
        // Built here: a lone surrogate does not survive xunit's serialisation of theory data.
        var passphrase = loneSurrogate ? "\ud800 lone surrogate" : "";
        Assert.Equal(KeyStoreError.PassphraseUnusable, Assert.Throws<KeyStoreException>(() => KeyStore.Create(StorePath, passphrase, KeyStoreOptions.Testing)).Error);
        Assert.False(File.Exists(StorePath));
        KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing).Dispose();
        Assert.Equal(KeyStoreError.PassphraseUnusable, Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, passphrase)).Error);
    }

    [Fact]
    public void A_passphrase_over_the_limit_is_refused()
    {
        var tooLong = new string('a', KeyStore.MaxPassphraseLength + 1);

        Assert.Equal(KeyStoreError.PassphraseUnusable, Assert.Throws<KeyStoreException>(() => KeyStore.Create(StorePath, tooLong, KeyStoreOptions.Testing)).Error);
        using var store = KeyStore.Create(StorePath, new string('a', KeyStore.MaxPassphraseLength), KeyStoreOptions.Testing);
    }

    [Fact]
    public void A_non_ascii_passphrase_round_trips()
    {
        KeyStore.Create(StorePath, "pässwörd ✓ 🔑", KeyStoreOptions.Testing).Dispose();

        using var store = KeyStore.Open(StorePath, "pässwörd ✓ 🔑");
        Assert.Equal(KeyStoreError.WrongPassphrase, Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, "passwort ✓ 🔑")).Error);
    }

    [Theory]
    [InlineData(KeyStoreOptions.MinMemoryKiB - 1, 3)]
    [InlineData(KeyStoreOptions.MaxMemoryKiB + 1, 3)]
    [InlineData(KeyStoreOptions.MinMemoryKiB, KeyStoreOptions.MinIterations - 1)]
    [InlineData(KeyStoreOptions.MinMemoryKiB, KeyStoreOptions.MaxIterations + 1)]
    public void Options_out_of_range_are_refused_before_anything_is_written(int memoryKiB, int iterations)
    {
        var options = new KeyStoreOptions { MemoryKiB = memoryKiB, Iterations = iterations };

        var refusal = Assert.Throws<KeyStoreException>(() => KeyStore.Create(StorePath, Passphrase, options));

        Assert.Equal(KeyStoreError.ParametersOutOfRange, refusal.Error);
        Assert.False(File.Exists(StorePath));
    }

    [Fact]
    public void The_file_holds_no_secret_in_plaintext()
    {
        var secrets = new byte[3 * 32];
        Random.Shared.NextBytes(secrets);
        using var fixedStore = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing, secrets);
        using var randomStore = KeyStore.Create(_directory.Combine("random"), Passphrase, KeyStoreOptions.Testing);
        var randomSecrets = new byte[3 * 32];
        randomStore.RevealSecrets(randomSecrets);

        AssertNoWindowOf(secrets, File.ReadAllBytes(StorePath));
        AssertNoWindowOf(randomSecrets, File.ReadAllBytes(_directory.Combine("random")));
        // The accessor reads what the file really holds: the fixed store gives back the secrets it was made from.
        var revealed = new byte[3 * 32];
        fixedStore.RevealSecrets(revealed);
        Assert.Equal(secrets, revealed);
    }

    // Not just each whole 32-byte secret: no 8-byte run of one appears anywhere in the file.
    private static void AssertNoWindowOf(byte[] secrets, byte[] file)
    {
        for (int offset = 0; offset + 8 <= secrets.Length; offset++)
        {
            Assert.Equal(-1, file.AsSpan().IndexOf(secrets.AsSpan(offset, 8)));
        }
    }

    [Fact]
    public void After_a_passphrase_change_the_old_one_is_refused_and_the_new_one_opens_the_same_keys()
    {
        PublicIdentity identity;
        byte[] sealedData;
        using (var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing))
        {
            identity = store.Identity.Public;
            sealedData = store.StateSealer.Seal("state"u8, Place);
            var before = File.ReadAllBytes(StorePath);

            store.ChangePassphrase("a new passphrase");

            var after = File.ReadAllBytes(StorePath);
            // A fresh salt (bytes 18..34) and nonce (34..58): the new file shares no derived key with the old one.
            Assert.False(before.AsSpan(18, 16).SequenceEqual(after.AsSpan(18, 16)));
            Assert.False(before.AsSpan(34, 24).SequenceEqual(after.AsSpan(34, 24)));
            store.ChangePassphrase("a third passphrase");
        }

        Assert.Equal(KeyStoreError.WrongPassphrase, Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, Passphrase)).Error);
        Assert.Equal(KeyStoreError.WrongPassphrase, Assert.Throws<KeyStoreException>(() => KeyStore.Open(StorePath, "a new passphrase")).Error);
        using var reopened = KeyStore.Open(StorePath, "a third passphrase");
        Assert.Equal(identity, reopened.Identity.Public);
        Assert.Equal("state"u8.ToArray(), reopened.StateSealer.Open(sealedData, Place));
        Assert.Single(Directory.GetFiles(_directory.Path));
    }

    [Fact]
    public void A_passphrase_change_can_raise_the_cost()
    {
        using (var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing))
        {
            store.ChangePassphrase(Passphrase, KeyStoreOptions.Testing with { MemoryKiB = 64, Iterations = 2 });
            Assert.Equal(64, store.Options.MemoryKiB);
        }

        using var reopened = KeyStore.Open(StorePath, Passphrase);
        Assert.Equal(64, reopened.Options.MemoryKiB);
        Assert.Equal(2, reopened.Options.Iterations);
    }

    [Fact]
    public void A_crash_before_the_rename_leaves_the_old_file_usable()
    {
        using var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing);
        var identity = store.Identity.Public;
        var original = File.ReadAllBytes(StorePath);
        string? temporary = null;
        store.BeforeReplace = () =>
        {
            // The new file is complete on disk at this point: the rename alone decides which one counts.
            temporary = Assert.Single(Directory.GetFiles(_directory.Path, "*.tmp"));
            Assert.Equal(original.Length, new FileInfo(temporary).Length);
            File.Copy(temporary, _directory.Combine("left-behind.tmp"));
            throw new IOException("simulated crash");
        };

        Assert.Throws<IOException>(() => store.ChangePassphrase("new"));
        store.BeforeReplace = null;
        // What a killed process would have left: the complete temporary file next to the untouched old one.
        File.Move(_directory.Combine("left-behind.tmp"), temporary!);

        Assert.Equal(original, File.ReadAllBytes(StorePath));
        using (var reopened = KeyStore.Open(StorePath, Passphrase))
        {
            Assert.Equal(identity, reopened.Identity.Public);
        }

        // The store in memory still matches the disk, and a retry works despite the leftover.
        store.ChangePassphrase("new");
        using var afterRetry = KeyStore.Open(StorePath, "new");
        Assert.Equal(identity, afterRetry.Identity.Public);
        Assert.True(File.Exists(temporary));
    }

    [Fact]
    public void The_file_is_readable_by_its_owner_only()
    {
        using var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(StorePath));
        }

        store.ChangePassphrase("new");

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(StorePath));
        }
    }

    [Fact]
    public void Disposing_the_store_destroys_the_identity()
    {
        var store = KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing);
        var identity = store.Identity;

        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => identity.Sign("x"u8, new byte[IdentityKeyPair.SignatureLength]));
        Assert.Throws<ObjectDisposedException>(() => store.ChangePassphrase("new"));
    }
}
