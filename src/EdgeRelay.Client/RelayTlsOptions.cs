using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

/// <summary>
/// TLS to a relay, and how its certificate is trusted: by a pin (the SHA-256 of its public key, as the
/// relay's address cards carry it), by given certificate authorities, or by the system's.
/// </summary>
public sealed class RelayTlsOptions
{
    /// <summary>The name sent in SNI and checked against the certificate when trusting by authority. Default: the endpoint's host.</summary>
    public string? TargetHost { get; set; }

    /// <summary>
    /// SHA-256 of the relay certificate's SubjectPublicKeyInfo (32 bytes). When set, exactly that key is
    /// accepted and no authority is consulted: a self-signed relay is as safe as a CA-signed one.
    /// </summary>
    public ReadOnlyMemory<byte> PinnedPublicKeySha256 { get; set; }

    /// <summary>Authorities to trust instead of the system's (a private CA). Ignored when a pin is set.</summary>
    public X509Certificate2Collection? TrustedAuthorities { get; set; }

    /// <summary>The pin an address card carries, if any (its TLS pin extension).</summary>
    public static ReadOnlyMemory<byte> PinOf(AddressCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        foreach (var extension in card.Extensions)
        {
            if (extension.Type == ProtocolConstants.TlsPinExtension && extension.Value.Length == ProtocolConstants.TlsPinLength)
            {
                return extension.Value;
            }
        }

        return ReadOnlyMemory<byte>.Empty;
    }

    internal bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        if (!PinnedPublicKeySha256.IsEmpty)
        {
            using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var pin = SHA256.HashData(presented.PublicKey.ExportSubjectPublicKeyInfo());
            return CryptographicOperations.FixedTimeEquals(pin, PinnedPublicKeySha256.Span);
        }

        if (TrustedAuthorities is { Count: > 0 })
        {
            if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }

            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(TrustedAuthorities);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            }

            using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return custom.Build(presented);
        }

        return errors == SslPolicyErrors.None;
    }
}
