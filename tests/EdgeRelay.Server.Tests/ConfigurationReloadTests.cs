using System.Diagnostics;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>The executable's reload: an edit of the configuration file, and SIGHUP, reach a running relay.</summary>
public sealed class ConfigurationReloadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string ConfigFile => _dir.Combine("edgerelay.json");

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task An_edited_configuration_file_is_applied_and_pushed_and_SIGHUP_rereads_it()
    {
        Skip.If(OperatingSystem.IsWindows(), "SIGHUP is POSIX");
        await File.WriteAllTextAsync(ConfigFile, """{ "Sending": { "MaxCiphertextBytes": 0 } }""");
        await using var relay = await ServerProcess.StartAsync(_dir.Combine("data"), "--config", ConfigFile);
        await using var client = await RelayClient.ConnectAsync(relay.RelayEndPoint);
        Assert.Equal(1u, (await client.GetStatusAsync()).ConfigVersion);

        await File.WriteAllTextAsync(ConfigFile, """{ "Sending": { "MaxCiphertextBytes": 5000 } }""");
        var pushed = await client.ConfigUpdates.ReadAsync(Eventually.Deadline(TimeSpan.FromSeconds(30)));
        Assert.Equal(2u, pushed.ConfigVersion);
        Assert.Equal(5_000u, pushed.MaxSendViaCiphertext);

        // An invalid file is refused and logged; the relay keeps its configuration and keeps serving.
        await File.WriteAllTextAsync(ConfigFile, """{ "Sending": { "MaxCiphertextBytes": "lots" } }""");
        await Eventually.TrueAsync(() => Refusals(relay) >= 1, () => "a refused reload in the log:\n" + relay.Output);
        var refusals = Refusals(relay);

        // The file does not change again: only SIGHUP can cause the next reload, and it ends nothing.
        using (var kill = Process.Start("kill", ["-HUP", relay.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        await Eventually.TrueAsync(() => Refusals(relay) > refusals, () => "SIGHUP to reload the file again:\n" + relay.Output);
        await client.PingAsync();
        var status = await client.GetStatusAsync();
        Assert.Equal(2u, status.ConfigVersion);
        Assert.Equal(5_000u, status.MaxSendViaCiphertext);
    }

    private static int Refusals(ServerProcess relay) =>
        relay.Output.Split('\n').Count(l => l.Contains("Configuration reload refused", StringComparison.Ordinal));
}
