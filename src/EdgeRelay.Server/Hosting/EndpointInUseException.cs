using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace EdgeRelay.Server;

/// <summary>
/// A listening endpoint is taken by another process. Kestrel's own message calls every endpoint http://, the
/// binary relay port included; this one names the option, the endpoint as configured and what it speaks.
/// </summary>
public sealed class EndpointInUseException : IOException
{
    private EndpointInUseException(string option, string endPoint, string protocol, Exception inner)
        : base($"{option} {endPoint} ({protocol}) is already in use by another process.", inner)
    {
        Option = option;
        EndPoint = endPoint;
        Protocol = protocol;
    }

    public EndpointInUseException()
    {
        Option = EndPoint = Protocol = string.Empty;
    }

    public EndpointInUseException(string message)
        : base(message)
    {
        Option = EndPoint = Protocol = string.Empty;
    }

    public EndpointInUseException(string message, Exception inner)
        : base(message, inner)
    {
        Option = EndPoint = Protocol = string.Empty;
    }

    /// <summary>The option that set the endpoint: Relay:Endpoint or Http:Endpoint.</summary>
    public string Option { get; }

    public string EndPoint { get; }

    public string Protocol { get; }

    /// <summary>The endpoint a failed start could not bind, or null when the failure was something else.</summary>
    internal static EndpointInUseException? Find(Exception failure, IPEndPoint relay, IPEndPoint http, bool tls)
    {
        if (!IsAddressInUse(failure))
        {
            return null;
        }

        // Kestrel binds in the order the endpoints were declared (relay first) and names the one that failed
        // in its message as "scheme://address:port:".
        var messages = string.Join('\n', Chain(failure).Select(e => e.Message));
        if (Names(messages, relay))
        {
            return new EndpointInUseException("Relay:Endpoint", relay.ToString(), tls ? "the relay's binary protocol over TLS" : "the relay's binary protocol over TCP", failure);
        }

        return Names(messages, http)
            ? new EndpointInUseException("Http:Endpoint", "http://" + http, "HTTP: health, metrics, attachments", failure)
            : null;
    }

    private static bool Names(string message, IPEndPoint endPoint) =>
        endPoint.Port != 0 && message.Contains("//" + endPoint + ":", StringComparison.Ordinal);

    private static bool IsAddressInUse(Exception failure) =>
        Chain(failure).Any(e => e is AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse });

    private static IEnumerable<Exception> Chain(Exception failure)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
