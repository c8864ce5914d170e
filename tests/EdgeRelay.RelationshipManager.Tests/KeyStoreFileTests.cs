using System.Buffers.Binary;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

/// <summary>What a damaged or hostile key store file gets: refused, with the error that says why.</summary>
public sealed class KeyStoreFileTests : IDisposable
{
    private const string Passphrase = "passphrase";

    private readonly TempDirectory _directory = new("rm-keystore-file");
    private readonly byte[] _original;

    public KeyStoreFileTests()
    {
        KeyStore.Create(StorePath, Passphrase, KeyStoreOptions.Testing).Dispose();
        _original = File.ReadAllBytes(StorePath);
    }

    private string StorePath => _directory.Combine(KeyStore.DefaultFileName);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void The_file_has_the_documented_length_and_header()
    {
        Assert.Equal(KeyStoreFile.FileLength, _original.Length);
        Assert.Equal(170, KeyStoreFile.FileLength);
        Assert.Equal("ERRMKEYS"u8.ToArray(), _original[..8]);
        Assert.Equal(1, _original[8]);
        Assert.Equal((uint)KeyStoreOptions.Testing.MemoryKiB, BinaryPrimitives.ReadUInt32BigEndian(_original.AsSpan(9)));
        Assert.Equal((uint)KeyStoreOptions.Testing.Iterations, BinaryPrimitives.ReadUInt32BigEndian(_original.AsSpan(13)));
        Assert.Equal(1, _original[17]);
    }

    [Fact]
    public void Every_header_byte_altered_is_refused()
    {
        // The header is the AEAD's associated data: a bit flipped in the salt, the nonce or a parameter that is
        // still in range changes the key or the check and fails as a wrong passphrase would; the others fail
        // earlier with their own code. Every one is refused.
        for (int i = 0; i < KeyStoreFile.HeaderLength; i++)
        {
            foreach (var bit in new byte[] { 0x01, 0x80 })
            {
                var altered = (byte[])_original.Clone();
                altered[i] ^= bit;
                var error = OpenBytes(altered);
                var expected = i switch
                {
                    < 8 => KeyStoreError.Corrupt,
                    8 => KeyStoreError.UnsupportedVersion,
                    < 18 => InBounds(altered) ? KeyStoreError.WrongPassphrase : KeyStoreError.ParametersOutOfRange,
                    _ => KeyStoreError.WrongPassphrase,
                };
                Assert.True(expected == error, $"byte {i} ^ 0x{bit:x2}: expected {expected}, got {error}");
            }
        }
    }

    [Fact]
    public void Every_sealed_byte_altered_is_a_failed_open()
    {
        for (int i = KeyStoreFile.HeaderLength; i < _original.Length; i++)
        {
            var altered = (byte[])_original.Clone();
            altered[i] ^= 0x01;
            Assert.Equal(KeyStoreError.WrongPassphrase, OpenBytes(altered));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(KeyStoreFile.HeaderLength)]
    [InlineData(KeyStoreFile.FileLength - 1)]
    public void A_truncated_file_is_corrupt(int length) =>
        Assert.Equal(KeyStoreError.Corrupt, OpenBytes(_original[..length]));

    [Fact]
    public void A_file_with_bytes_after_the_end_is_corrupt()
    {
        Assert.Equal(KeyStoreError.Corrupt, OpenBytes([.. _original, 0]));
        Assert.Equal(KeyStoreError.Corrupt, OpenBytes(new byte[1 << 20]));
    }

    [Fact]
    public void Another_file_entirely_is_corrupt() =>
        Assert.Equal(KeyStoreError.Corrupt, OpenBytes("{\"not\": \"a key store\"}"u8.ToArray()));

    [Fact]
    public void A_newer_version_is_unsupported_whatever_its_length()
    {
        var newer = (byte[])_original.Clone();
        newer[8] = 2;

        Assert.Equal(KeyStoreError.UnsupportedVersion, OpenBytes(newer));
        Assert.Equal(KeyStoreError.UnsupportedVersion, OpenBytes([.. newer, 1, 2, 3]));
        Assert.Equal(KeyStoreError.UnsupportedVersion, OpenBytes(newer[..9]));
    }

    [Theory]
    [InlineData(uint.MaxValue, 1u, 1)] // 4 TiB: the hostile file the bound exists for
    [InlineData(100u * 1024 * 1024, 1u, 1)] // 100 GiB
    [InlineData((uint)KeyStoreOptions.MaxMemoryKiB + 1, 1u, 1)]
    [InlineData(7u, 1u, 1)] // below Argon2's minimum
    [InlineData(8u, 0u, 1)]
    [InlineData(8u, (uint)KeyStoreOptions.MaxIterations + 1, 1)]
    [InlineData(8u, uint.MaxValue, 1)]
    [InlineData(8u, 1u, 0)]
    [InlineData(8u, 1u, 4)] // several lanes: NSec offers one
    public void Parameters_out_of_bounds_are_refused_before_argon2_runs(uint memoryKiB, uint iterations, byte parallelism)
    {
        var hostile = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(9), memoryKiB);
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(13), iterations);
        hostile[17] = parallelism;

        Assert.Equal(KeyStoreError.ParametersOutOfRange, OpenBytes(hostile));
    }

    [Fact]
    public void The_largest_accepted_parameters_pass_the_header_check()
    {
        var options = KeyStoreFile.ReadHeader(WithParameters(KeyStoreOptions.MaxMemoryKiB, KeyStoreOptions.MaxIterations));

        Assert.Equal(KeyStoreOptions.MaxMemoryKiB, options.MemoryKiB);
        Assert.Equal(KeyStoreOptions.MaxIterations, options.Iterations);
    }

    // The bounds as §7 states them, written out independently of the code under test.
    private static bool InBounds(byte[] file)
    {
        var memory = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(9));
        var iterations = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(13));
        return memory is >= 8 and <= 1024 * 1024 && iterations is >= 1 and <= 10 && file[17] == 1;
    }

    private byte[] WithParameters(int memoryKiB, int iterations)
    {
        var bytes = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(9), (uint)memoryKiB);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(13), (uint)iterations);
        return bytes;
    }

    private KeyStoreError? OpenBytes(byte[] bytes)
    {
        var path = _directory.Combine("altered");
        File.WriteAllBytes(path, bytes);
        try
        {
            KeyStore.Open(path, Passphrase).Dispose();
            return null;
        }
        catch (KeyStoreException e)
        {
            return e.Error;
        }
    }
}
