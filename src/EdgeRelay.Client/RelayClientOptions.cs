namespace EdgeRelay.Client;

public sealed class RelayClientOptions
{
    /// <summary>
    /// Requests this client keeps unanswered at once. Default 256; the effective window is the smaller of
    /// this and what the server advertises, so the client never makes the server stop reading.
    /// </summary>
    public int MaxInFlight { get; set; } = 256;

    /// <summary>Time allowed for TCP connect plus HELLO. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS to the relay; null (default) for plain TCP. A relay with TLS refuses plain connections.</summary>
    public RelayTlsOptions? Tls { get; set; }

    /// <summary>
    /// Options to reach the relay that issued <paramref name="card"/>: TLS pinned to the key the card
    /// names, when it names one (otherwise plain TCP), and the rest copied from <paramref name="template"/>.
    /// </summary>
    public static RelayClientOptions ForCard(Addressing.AddressCard card, RelayClientOptions? template = null)
    {
        var pin = RelayTlsOptions.PinOf(card);
        return new RelayClientOptions
        {
            MaxInFlight = template?.MaxInFlight ?? 256,
            ConnectTimeout = template?.ConnectTimeout ?? TimeSpan.FromSeconds(10),
            Tls = pin.IsEmpty ? template?.Tls : new RelayTlsOptions { PinnedPublicKeySha256 = pin },
        };
    }
}
