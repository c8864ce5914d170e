using System.Diagnostics;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// config/edgerelay.service read as systemd reads it (sections, repeated keys, the last assignment of a
/// single-valued key wins), and handed to <c>systemd-analyze verify</c> where that is installed.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private const string UnitPath = "config/edgerelay.service";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static Dictionary<string, List<string>> Section(string name)
    {
        var entries = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string? section = null;
        foreach (var raw in File.ReadAllLines(ContainerTests.RepositoryFile(UnitPath)))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                section = line[1..^1];
                continue;
            }

            Assert.False(line.EndsWith('\\'), "continued lines are not used in the unit, so this reader does not join them");
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"not a directive: {line}");
            if (section == name)
            {
                var key = line[..equals].Trim();
                if (!entries.TryGetValue(key, out var values))
                {
                    entries[key] = values = [];
                }

                values.Add(line[(equals + 1)..].Trim());
            }
        }

        return entries;
    }

    [Fact]
    public void The_unit_runs_the_relay_as_a_dynamic_user_confined_to_its_state_directory()
    {
        var service = Section("Service");
        string Last(string key) => Assert.Contains(key, (IDictionary<string, List<string>>)service)[^1];

        // The relay sends READY=1 once it listens (SystemdNotifyTests), so units ordered after it find it ready.
        Assert.Equal("notify", Last("Type"));
        Assert.False(service.TryGetValue("NotifyAccess", out var access) && access[^1] is "none", "the relay's own READY=1 must be accepted");
        Assert.True(int.Parse(Last("TimeoutStartSec"), System.Globalization.CultureInfo.InvariantCulture) >= 90, "a long log recovery must not be killed as a failed start");
        Assert.Equal("yes", Last("DynamicUser"));
        Assert.Equal("edgerelay", Last("StateDirectory"));
        Assert.Equal("0700", Last("StateDirectoryMode"));
        Assert.Contains("EDGERELAY_Storage__DataDir=%S/edgerelay", service["Environment"]);
        Assert.Equal("strict", Last("ProtectSystem"));
        Assert.Equal("yes", Last("ProtectHome"));
        Assert.Equal("yes", Last("PrivateTmp"));
        Assert.Equal("yes", Last("NoNewPrivileges"));
        Assert.Equal("yes", Last("PrivateDevices"));
        Assert.Equal("0077", Last("UMask"));

        // An empty assignment resets the set: the relay keeps no capability.
        Assert.Equal(string.Empty, Last("CapabilityBoundingSet"));
        Assert.Equal(string.Empty, Last("AmbientCapabilities"));
        Assert.Equal(["AF_INET", "AF_INET6", "AF_UNIX"], Last("RestrictAddressFamilies").Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Contains("@system-service", service["SystemCallFilter"]);

        // The JIT needs writable, then executable memory.
        Assert.False(service.ContainsKey("MemoryDenyWriteExecute"), "MemoryDenyWriteExecute stops the .NET JIT");

        // A drain takes up to Relay:ShutdownTimeout (10 s by default); systemd must not SIGKILL it earlier.
        Assert.Equal("SIGTERM", Last("KillSignal"));
        Assert.True(int.Parse(Last("TimeoutStopSec"), System.Globalization.CultureInfo.InvariantCulture) > 10);

        Assert.StartsWith("/", Last("ExecStart"), StringComparison.Ordinal);
        Assert.Contains("edgerelay.dll", Last("ExecStart"), StringComparison.Ordinal);

        // systemctl reload sends what the relay reloads on (ConfigurationReloader listens for SIGHUP).
        Assert.Equal("/bin/kill -HUP $MAINPID", Last("ExecReload"));
        Assert.Equal(["multi-user.target"], Section("Install")["WantedBy"]);
    }

    [SkippableFact]
    public async Task Systemd_analyze_verifies_the_unit_where_it_is_installed()
    {
        var analyze = PrometheusServer.Find("systemd-analyze");
        Skip.If(analyze is null, "systemd-analyze is not installed");

        // verify also checks that ExecStart's program exists, and where the tests run the relay is not
        // installed in /opt; only that path is changed, to a program that exists (the one running the tests).
        var text = await File.ReadAllTextAsync(ContainerTests.RepositoryFile(UnitPath));
        var execStart = text.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var program = execStart["ExecStart=".Length..].Split(' ')[0];
        var unit = Path.Combine(_temp.Path, "edgerelay.service");
        await File.WriteAllTextAsync(unit, File.Exists(program) ? text : text.Replace(execStart, execStart.Replace(program, Environment.ProcessPath!, StringComparison.Ordinal), StringComparison.Ordinal));

        var info = new ProcessStartInfo(analyze!, ["verify", unit]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"systemd-analyze verify failed: {await stdout}{await stderr}");
        Assert.Equal(string.Empty, (await stderr).Trim());
    }
}
