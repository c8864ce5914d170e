namespace EdgeRelay.Server;

/// <summary>TLS on the relay endpoint (section "Tls"). Off unless a certificate is named.</summary>
public sealed class TlsOptions
{
    /// <summary>
    /// The relay's certificate: a PEM file (with <see cref="KeyPath"/>, or holding the key too) or a
    /// PKCS#12 file (.pfx/.p12, with <see cref="Password"/> if it has one). Null (default): plain TCP.
    /// <c>edgerelay cert dev</c> makes a self-signed one for testing. The relay announces the SHA-256 of
    /// its public key (the pin) in HELLO and in every card it issues, so senders can pin it without a CA.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="CertificatePath"/> when it is in a file of its own. Keep it mode 0600.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PKCS#12 file or of an encrypted PEM key; null when there is none.</summary>
    public string? Password { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    internal void Validate(List<string> problems)
    {
        if (!Enabled)
        {
            if (!string.IsNullOrWhiteSpace(KeyPath))
            {
                problems.Add("Tls:KeyPath: set, but Tls:CertificatePath is not; name the certificate too.");
            }

            return;
        }

        if (!File.Exists(CertificatePath))
        {
            problems.Add($"Tls:CertificatePath: '{CertificatePath}' does not exist.");
        }

        if (!string.IsNullOrWhiteSpace(KeyPath) && !File.Exists(KeyPath))
        {
            problems.Add($"Tls:KeyPath: '{KeyPath}' does not exist.");
        }
    }
}
