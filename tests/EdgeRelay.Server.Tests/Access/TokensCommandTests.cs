using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Access;

/// <summary><c>edgerelay tokens</c>, run as the operator runs it: a separate process on a data folder.</summary>
public sealed class TokensCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string DataDir => "--Storage:DataDir=" + _dir.Path;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Create_prints_the_token_once_list_shows_it_without_the_secret_and_revoke_revokes_it()
    {
        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "alice-phone", "--rate", "50", DataDir);
        Assert.True(code == 0, stderr);
        var secret = stdout.Trim();
        Assert.StartsWith("ert_", secret, StringComparison.Ordinal);
        Assert.Contains("shown only this once", stderr, StringComparison.Ordinal);
        var id = secret.Substring(4, 16);

        (code, stdout, _) = await ServerProcess.RunWithOutputAsync("tokens", "list", DataDir);
        Assert.Equal(0, code);
        var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal));
        Assert.Contains("alice-phone", line, StringComparison.Ordinal);
        Assert.Contains("valid", line, StringComparison.Ordinal);
        Assert.Contains(" 50 ", line, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[21..], stdout, StringComparison.Ordinal);

        (code, stdout, _) = await ServerProcess.RunWithOutputAsync("tokens", "revoke", id, DataDir);
        Assert.Equal(0, code);
        Assert.Contains("Revoked token " + id, stdout, StringComparison.Ordinal);
        (code, stdout, _) = await ServerProcess.RunWithOutputAsync("tokens", "revoke", id, DataDir);
        Assert.Equal(0, code);
        Assert.Contains("already revoked", stdout, StringComparison.Ordinal);
        (_, stdout, _) = await ServerProcess.RunWithOutputAsync("tokens", "list", DataDir);
        Assert.Contains("revoked 20", Assert.Single(stdout.Split('\n'), l => l.StartsWith(id, StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, "tokens")]
    [InlineData(2, "tokens", "frobnicate")]
    [InlineData(2, "tokens", "create")]
    [InlineData(2, "tokens", "create", "--name", "x", "--role", "admin")]
    [InlineData(2, "tokens", "create", "--name", "x", "--rate", "-1")]
    [InlineData(2, "tokens", "create", "--name")]
    [InlineData(2, "tokens", "revoke")]
    [InlineData(1, "tokens", "revoke", "0000000000000000")]
    public async Task Mistakes_exit_non_zero_with_a_message(int expected, params string[] args)
    {
        var (code, _, stderr) = await ServerProcess.RunWithOutputAsync([.. args, DataDir]);
        Assert.Equal(expected, code);
        Assert.Contains("edgerelay tokens", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_token_file_is_named_and_nothing_is_written()
    {
        var file = Path.Combine(_dir.Path, "tokens.json");
        await File.WriteAllTextAsync(file, "{ damaged");

        var (code, _, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "x", DataDir);

        Assert.Equal(3, code);
        Assert.Contains(file, stderr, StringComparison.Ordinal);
        Assert.Equal("{ damaged", await File.ReadAllTextAsync(file));
    }
}
