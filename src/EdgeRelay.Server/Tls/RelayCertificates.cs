using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeRelay.Server.Tls;

/// <summary>Loading the relay's TLS certificate, its pin, and the self-signed certificates of <c>edgerelay cert dev</c>.</summary>
public static class RelayCertificates
{
    /// <summary>Loads the certificate with its private key, as Kestrel needs it; the message names the option at fault.</summary>
    /// <exception cref="InvalidOperationException">The file does not load, or has no private key.</exception>
    public static X509Certificate2 Load(TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.CertificatePath ?? throw new InvalidOperationException("Tls:CertificatePath is not set.");
        X509Certificate2 certificate;
        try
        {
            var extension = Path.GetExtension(path);
            if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.Password);
            }
            else if (options.Password is not null)
            {
                certificate = X509Certificate2.CreateFromEncryptedPemFile(path, options.Password, options.KeyPath);
            }
            else
            {
                certificate = X509Certificate2.CreateFromPemFile(path, options.KeyPath);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException)
        {
            throw new InvalidOperationException($"Tls:CertificatePath: '{path}' could not be loaded with its key ({ex.Message}).", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidOperationException($"Tls:CertificatePath: '{path}' has no private key; name it in Tls:KeyPath.");
        }

        return certificate;
    }

    /// <summary>
    /// The pin: SHA-256 of the certificate's SubjectPublicKeyInfo. It names the key, not the certificate,
    /// so renewing a certificate for the same key keeps every card that carries the pin valid.
    /// </summary>
    public static byte[] Pin(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>
    /// A self-signed ECDSA P-256 certificate for <paramref name="hosts"/> (names or IP addresses), valid
    /// from a day ago (clock skew) until <paramref name="validFor"/> from now; signed by
    /// <paramref name="issuer"/> instead when one is given. For testing and for relays whose senders pin.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned(IReadOnlyCollection<string> hosts, TimeSpan validFor, X509Certificate2? issuer = null, bool isAuthority = false)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + (hosts.FirstOrDefault() ?? "edgerelay"), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        if (hosts.Count > 0)
        {
            request.CertificateExtensions.Add(names.Build());
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isAuthority, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            isAuthority ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign : X509KeyUsageFlags.DigitalSignature, true));
        if (!isAuthority)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // server auth
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.Add(validFor);
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(issuer, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificate and its key as PEM files; the key file is created with mode 0600.</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("Only ECDSA keys are written.");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(keyPath, options);
        using var writer = new StreamWriter(stream);
        writer.Write(key.ExportPkcs8PrivateKeyPem());
    }
}
