using System.Security.Cryptography.X509Certificates;

namespace EdgeRelay.Server;

/// <summary>The TLS and Notify parts of <see cref="ApplyConfiguration"/>.</summary>
public sealed partial class RelayServer
{
    /// <summary>
    /// The Notify options that change live: the notifier and SET_NOTIFY read them at each use. Enabled creates or
    /// removes the notifier, RequestTimeout is fixed in its HTTP client once the first request went out, and
    /// WakeQuietPeriod is fixed in the push hub: those three need a restart.
    /// </summary>
    public static IReadOnlySet<string> LiveNotifyOptions { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(NotifyOptions.MaxAttempts),
        nameof(NotifyOptions.InitialBackoff),
        nameof(NotifyOptions.MaxBackoff),
        nameof(NotifyOptions.MaxQueue),
        nameof(NotifyOptions.AllowHttp),
        nameof(NotifyOptions.AllowPrivateNetworks),
        nameof(NotifyOptions.MaxEndpointLength),
    };

    /// <summary>
    /// Reads the certificate files again when TLS stays on. Turning TLS on or off needs a restart (the listener is
    /// plain or TLS from its start). False, with the problem naming the option, when the certificate does not load.
    /// </summary>
    /// <param name="identity">The certificate to switch to; null when it is the one in use (or TLS is off).</param>
    private bool TryReloadCertificate(TlsOptions reloaded, List<string> applied, List<string> restart, out TlsIdentity? identity, out string problem)
    {
        identity = null;
        problem = "";
        var current = Volatile.Read(ref _tls);
        var changed = Differences("Tls", Options.Tls, reloaded);
        if (current is null || !reloaded.Enabled)
        {
            restart.AddRange(changed);
            return true;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = Tls.RelayCertificates.Load(reloaded);
        }
        catch (InvalidOperationException ex)
        {
            problem = ex.Message;
            return false;
        }

        if (changed.Count == 0 && certificate.RawData.AsSpan().SequenceEqual(current.Certificate.RawData))
        {
            certificate.Dispose();
            return true;
        }

        identity = TlsIdentity.Of(certificate, _alternativeExtensions);
        applied.AddRange(changed.Count > 0 ? changed : ["Tls:CertificatePath"]);
        return true;
    }

    /// <summary>
    /// New handshakes use <paramref name="identity"/> from now on, and new HELLOs and cards carry its pin. The
    /// previous certificate is left to the collector rather than disposed: connections already open hold its
    /// context, and a handshake may be using it this very moment.
    /// </summary>
    private void ApplyCertificate(TlsIdentity identity, TlsOptions reloaded)
    {
        var previous = Volatile.Read(ref _tls)!;
        Volatile.Write(ref _tls, identity);
        Options.Tls.CertificatePath = reloaded.CertificatePath;
        Options.Tls.KeyPath = reloaded.KeyPath;
        Options.Tls.Password = reloaded.Password;
        var path = reloaded.CertificatePath ?? "";
        if (previous.Pin.AsSpan().SequenceEqual(identity.Pin))
        {
            RelayLog.TlsCertificateRenewed(Logger, path, Convert.ToHexStringLower(identity.Pin));
        }
        else
        {
            RelayLog.TlsKeyChanged(Logger, path, Convert.ToHexStringLower(previous.Pin), Convert.ToHexStringLower(identity.Pin));
        }
    }

    /// <summary>
    /// Writes the live Notify options into the section the notifier and the sessions read. Each is one word
    /// written atomically; a reader between two of them sees an old and a new value side by side (a back-off
    /// from the new initial wait and the old maximum, say), which is harmless for one wake-up.
    /// </summary>
    private void ApplyNotify(NotifyOptions reloaded)
    {
        var live = Options.Notify;
        live.MaxAttempts = reloaded.MaxAttempts;
        live.InitialBackoff = reloaded.InitialBackoff;
        live.MaxBackoff = reloaded.MaxBackoff;
        live.MaxQueue = reloaded.MaxQueue;
        live.AllowHttp = reloaded.AllowHttp;
        live.AllowPrivateNetworks = reloaded.AllowPrivateNetworks;
        live.MaxEndpointLength = reloaded.MaxEndpointLength;
    }
}
