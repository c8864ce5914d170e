namespace EdgeRelay.Client;

public sealed class RelayClientOptions
{
    private TimeSpan? _keepAliveInterval = DefaultKeepAliveInterval;
    private TimeSpan _keepAliveTimeout = DefaultKeepAliveTimeout;
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>
    /// 30 s: a quarter of the relay's default <c>Relay:IdleTimeout</c> (120 s), so that a PING delayed by a
    /// busy network or a slow reply still lands well before the relay gives up on the connection.
    /// </summary>
    public static readonly TimeSpan DefaultKeepAliveInterval = TimeSpan.FromSeconds(30);

    /// <summary>15 s: a relay that is alive answers PING at once (it has no body and touches no storage).</summary>
    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromSeconds(15);

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
    /// How long the connection may go without this client sending a frame before it sends PING. The relay
    /// closes a connection that sends nothing for its <c>Relay:IdleTimeout</c> (PROTOCOL.md section 3), so this
    /// must be shorter than that; default <see cref="DefaultKeepAliveInterval"/>. Null or zero turns keepalive
    /// (and with it the dead-peer check of <see cref="KeepAliveTimeout"/>) off.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative interval.</exception>
    public TimeSpan? KeepAliveInterval
    {
        get => _keepAliveInterval;
        set
        {
            if (value is { } interval)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero, nameof(KeepAliveInterval));
            }

            _keepAliveInterval = value;
        }
    }

    /// <summary>
    /// How long a keepalive PING may wait for its PONG. Past that the relay (or the path to it) is presumed
    /// dead: the client fails the connection as if it had been lost, so every pending request and subscription
    /// ends with a <see cref="RelayException"/> of code None instead of waiting for TCP to give up, which can
    /// take many minutes. Also the longest <see cref="RelayClient.DisposeAsync"/> waits for the relay to take what
    /// is still to be sent before it closes the socket anyway (with keepalive off too). Default
    /// <see cref="DefaultKeepAliveTimeout"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative.</exception>
    public TimeSpan KeepAliveTimeout
    {
        get => _keepAliveTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(KeepAliveTimeout));
            _keepAliveTimeout = value;
        }
    }

    /// <summary>
    /// The clock of keepalive (and of <see cref="RelaySubscriber"/>'s back-off); default
    /// <see cref="TimeProvider.System"/>. Tests pass a fake one to move time without waiting.
    /// </summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set => _timeProvider = value ?? throw new ArgumentNullException(nameof(TimeProvider));
    }

    /// <summary>Whether keepalive is on: an interval above zero.</summary>
    internal bool KeepsAlive => _keepAliveInterval is { } interval && interval > TimeSpan.Zero;

    /// <summary>
    /// Options to reach the relay that issued <paramref name="card"/>: TLS pinned to the key the card
    /// names, when it names one (otherwise plain TCP), and the rest copied from <paramref name="template"/>.
    /// </summary>
    public static RelayClientOptions ForCard(Addressing.AddressCard card, RelayClientOptions? template = null) =>
        ForPin(RelayTlsOptions.PinOf(card), template);

    /// <summary>
    /// Options to reach a relay whose TLS key is pinned to <paramref name="pin"/> (the SHA-256 of its public key);
    /// an empty pin keeps <paramref name="template"/>'s TLS (plain TCP without one). The rest is copied from it.
    /// </summary>
    public static RelayClientOptions ForPin(ReadOnlyMemory<byte> pin, RelayClientOptions? template = null)
    {
        var options = template?.Clone() ?? new RelayClientOptions();
        options.Tls = pin.IsEmpty ? template?.Tls : new RelayTlsOptions { PinnedPublicKeySha256 = pin };
        return options;
    }

    internal RelayClientOptions Clone() => (RelayClientOptions)MemberwiseClone();
}
