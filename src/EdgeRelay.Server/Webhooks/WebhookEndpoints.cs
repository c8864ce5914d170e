using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace EdgeRelay.Server.Webhooks;

/// <summary>
/// What keeps wake-ups from reaching where they must not: the check of an endpoint URL a client registers,
/// and the guarded connect that checks every address a host resolves to at the moment it connects.
/// </summary>
internal static class WebhookEndpoints
{
    /// <summary>
    /// True for addresses no wake-up has business reaching: unspecified, loopback, link-local, private,
    /// shared (carrier-grade NAT), multicast, broadcast and reserved ones, including those carried inside
    /// IPv6 (mapped, compatible, NAT64, 6to4).
    /// </summary>
    public static bool IsInternal(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        if (length == 4)
        {
            return IsInternalV4(bytes[..4]);
        }

        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast)
        {
            return true;
        }

        // ::/96 holds ::, ::1 and the deprecated IPv4-compatible form; ::ffff:0:0/96 the IPv4-mapped one.
        if (bytes[..10].IndexOfAnyExcept((byte)0) < 0)
        {
            var mapped = bytes[10] == 0xFF && bytes[11] == 0xFF;
            return mapped ? IsInternalV4(bytes[12..16]) : bytes[10] == 0 && bytes[11] == 0;
        }

        // 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) reach the IPv4 address they embed.
        if (bytes[..12].SequenceEqual(Nat64Prefix))
        {
            return IsInternalV4(bytes[12..16]);
        }

        return bytes[0] == 0x20 && bytes[1] == 0x02 && IsInternalV4(bytes[2..6]);
    }

    private static ReadOnlySpan<byte> Nat64Prefix => [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0];

    private static bool IsInternalV4(ReadOnlySpan<byte> b) => b[0] switch
    {
        0 or 10 or 127 => true,
        100 => (b[1] & 0xC0) == 64,
        169 => b[1] == 254,
        172 => (b[1] & 0xF0) == 16,
        192 => b[1] == 168 || (b[1] == 0 && b[2] == 0),
        198 => (b[1] & 0xFE) == 18,
        >= 224 => true,
        _ => false,
    };

    public static string? Check(string url, NotifyOptions options)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return "The endpoint is empty.";
        }

        if (url.Length > options.MaxEndpointLength)
        {
            return $"The endpoint is longer than {options.MaxEndpointLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "The endpoint is not an absolute URL.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(options.AllowHttp && uri.Scheme == Uri.UriSchemeHttp))
        {
            return options.AllowHttp ? "The endpoint must be an http or https URL." : "The endpoint must be an https URL.";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "The endpoint must not carry user info.";
        }

        if (uri.Host.Length == 0)
        {
            return "The endpoint has no host.";
        }

        if (!options.AllowPrivateNetworks
            && uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            && IPAddress.TryParse(uri.IdnHost, out var literal)
            && IsInternal(literal))
        {
            return "The endpoint's host is a loopback, private or otherwise internal address.";
        }

        return null;
    }

    public static SocketsHttpHandler CreateGuardedHandler(NotifyOptions options) => new()
    {
        // A redirect would be a second, unchecked URL; push servers do not redirect.
        AllowAutoRedirect = false,

        // Through a proxy the guard would see the proxy's address, not the endpoint's.
        UseProxy = false,

        // Endpoints of different owners may share a host: nothing one answers may reach another's request.
        UseCookies = false,
        ConnectTimeout = options.RequestTimeout,

        // Pooled connections keep the address they were checked with; recycling them follows DNS changes.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),

        // Read at each connect, not here: a reload may change it (Notify:AllowPrivateNetworks is live).
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, options.AllowPrivateNetworks, cancellationToken),
    };

    /// <summary>
    /// Resolves the host and connects to the first address that answers, skipping internal ones unless
    /// allowed: the address checked is the address used, whatever the DNS said a moment earlier.
    /// </summary>
    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowInternal, CancellationToken cancellationToken)
    {
        var host = endPoint.Host.StartsWith('[') ? endPoint.Host[1..^1] : endPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        SocketException? lastError = null;
        foreach (var address in addresses)
        {
            if (!allowInternal && IsInternal(address))
            {
                continue;
            }

            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                lastError = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        if (lastError is not null)
        {
            ExceptionDispatchInfo.Throw(lastError);
        }

        throw addresses.Length == 0 ? new SocketException((int)SocketError.HostNotFound) : new InternalAddressException();
    }

    public static bool IsInternalAddressRefusal(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is InternalAddressException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Thrown by the connect callback when every address of a host is internal; a reason to give up, not to retry.</summary>
    private sealed class InternalAddressException : IOException
    {
        public InternalAddressException()
            : base("Every address of the host is internal.")
        {
        }

        public InternalAddressException(string message)
            : base(message)
        {
        }

        public InternalAddressException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
