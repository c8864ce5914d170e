using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

/// <summary>
/// The parts of the relay's state that a reload replaces while connections run: the abuse limits and the TLS
/// certificate. Each is one immutable object behind a volatile field, so a reader (a connection being admitted,
/// a SEND, a TLS handshake, a HELLO, a new card) takes one consistent set of values without a lock.
/// </summary>
public sealed partial class RelayServer
{
    private LimitsOptions _limits = null!;
    private TlsIdentity? _tls;
    private readonly AddressCardExtension[] _alternativeExtensions;

    /// <summary>The abuse limits in effect (reloadable).</summary>
    public LimitsOptions Limits => Volatile.Read(ref _limits);

    /// <summary>The relay endpoint's connections, in all and per IP address, counted against <see cref="Limits"/>.</summary>
    public ConnectionLimiter Connections { get; } = new();

    /// <summary>The whole relay's budget of signature checks (AUTH claims, REVOKE_ADDRESS), drawn on after each connection's own.</summary>
    public SignatureCheckBudget SignatureChecks { get; }

    /// <summary>The relay endpoint's TLS certificate for new handshakes (reloadable); null when it speaks plain TCP.</summary>
    public X509Certificate2? TlsCertificate => Volatile.Read(ref _tls)?.Certificate;

    /// <summary>SHA-256 of the current certificate's public key, announced in HELLO and in cards; empty without TLS.</summary>
    public byte[] TlsPin => Volatile.Read(ref _tls)?.Pin ?? [];

    /// <summary>Extensions written into every card this relay issues: the TLS pin, when there is one, then the alternative endpoints.</summary>
    internal AddressCardExtension[] CardExtensions => Volatile.Read(ref _tls)?.CardExtensions ?? _alternativeExtensions;

    /// <summary>What a TLS handshake on the relay endpoint uses: the current certificate, as Kestrel's handshake callback asks for it.</summary>
    public SslServerAuthenticationOptions? TlsAuthentication => Volatile.Read(ref _tls)?.Authentication;

    /// <summary>A certificate with everything derived from it, built once per certificate rather than per handshake.</summary>
    private sealed class TlsIdentity
    {
        private TlsIdentity(X509Certificate2 certificate, AddressCardExtension[] alternatives)
        {
            Certificate = certificate;
            Pin = Tls.RelayCertificates.Pin(certificate);
            CardExtensions = [new AddressCardExtension(ProtocolConstants.TlsPinExtension, Pin), .. alternatives];
            Authentication = new SslServerAuthenticationOptions
            {
                // The chain is built here once; Kestrel's certificate selector would build it at every handshake.
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            };
        }

        public X509Certificate2 Certificate { get; }

        public byte[] Pin { get; }

        public AddressCardExtension[] CardExtensions { get; }

        public SslServerAuthenticationOptions Authentication { get; }

        public static TlsIdentity Of(X509Certificate2 certificate, AddressCardExtension[] alternatives) => new(certificate, alternatives);
    }
}
