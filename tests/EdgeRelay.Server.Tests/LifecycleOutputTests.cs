using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeRelay.Client;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>What a running relay prints and leaves on disk: JSON lines, its shutdown report, private files.</summary>
public sealed partial class LifecycleOutputTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task With_json_logs_every_line_from_the_first_to_the_last_is_a_json_object()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "edgerelay.json");
        await using var server = await ServerProcess.StartAsync(_temp.Path, "--config", shipped, "--Log:Format=json");
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));

        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(3000, events[0].GetProperty("EventId").GetInt32());
        Assert.Contains(shipped, events[0].GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3004, events[^1].GetProperty("EventId").GetInt32()); // stopped
    }

    [Fact]
    public async Task The_stopped_line_reports_the_address_the_store_committed_last()
    {
        using var owner = new Owner();
        await using var server = await ServerProcess.StartAsync(_temp.Path);
        await using var sender = await RelayClient.ConnectAsync(server.RelayEndPoint, new RelayClientOptions { MaxInFlight = 256 });
        var card = (await owner.CreateAddressAsync(sender)).Card;
        var ephemeral = RelayClient.DeriveEphemeralAddress(card);

        // Sends in flight when SIGTERM arrives: some are appended but not yet committed, and the store's closing
        // commit is the one that makes them durable, after the moment the relay used to read its address.
        var acked = 0;
        var streams = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await sender.SendAsync(ephemeral, new byte[64]);
                    Interlocked.Increment(ref acked);
                }
            }
            catch (RelayException)
            {
                // SHUTTING_DOWN or the closed connection: the stop this test is about.
            }
        })).ToArray();
        await Eventually.TrueAsync(() => Volatile.Read(ref acked) >= 500, () => $"500 acknowledged sends before the stop ({acked} so far)");

        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        await Eventually.Within(Task.WhenAll(streams), "every stream to end once the relay stopped");

        var closed = StoreClosedLine().Match(server.Output);
        var stopped = StoppedLine().Match(server.Output);
        Assert.True(closed.Success && stopped.Success, server.Output);
        Assert.Equal(closed.Groups[1].Value, stopped.Groups[1].Value);
        Assert.True(long.Parse(stopped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 64, "the sends were committed past the log's start");
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // skipped there, first thing
    public async Task The_data_folder_is_0700_and_every_file_the_relay_creates_in_it_0600()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        var dataDir = Path.Combine(_temp.Path, "data");
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        using var owner = new Owner();
        await using (var server = await ServerProcess.StartAsync(dataDir))
        {
            // Tokens (written by the tokens verb, a process of its own), the log, the snapshot at shutdown, the service key.
            var (code, _, stderr) = await ServerProcess.RunWithOutputAsync("tokens", "create", "--name", "modes", "--Storage:DataDir=" + dataDir);
            Assert.True(code == 0, stderr);
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            var card = (await owner.CreateAddressAsync(rm)).Card;
            await rm.SendAsync(card, new byte[] { 1 });
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        }

        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(OwnerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(dataDir));
        var files = Directory.GetFiles(dataDir, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(f) == "service.key");
        Assert.Contains(files, f => Path.GetFileName(f) == "tokens.json");
        Assert.Contains(files, f => f.Contains(Path.DirectorySeparatorChar + "log" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Assert.All(files, f => Assert.True(File.GetUnixFileMode(f) == OwnerOnly, $"{f}: {File.GetUnixFileMode(f)}"));
        Assert.All(Directory.GetDirectories(dataDir, "*", SearchOption.AllDirectories), d => Assert.Equal(OwnerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(d)));
    }

    [GeneratedRegex(@"Relay store closed: log committed until (\d+)")]
    private static partial Regex StoreClosedLine();

    [GeneratedRegex(@"EdgeRelay stopped; log committed until (\d+)")]
    private static partial Regex StoppedLine();
}
