using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Tls;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>TLS on the relay endpoint: pinned by the key the relay announces and puts in its cards, or trusted through a CA.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_sender_holding_only_a_card_pins_the_relay_key_it_names()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var pin = RelayCertificates.Pin(certificate);
        await using var relay = await StartWithAsync(certificate);
        using var owner = new Owner();

        await using var rm = await relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = pin } });
        Assert.Equal(pin, rm.ServerInfo.TlsPin.ToArray()); // announced in HELLO
        var created = await owner.CreateAddressAsync(rm);
        Assert.Equal(pin, RelayTlsOptions.PinOf(created.Card).ToArray()); // and in every card

        // A correspondent knows nothing but the card: it pins the key the card names.
        var card = Addressing.AddressCard.Parse(created.Card.ToString());
        await using (var sender = await RelayClient.ConnectAsync(relay.Host.RelayEndPoint, RelayClientOptions.ForCard(card)))
        {
            await sender.SendAsync(card, "over tls"u8.ToArray());
        }

        await rm.AuthenticateAsync(created.Id, owner.Key);
        var pulled = await rm.PullAsync(created.Id);
        Assert.Equal("over tls", Encoding.UTF8.GetString(Assert.Single(pulled.Messages).Ciphertext.Span));

        // A renewed card carries the pin too.
        Assert.Equal(pin, RelayTlsOptions.PinOf((await rm.RenewAddressAsync(created.Id)).Card).ToArray());
    }

    [Fact]
    public async Task A_wrong_pin_or_no_trust_or_plain_tcp_is_refused()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        await using var relay = await StartWithAsync(certificate);

        var wrong = RelayCertificates.Pin(certificate);
        wrong[0] ^= 1;
        var pinError = await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = wrong } }));
        Assert.Contains("pin", pinError.Message, StringComparison.Ordinal);

        // Self-signed and not pinned: the system's authorities do not know it.
        var untrusted = await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions() }));
        Assert.IsType<AuthenticationException>(untrusted.InnerException);

        // Plain TCP to a TLS endpoint: the relay's TLS layer cannot read the plaintext HELLO as a TLS hello
        // and closes the connection, with no HELLO reply nor any frame. The connect timeout is far longer
        // than that takes, so a relay that kept the connection open in silence would fail here as a
        // timeout (OperationCanceledException), not pass, and a busy machine cannot turn the close into one.
        var plain = await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(new RelayClientOptions { ConnectTimeout = Eventually.DefaultDeadline }));
        Assert.Equal(ErrorCode.None, plain.Code); // the connection failed; the relay sent no ERROR frame
        Assert.True(plain.ConnectionClosed);
        Assert.Contains("requires TLS", plain.Reason, StringComparison.Ordinal); // the close before HELLO is explained

        // None of it affects a correctly pinned client: it connects, and the relay stores and returns a message.
        await using var good = await relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = RelayCertificates.Pin(certificate) } });
        await good.PingAsync();
        using var owner = new Owner();
        var created = await owner.CreateAddressAsync(good);
        await good.SendAsync(created.Card, "after the refusals"u8.ToArray());
        await good.AuthenticateAsync(created.Id, owner.Key);
        Assert.Equal("after the refusals", Encoding.UTF8.GetString(Assert.Single((await good.PullAsync(created.Id)).Messages).Ciphertext.Span));
    }

    [Fact]
    public async Task A_relay_certificate_from_a_private_ca_is_trusted_through_that_ca_only()
    {
        using var authority = RelayCertificates.CreateSelfSigned(["edgerelay-test-ca"], TimeSpan.FromDays(2), isAuthority: true);
        using var leaf = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1), issuer: authority);
        using var otherAuthority = RelayCertificates.CreateSelfSigned(["another-ca"], TimeSpan.FromDays(2), isAuthority: true);
        await using var relay = await StartWithAsync(leaf);

        using var trusted = X509CertificateLoader.LoadCertificate(authority.RawData); // the public part only
        await using (var client = await relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { TrustedAuthorities = [trusted] } }))
        {
            await client.PingAsync();
        }

        using var other = X509CertificateLoader.LoadCertificate(otherAuthority.RawData);
        await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { TrustedAuthorities = [other] } }));

        // The name is checked too: the certificate is for 127.0.0.1, not for this name.
        await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { TrustedAuthorities = [trusted], TargetHost = "relay.example" } }));
    }

    [Fact]
    public async Task Cert_dev_writes_a_usable_certificate_a_private_key_file_and_prints_the_pin()
    {
        var output = await ServerProcess.RunWithOutputAsync("cert", "dev", "--out", _temp.Path, "--host", "127.0.0.1");
        Assert.Equal(0, output.ExitCode);
        var certificatePath = Path.Combine(_temp.Path, "relay.crt");
        var keyPath = Path.Combine(_temp.Path, "relay.key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }

        using var loaded = RelayCertificates.Load(new TlsOptions { CertificatePath = certificatePath, KeyPath = keyPath });
        Assert.Contains(Convert.ToHexStringLower(RelayCertificates.Pin(loaded)), output.Stdout, StringComparison.Ordinal);

        var ok = await ServerProcess.RunWithOutputAsync("check-config", "--Tls:CertificatePath=" + certificatePath, "--Tls:KeyPath=" + keyPath);
        Assert.Equal(0, ok.ExitCode);
        var missing = await ServerProcess.RunWithOutputAsync("check-config", "--Tls:CertificatePath=" + Path.Combine(_temp.Path, "absent.crt"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Tls:CertificatePath", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_TLS_to_a_TLS_relay_and_one_with_TLS_to_a_plain_relay_are_told_so()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        await using (var tlsRelay = await StartWithAsync(certificate))
        {
            var plain = await Assert.ThrowsAsync<RelayException>(() => tlsRelay.ConnectAsync(new RelayClientOptions()));
            Assert.Contains("requires TLS", plain.Message, StringComparison.Ordinal);
        }

        await using var plainRelay = await TestRelay.StartAsync();
        var pinned = await Assert.ThrowsAsync<RelayException>(() => plainRelay.ConnectAsync(new RelayClientOptions { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = RelayCertificates.Pin(certificate) } }));
        Assert.Contains("does not speak TLS", pinned.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_whose_key_does_not_match_the_pin_is_reported_not_passed_over_for_the_next()
    {
        using var certificate = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        using var impostor = RelayCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        await using var relay = await StartWithAsync(certificate);
        await using var other = await StartWithAsync(impostor);
        var options = new RelayClientOptions { Tls = new RelayTlsOptions { PinnedPublicKeySha256 = RelayCertificates.Pin(certificate) } };

        // The second endpoint would take the connection: the mismatch on the first is thrown all the same.
        var mismatch = await Assert.ThrowsAsync<RelayException>(() => RelayClient.ConnectAnyAsync([other.Endpoint, relay.Endpoint], options));
        Assert.True(mismatch.CertificateRejected);
        Assert.False(RelayClient.IsUnreachable(mismatch));

        // A node that is down is passed over, with the same pin held on the next.
        using var down = Forwarding.RefusingPort.Bind();
        await using var client = await RelayClient.ConnectAnyAsync([down.Endpoint, relay.Endpoint], options);
        Assert.Equal(RelayCertificates.Pin(certificate), client.ServerInfo.TlsPin.ToArray());
    }

    private async Task<TestRelay> StartWithAsync(X509Certificate2 certificate)
    {
        var name = Guid.NewGuid().ToString("N");
        var certificatePath = Path.Combine(_temp.Path, name + ".crt");
        var keyPath = Path.Combine(_temp.Path, name + ".key");
        RelayCertificates.WritePem(certificate, certificatePath, keyPath);
        return await TestRelay.StartAsync(o =>
        {
            o.Tls.CertificatePath = certificatePath;
            o.Tls.KeyPath = keyPath;
        });
    }
}
