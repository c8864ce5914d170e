using System.Diagnostics;
using System.Globalization;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Tls;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>The real executable: after its configuration file and certificate are edited, SIGHUP applies both without dropping anyone.</summary>
public sealed class ReloadProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task SIGHUP_after_an_edit_gives_new_connections_the_new_certificate_and_limit_and_keeps_the_open_one()
    {
        Skip.If(OperatingSystem.IsWindows(), "SIGHUP is POSIX");
        Skip.If(HangUpIgnoredHere(), "this process ignores SIGHUP, and a relay it starts inherits that");
        using var old = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        using var replacement = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var certificatePath = _dir.Combine("relay.crt");
        var keyPath = _dir.Combine("relay.key");
        RelayCertificates.WritePem(old, certificatePath, keyPath);
        var config = _dir.Combine("edgerelay.json");
        await File.WriteAllTextAsync(config, Configuration(certificatePath, keyPath, maxConnections: 10));
        await using var relay = await ServerProcess.StartAsync(_dir.Combine("data"), "--config", config);
        await using var open = await RelayClient.ConnectAsync(relay.RelayEndPoint, Pinned(old));
        using var owner = new Owner();
        var created = await owner.CreateAddressAsync(open);

        RelayCertificates.WritePem(replacement, certificatePath, keyPath);
        await File.WriteAllTextAsync(config, Configuration(certificatePath, keyPath, maxConnections: 2));
        using (var kill = Process.Start("kill", ["-HUP", relay.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        var newPin = Convert.ToHexStringLower(RelayCertificates.Pin(replacement));
        await Eventually.TrueAsync(() => relay.Output.Contains(newPin, StringComparison.Ordinal) && relay.Output.Contains("Limits:MaxConnections", StringComparison.Ordinal), () => "the reload of the certificate and the limit in the log:\n" + relay.Output);
        Assert.Contains("NEW KEY", relay.Output, StringComparison.Ordinal);

        // A new connection gets the new certificate; the one opened before keeps its session.
        await using var fresh = await RelayClient.ConnectAsync(relay.RelayEndPoint, Pinned(replacement));
        Assert.Equal(RelayCertificates.Pin(replacement), fresh.ServerInfo.TlsPin.ToArray());
        await open.SendAsync(created.Card, "after the reload"u8.ToArray());
        await open.AuthenticateAsync(created.Id, owner.Key);
        Assert.Single((await open.PullAsync(created.Id)).Messages);

        // Two connections are open: the new limit refuses a third.
        var refused = await Assert.ThrowsAsync<RelayException>(() => RelayClient.ConnectAsync(relay.RelayEndPoint, Pinned(replacement)));
        Assert.Equal(ErrorCode.ConnectionLimit, refused.Code);
        await fresh.PingAsync();
    }

    private static string Configuration(string certificatePath, string keyPath, int maxConnections) => $$"""
        {
          "Tls": { "CertificatePath": "{{certificatePath}}", "KeyPath": "{{keyPath}}" },
          "Limits": { "MaxConnections": {{maxConnections}}, "MaxConnectionsPerIp": 0 }
        }
        """;

    private static RelayClientOptions Pinned(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        new() { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = RelayCertificates.Pin(certificate) } };

    private static bool HangUpIgnoredHere()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return false;
        }

        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 1) != 0;
    }
}
