namespace EdgeRelay.Client;

/// <summary>How a <see cref="RelaySubscriber"/> connects, and how it waits between attempts when it cannot.</summary>
public sealed class RelaySubscriberOptions
{
    private RelayClientOptions _client = new();
    private TimeSpan _initialReconnectDelay = TimeSpan.FromSeconds(1);
    private TimeSpan _maxReconnectDelay = TimeSpan.FromSeconds(60);
    private int _credit = 256;

    /// <summary>
    /// Options of each connection, keepalive included (on by default: it is what keeps an idle subscription
    /// open). Its <see cref="RelayClientOptions.TimeProvider"/> is also the clock of the back-off.
    /// </summary>
    public RelayClientOptions Client
    {
        get => _client;
        set => _client = value ?? throw new ArgumentNullException(nameof(Client));
    }

    /// <summary>
    /// The longest first wait after a connection is lost; each further failed attempt doubles it, up to
    /// <see cref="MaxReconnectDelay"/>. Default 1 s: a relay restart is usually over by then, and waiting at
    /// all (rather than reconnecting at once) keeps every subscriber of a restarting relay from arriving together.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative.</exception>
    public TimeSpan InitialReconnectDelay
    {
        get => _initialReconnectDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(InitialReconnectDelay));
            _initialReconnectDelay = value;
        }
    }

    /// <summary>
    /// The cap of the doubling. Default 60 s: a relay that is down for long is still found within a minute
    /// of its return, at the cost of one connection attempt a minute meanwhile. Must not be below
    /// <see cref="InitialReconnectDelay"/> (checked when the subscriber is built).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative.</exception>
    public TimeSpan MaxReconnectDelay
    {
        get => _maxReconnectDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(MaxReconnectDelay));
            _maxReconnectDelay = value;
        }
    }

    /// <summary>
    /// Messages the relay may push per address before the app acknowledges any (SUBSCRIBE's credit; each ack
    /// grants its messages' credit back). Default 256. This bounds what an app that stops acknowledging
    /// buffers per address and connection.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 1.</exception>
    public int Credit
    {
        get => _credit;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Credit));
            _credit = value;
        }
    }

    internal RelaySubscriberOptions Clone() => (RelaySubscriberOptions)MemberwiseClone();
}
