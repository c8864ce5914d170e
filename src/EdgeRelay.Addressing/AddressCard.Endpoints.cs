using System.Text;

namespace EdgeRelay.Addressing;

/// <summary>
/// The other endpoints of the same service (extension type 2): a service that runs on several nodes names
/// each node, so that senders and owners still reach it when one is down.
/// </summary>
public sealed partial class AddressCard
{
    /// <summary>Extension type of an alternative endpoint: UTF-8 "host:port", the rules of the main endpoint.</summary>
    public const byte AlternativeEndpointExtension = 2;

    /// <summary>
    /// Most alternative endpoints one card may name. Eight covers any service a sender should try in turn (each
    /// unreachable node can cost a connect timeout). The card as a whole stays within <see cref="MaxEncodedLength"/>
    /// too: eight alternatives of up to 210 bytes each fit beside a 255-byte main endpoint and the pin.
    /// </summary>
    public const int MaxAlternativeEndpoints = 8;

    private readonly string[] _alternatives;

    /// <summary>
    /// The service's other endpoints, in the order its operator listed them. Every one reaches the same service
    /// (the same <see cref="ServicePublicKey"/> and TLS pin): a sender that cannot connect to
    /// <see cref="Endpoint"/> tries them in turn.
    /// </summary>
    public IReadOnlyList<string> AlternativeEndpoints => _alternatives;

    /// <summary><see cref="Endpoint"/> followed by <see cref="AlternativeEndpoints"/>: the order to try them in.</summary>
    public IReadOnlyList<string> Endpoints => [Endpoint, .. _alternatives];

    /// <summary>The extension naming <paramref name="endpoint"/> as an alternative endpoint of the card's service.</summary>
    /// <exception cref="ArgumentException">Not "host:port" of 1 to 255 bytes of UTF-8.</exception>
    public static AddressCardExtension AlternativeEndpoint(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var error = ValidateEndpoint(endpoint, out _);
        if (error is not null)
        {
            throw new ArgumentException("Alternative endpoint: " + error, nameof(endpoint));
        }

        return new AddressCardExtension(AlternativeEndpointExtension, StrictUtf8.GetBytes(endpoint));
    }

    /// <summary>
    /// The same card (address, expiry, key, every other extension) with <paramref name="endpoint"/>, one of
    /// <see cref="Endpoints"/>, as its main endpoint and the others after it in their order: the card that node of
    /// the service would have issued. A client that sends through a sending service (SEND_VIA names one endpoint)
    /// uses it to name the next node when the first does not take the message.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is none of this card's endpoints.</exception>
    public AddressCard StartingAt(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var endpoints = Endpoints;
        var index = -1;
        for (var i = 0; i < endpoints.Count && index < 0; i++)
        {
            if (string.Equals(endpoints[i], endpoint, StringComparison.Ordinal))
            {
                index = i;
            }
        }

        if (index < 0)
        {
            throw new ArgumentException($"\"{endpoint}\" is none of the card's endpoints.", nameof(endpoint));
        }

        if (index == 0)
        {
            return this;
        }

        var extensions = new List<AddressCardExtension>(_extensions.Length + 1);
        foreach (var extension in _extensions)
        {
            if (extension.Type != AlternativeEndpointExtension)
            {
                extensions.Add(extension);
            }
        }

        for (var i = 0; i < endpoints.Count; i++)
        {
            if (i != index)
            {
                extensions.Add(AlternativeEndpoint(endpoints[i]));
            }
        }

        return new AddressCard(Aid, ExpiresAtUnixSeconds, _servicePublicKey, endpoints[index], extensions);
    }

    /// <summary>
    /// The card's alternative endpoints, or why they are refused: each must be an endpoint as the main one is,
    /// none may repeat the main endpoint or another (ignoring case, as local delivery compares endpoints), and
    /// there may be at most <see cref="MaxAlternativeEndpoints"/>. The decoder refuses such a card outright rather
    /// than dropping the bad entries, as it refuses any other malformed field of a card from a stranger.
    /// </summary>
    private static string? ReadAlternatives(string endpoint, AddressCardExtension[] extensions, out string[] alternatives)
    {
        alternatives = [];
        List<string>? found = null;
        foreach (var extension in extensions)
        {
            if (extension.Type != AlternativeEndpointExtension)
            {
                continue;
            }

            found ??= [];
            if (found.Count == MaxAlternativeEndpoints)
            {
                return $"more than {MaxAlternativeEndpoints} alternative endpoints.";
            }

            string alternative;
            try
            {
                alternative = StrictUtf8.GetString(extension.Value.Span);
            }
            catch (DecoderFallbackException)
            {
                return "an alternative endpoint is not valid UTF-8.";
            }

            if (ValidateEndpoint(alternative, out _) is { } error)
            {
                return "alternative endpoint: " + error;
            }

            if (string.Equals(alternative, endpoint, StringComparison.OrdinalIgnoreCase)
                || found.Contains(alternative, StringComparer.OrdinalIgnoreCase))
            {
                return $"the endpoint \"{alternative}\" is named twice.";
            }

            found.Add(alternative);
        }

        if (found is not null)
        {
            alternatives = [.. found];
        }

        return null;
    }
}
