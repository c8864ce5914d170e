using EdgeRelay.Testing;

namespace EdgeRelay.Addressing.Tests;

public sealed class ServiceKeyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string KeyPath => Path.Combine(_dir.Path, ServiceKey.FileName);

    [Fact]
    public void Created_key_is_32_bytes_owner_only_and_reloads_identical()
    {
        byte[] publicKey;
        byte[] privateKey;
        using (var created = ServiceKey.LoadOrCreate(_dir.Path))
        {
            publicKey = created.PublicKey.ToArray();
            privateKey = created.PrivateKey.ToArray();
        }

        Assert.Equal(32, new FileInfo(KeyPath).Length);
        Assert.Equal(privateKey, File.ReadAllBytes(KeyPath));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        }

        using var reloaded = ServiceKey.LoadOrCreate(_dir.Path);
        Assert.Equal(publicKey, reloaded.PublicKey.ToArray());
        Assert.Equal(privateKey, reloaded.PrivateKey.ToArray());
        Assert.Single(Directory.GetFiles(_dir.Path)); // no temporary file left behind
    }

    [Fact]
    public void Public_key_belongs_to_the_private_key()
    {
        using var key = ServiceKey.LoadOrCreate(_dir.Path);
        var address = new byte[EphemeralAddress.Length];
        var aid = AddressId.NewRandom();
        EphemeralAddress.Derive(key.PublicKey.Span, aid, 1, address);
        Assert.True(EphemeralAddress.TryOpen(key.PrivateKey, address, out var opened, out _));
        Assert.Equal(aid, opened);
    }

    [Fact]
    public void A_missing_data_directory_is_created_owner_only()
    {
        var nested = Path.Combine(_dir.Path, "data");
        using var key = ServiceKey.LoadOrCreate(nested);
        Assert.True(File.Exists(Path.Combine(nested, ServiceKey.FileName)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(nested));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Wrong_size_file_is_refused(int size)
    {
        WriteOwnerOnly(new byte[size]);
        var ex = Assert.Throws<InvalidDataException>(() => ServiceKey.LoadOrCreate(_dir.Path));
        Assert.Contains($"{size} bytes", ex.Message, StringComparison.Ordinal);
        Assert.Equal(size, new FileInfo(KeyPath).Length); // left as it was, not regenerated
    }

    [Theory]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void Group_or_world_accessible_file_is_refused(UnixFileMode extra)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        WriteOwnerOnly(new byte[32]);
        File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var ex = Assert.Throws<UnauthorizedAccessException>(() => ServiceKey.LoadOrCreate(_dir.Path));
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_zeroes_the_private_key_and_blocks_access()
    {
        var key = ServiceKey.Generate();
        // A span taken before Dispose still points into the (pinned) key array.
        var view = key.PrivateKey;
        Assert.Contains(view.ToArray(), b => b != 0);
        key.Dispose();
        Assert.All(view.ToArray(), b => Assert.Equal(0, b));

        Assert.Throws<ObjectDisposedException>(() => key.PrivateKey.Length);
    }

    private void WriteOwnerOnly(byte[] content)
    {
        File.WriteAllBytes(KeyPath, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
