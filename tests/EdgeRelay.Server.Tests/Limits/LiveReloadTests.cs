using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Tls;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>
/// <see cref="RelayServer.ApplyConfiguration"/> with what a reload reads: the connection limits, the Notify
/// options and the TLS certificate change live without dropping anyone; the rest is named as needing a restart.
/// </summary>
public sealed class LiveReloadTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_lowered_connection_limit_refuses_newcomers_and_closes_no_one_and_a_raised_one_admits_them()
    {
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;
        using var owner = new Owner();
        await using var first = await relay.ConnectAsync();
        await using var second = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(first);

        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o => o.Limits.MaxConnections = 1));

        Assert.Equal(["Limits:MaxConnections"], change.Applied);
        Assert.Empty(change.NeedRestart);
        Assert.Empty(change.Problems);
        Assert.Equal(ErrorCode.ConnectionLimit, (await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync())).Code);
        await second.SendAsync(created.Card, "over the new limit"u8.ToArray());
        await first.AuthenticateAsync(created.Id, owner.Key);
        Assert.Equal("over the new limit", Encoding.UTF8.GetString(Assert.Single((await first.PullAsync(created.Id)).Messages).Ciphertext.Span));

        Assert.Equal(["Limits:MaxConnections"], server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o => o.Limits.MaxConnections = 3)).Applied);
        await using var third = await relay.ConnectAsync();
        await third.PingAsync();
    }

    [Fact]
    public async Task Live_Notify_options_apply_at_once_and_the_others_are_named_as_needing_a_restart()
    {
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, owner.Key);
        const string PlainHttp = "http://push.example.org/up/123";
        var before = await Assert.ThrowsAsync<RelayException>(() => rm.SetNotifyEndpointAsync(created.Id, PlainHttp));
        Assert.Equal(ErrorCode.InvalidArgument, before.Code);

        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o =>
        {
            o.Notify.AllowHttp = true;
            o.Notify.MaxAttempts = 3;
            o.Notify.RequestTimeout = TimeSpan.FromSeconds(20);
        }));

        Assert.Equal(["Notify:MaxAttempts", "Notify:AllowHttp"], change.Applied);
        Assert.Equal(["Notify:RequestTimeout"], change.NeedRestart);
        await rm.SetNotifyEndpointAsync(created.Id, PlainHttp);
        Assert.Equal(3, server.Options.Notify.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(10), server.Options.Notify.RequestTimeout);
    }

    [Fact]
    public async Task Options_that_cannot_change_live_are_named_and_left_as_they_are()
    {
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;

        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o =>
        {
            o.Relay.MaxCiphertextBytes = 8192;
            o.Storage.MaxPendingMessagesPerAddress = 10;
            o.Limits.MaxConnectionsPerIp = 5;
        }));

        Assert.Equal(["Limits:MaxConnectionsPerIp"], change.Applied);
        Assert.Equal(["Relay:MaxCiphertextBytes", "Storage:MaxPendingMessagesPerAddress"], change.NeedRestart);
        Assert.Equal(16 * 1024, server.Options.Relay.MaxCiphertextBytes);
        Assert.Equal(5, server.Limits.MaxConnectionsPerIp);
    }

    [Fact]
    public async Task A_certificate_with_a_new_key_serves_new_connections_with_its_pin_and_the_open_ones_keep_working()
    {
        using var old = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        using var replacement = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var (certificatePath, keyPath) = Write(old);
        await using var relay = await TestRelay.StartAsync(o => (o.Tls.CertificatePath, o.Tls.KeyPath) = (certificatePath, keyPath));
        var server = relay.Host.Server;
        using var owner = new Owner();
        await using var open = await relay.ConnectAsync(Pinned(old));
        var created = await owner.CreateAddressAsync(open);

        // Same file names, new contents: the reload reads the files again.
        RelayCertificates.WritePem(replacement, certificatePath, keyPath);
        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, _ => { }));

        Assert.Equal(["Tls:CertificatePath"], change.Applied);
        Assert.Equal(RelayCertificates.Pin(replacement), server.TlsPin);
        await using var fresh = await relay.ConnectAsync(Pinned(replacement));
        Assert.Equal(RelayCertificates.Pin(replacement), fresh.ServerInfo.TlsPin.ToArray());
        Assert.Equal(RelayCertificates.Pin(replacement), RelayTlsOptions.PinOf((await owner.CreateAddressAsync(fresh)).Card).ToArray());
        var stale = await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(Pinned(old)));
        Assert.Contains("pin", stale.Message, StringComparison.Ordinal);

        // The connection opened with the old certificate was not dropped.
        await open.SendAsync(created.Card, "still over the old session"u8.ToArray());
        await open.AuthenticateAsync(created.Id, owner.Key);
        Assert.Equal("still over the old session", Encoding.UTF8.GetString(Assert.Single((await open.PullAsync(created.Id)).Messages).Ciphertext.Span));

        // Reloading again with nothing changed changes nothing.
        Assert.Empty(server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, _ => { })).Applied);
    }

    [Fact]
    public async Task A_renewed_certificate_for_the_same_key_keeps_the_pin_and_new_handshakes_present_it()
    {
        using var old = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        using var renewed = Renew(old);
        var (certificatePath, keyPath) = Write(old);
        await using var relay = await TestRelay.StartAsync(o => (o.Tls.CertificatePath, o.Tls.KeyPath) = (certificatePath, keyPath));
        var server = relay.Host.Server;
        Assert.Equal(old.Thumbprint, await PresentedThumbprintAsync(relay));

        var renewedPath = _temp.Combine("renewed.crt");
        var renewedKey = _temp.Combine("renewed.key");
        RelayCertificates.WritePem(renewed, renewedPath, renewedKey);
        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o => (o.Tls.CertificatePath, o.Tls.KeyPath) = (renewedPath, renewedKey)));

        Assert.Equal(["Tls:CertificatePath", "Tls:KeyPath"], change.Applied);
        Assert.Equal(RelayCertificates.Pin(old), server.TlsPin);
        Assert.Equal(renewed.Thumbprint, await PresentedThumbprintAsync(relay));
        await using var client = await relay.ConnectAsync(Pinned(old)); // a card's pin still reaches it
        await client.PingAsync();
    }

    [Fact]
    public async Task A_certificate_that_does_not_load_refuses_the_whole_reload_naming_the_option()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var (certificatePath, keyPath) = Write(certificate);
        await using var relay = await TestRelay.StartAsync(o => (o.Tls.CertificatePath, o.Tls.KeyPath) = (certificatePath, keyPath));
        var server = relay.Host.Server;
        await using var open = await relay.ConnectAsync(Pinned(certificate));

        await File.WriteAllTextAsync(certificatePath, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o => o.Limits.MaxConnections = 1));

        Assert.Empty(change.Applied);
        Assert.StartsWith("Tls:CertificatePath:", Assert.Single(change.Problems), StringComparison.Ordinal);
        Assert.Equal(10_000, server.Limits.MaxConnections); // nothing of that reload applied
        await open.PingAsync();
        await using var fresh = await relay.ConnectAsync(Pinned(certificate)); // still the certificate it had
        await fresh.PingAsync();
    }

    [Fact]
    public async Task Turning_TLS_on_needs_a_restart()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var (certificatePath, keyPath) = Write(certificate);
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;

        var change = server.ApplyConfiguration(SendRateTests.Reloaded(server.Options, o => (o.Tls.CertificatePath, o.Tls.KeyPath) = (certificatePath, keyPath)));

        Assert.Empty(change.Applied);
        Assert.Equal(["Tls:CertificatePath", "Tls:KeyPath"], change.NeedRestart);
        Assert.Empty(server.TlsPin);
        await using var plain = await relay.ConnectAsync();
        await plain.PingAsync();
    }

    private (string Certificate, string Key) Write(X509Certificate2 certificate)
    {
        var name = Guid.NewGuid().ToString("N");
        var paths = (_temp.Combine(name + ".crt"), _temp.Combine(name + ".key"));
        RelayCertificates.WritePem(certificate, paths.Item1, paths.Item2);
        return paths;
    }

    private static RelayClientOptions Pinned(X509Certificate2 certificate) =>
        new() { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = RelayCertificates.Pin(certificate) } };

    /// <summary>A new certificate for the key of <paramref name="existing"/>, as a renewal by a CA would be.</summary>
    internal static X509Certificate2 Renew(X509Certificate2 existing)
    {
        using var key = existing.GetECDsaPrivateKey()!;
        var request = new CertificateRequest("CN=127.0.0.1 renewed", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    /// <summary>The certificate a new TLS handshake with the relay endpoint presents.</summary>
    private static async Task<string> PresentedThumbprintAsync(TestRelay relay)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(relay.Host.RelayEndPoint);
        string? presented = null;

        // Trusted or not, the handshake is only here to show which certificate the relay presents.
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            presented = certificate?.GetCertHashString();
            return presented is not null;
        });
        await tls.AuthenticateAsClientAsync("127.0.0.1").WaitAsync(Eventually.DefaultDeadline);
        return presented!;
    }
}
