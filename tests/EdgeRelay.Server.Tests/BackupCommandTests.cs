using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>The <c>edgerelay backup</c> and <c>restore</c> verbs, as an operator runs them (the real executable).</summary>
public sealed class BackupCommandTests
{
    private static readonly Dictionary<string, string> Token = new() { ["EDGERELAY_ADMIN_TOKEN"] = "backup-test-token" };

    [Fact]
    public async Task Backup_then_restore_writes_an_owner_only_copy_a_relay_starts_on_and_restore_refuses_a_non_empty_or_damaged_target()
    {
        using var owner = new Owner();
        using var copy = new TempDirectory();
        var backup = copy.Combine("backup");
        AddressId aid;
        await using (var relay = await TestRelay.StartAsync(o => o.Admin.Token = Token["EDGERELAY_ADMIN_TOKEN"]))
        {
            await using var rm = await relay.ConnectAsync();
            var created = await owner.CreateAddressAsync(rm);
            aid = created.Id;
            for (var i = 1; i <= 50; i++)
            {
                await rm.SendAsync(created.Card, BitConverter.GetBytes(i));
            }

            var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync(Token, "backup", "--out", backup, "--http", relay.Host.HttpEndPoint.ToString());
            Assert.True(code == 0, $"backup exited {code}: {stderr}");
            Assert.Contains("Backup written to", stdout, StringComparison.Ordinal);
            Assert.Contains("copied", stderr, StringComparison.Ordinal);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(backup));
            foreach (var file in Directory.GetFiles(backup, "*", SearchOption.AllDirectories))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }

        var data = copy.Combine("data");
        var restore = await ServerProcess.RunWithOutputAsync("restore", "--from", backup, "--data", data);
        Assert.True(restore.ExitCode == 0, $"restore exited {restore.ExitCode}: {restore.Stderr}");
        await using (var relay = await TestRelay.StartAsync(dataDir: data))
        {
            await using var rm = await relay.ConnectAsync();
            await rm.AuthenticateAsync(aid, owner.Key);
            Assert.Equal(Enumerable.Range(1, 50), await Drain.AllAsync(rm, aid));
        }

        // Into a folder that holds anything: refused, one line, the folder untouched.
        var before = Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length;
        var (again, _, refusal) = await ServerProcess.RunWithOutputAsync("restore", "--from", backup, "--data", data);
        Assert.Equal(2, again);
        Assert.Contains("not empty", refusal, StringComparison.Ordinal);
        Assert.Single(refusal.Trim().Split('\n'));
        Assert.Equal(before, Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length);

        // One flipped byte in a segment: refused with the file named, nothing left in the target.
        var segment = Path.Combine(backup, "log", "relay.log.0");
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^1] ^= 0x40;
        await File.WriteAllBytesAsync(segment, bytes);
        var damagedTarget = copy.Combine("damaged");
        var (damaged, _, why) = await ServerProcess.RunWithOutputAsync("restore", "--from", backup, "--data", damagedTarget);
        Assert.Equal(3, damaged);
        Assert.Contains("'log/relay.log.0'", why, StringComparison.Ordinal);
        Assert.False(Directory.Exists(damagedTarget));
    }

    [Fact]
    public async Task Backup_without_a_token_exits_7_and_against_no_relay_exits_6_leaving_no_partial_copy()
    {
        using var copy = new TempDirectory();
        var closed = ClosedPort();
        var (noToken, _, why) = await ServerProcess.RunWithOutputAsync(new Dictionary<string, string> { ["EDGERELAY_ADMIN_TOKEN"] = "" }, "backup", "--out", copy.Combine("a"), "--http", closed);
        Assert.Equal(7, noToken);
        Assert.Contains("EDGERELAY_ADMIN_TOKEN", why, StringComparison.Ordinal);

        var (unreachable, _, _) = await ServerProcess.RunWithOutputAsync(Token, "backup", "--out", copy.Combine("b"), "--http", closed);
        Assert.Equal(6, unreachable);
        Assert.False(Directory.Exists(copy.Combine("b")));
    }

    /// <summary>A loopback endpoint nothing listens on (a free port, released at once).</summary>
    private static string ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return "127.0.0.1:" + port;
    }
}
