using EdgeRelay.Addressing;

namespace EdgeRelay.Server;

public sealed partial class RelayEndpointOptions
{
    /// <summary>
    /// The other nodes of this relay's service, "host:port" each as senders reach them, written into every card this
    /// relay issues and into HELLO_REPLY after its own endpoint (card extension 2), in this order: senders and owners
    /// try them in turn when a node is down. Default: none (a relay on one node). Only for nodes that share this one's
    /// service key and store (Storage:Backend "jetstream"): a SEND_VIA to any of them is delivered here. At most 8,
    /// each 1 to 255 bytes of UTF-8, none repeating the card endpoint (Relay:PublicEndpoint, else Relay:Endpoint) or
    /// another. In JSON an array; in a variable or on the command line one key per entry, by its index
    /// (<c>EDGERELAY_Relay__AlternativeEndpoints__0</c>, <c>--Relay:AlternativeEndpoints:1=host:port</c>).
    /// </summary>
    public List<string> AlternativeEndpoints { get; set; } = [];

    private void ValidateAlternativeEndpoints(List<string> problems)
    {
        const string name = "Relay:AlternativeEndpoints";
        if (AlternativeEndpoints.Count == 0)
        {
            return;
        }

        if (AlternativeEndpoints.Count > AddressCard.MaxAlternativeEndpoints)
        {
            problems.Add($"{name}: {AlternativeEndpoints.Count} endpoints; a card names at most {AddressCard.MaxAlternativeEndpoints}.");
            return;
        }

        var before = problems.Count;
        var cardEndpoint = PublicEndpoint ?? Endpoint;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { cardEndpoint };
        var extensions = new List<AddressCardExtension>();
        for (var i = 0; i < AlternativeEndpoints.Count; i++)
        {
            var alternative = AlternativeEndpoints[i];
            try
            {
                extensions.Add(AddressCard.AlternativeEndpoint(alternative ?? ""));
            }
            catch (ArgumentException)
            {
                problems.Add($"{name}:{i}: '{alternative}' is not an endpoint a card can name: use host:port of 1 to 255 bytes, an IPv6 address in brackets ([2001:db8::1]:7400), a port from 1 to 65535.");
                continue;
            }

            if (!seen.Add(alternative!))
            {
                problems.Add(string.Equals(alternative, cardEndpoint, StringComparison.OrdinalIgnoreCase)
                    ? $"{name}:{i}: '{alternative}' is this relay's own card endpoint (Relay:PublicEndpoint, else Relay:Endpoint); list only the other nodes."
                    : $"{name}:{i}: '{alternative}' is listed twice.");
            }
        }

        if (problems.Count > before || cardEndpoint.Length is 0 or > AddressCard.MaxEndpointLength)
        {
            return;
        }

        // The longest card this relay can issue (with a TLS pin) must still be a valid card.
        extensions.Add(new AddressCardExtension(Protocol.ProtocolConstants.TlsPinExtension, new byte[Protocol.ProtocolConstants.TlsPinLength]));
        try
        {
            _ = new AddressCard(new AddressId(1, 1), 0, new byte[32], cardEndpoint, extensions);
        }
        catch (ArgumentException e) when (e.ParamName == "extensions")
        {
            problems.Add($"{name}: with them a card would be longer than {AddressCard.MaxEncodedLength} bytes; use shorter names or fewer endpoints.");
        }
        catch (ArgumentException)
        {
            // The card endpoint itself is not host:port: Relay:PublicEndpoint's own check says so.
        }
    }
}
