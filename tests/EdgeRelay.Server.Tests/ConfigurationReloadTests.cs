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

        await File.WriteAllTextAsync(ConfigFile, """{ "Sending": { "MaxCiphertextBytes": 5000, "BatchedDelay": "00:00:10" } }""");
        var pushed = await client.ConfigUpdates.ReadAsync(Eventually.Deadline(TimeSpan.FromSeconds(30)));
        Assert.Equal(2u, pushed.ConfigVersion);
        Assert.Equal(5_000u, pushed.MaxSendViaCiphertext);
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 10_000)], pushed.SendingOptions);

        // An invalid file is refused and logged; the relay keeps its configuration and keeps serving.
        await File.WriteAllTextAsync(ConfigFile, """{ "Sending": { "MaxCiphertextBytes": "lots" } }""");
        await Eventually.TrueAsync(() => Refusals(relay) >= 1, () => "a refused reload in the log:\n" + relay.Output);
        var refusals = Refusals(relay);

        // The relay inherits this process' disposition of SIGHUP. Started with it ignored (under nohup), it
        // cannot receive the signal, and must say so instead.
        if (HangUpIgnoredHere())
        {
            await Eventually.TrueAsync(() => relay.Output.Contains("SIGHUP is ignored by this process", StringComparison.Ordinal), () => "the warning that SIGHUP is ignored:\n" + relay.Output);
            return;
        }

        Assert.DoesNotContain("SIGHUP is ignored", relay.Output, StringComparison.Ordinal);

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

    [SkippableFact]
    public async Task A_relay_started_with_SIGHUP_ignored_says_that_SIGHUP_will_not_reload()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/nohup"), "needs /proc and nohup");
        await File.WriteAllTextAsync(ConfigFile, "{ }");
        await using var relay = await ServerProcess.StartUnderAsync("/usr/bin/nohup", _dir.Combine("data"), "--config", ConfigFile);

        await Eventually.TrueAsync(() => relay.Output.Contains("SIGHUP is ignored by this process", StringComparison.Ordinal), () => "the warning that SIGHUP is ignored:\n" + relay.Output);
    }

    /// <summary>SIGHUP's bit (signal 1, bit 0) in the SigIgn mask of this process' /proc status; false without /proc.</summary>
    private static bool HangUpIgnoredHere()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return false;
        }

        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 1) != 0;
    }

    private static int Refusals(ServerProcess relay) =>
        relay.Output.Split('\n').Count(l => l.Contains("Configuration reload refused", StringComparison.Ordinal));
}
