namespace EdgeRelay.Client;

/// <summary>A message pushed to one of a <see cref="RelaySubscriber"/>'s addresses.</summary>
/// <remarks>
/// At least once: the same <c>(Address, Message.Id)</c> may come again, after a reconnect for one that was
/// not acknowledged before the connection ended, and even for one acknowledged while it was being
/// redelivered. Store by that pair, then acknowledge.
/// </remarks>
public sealed record AddressedMessage(AddressId Address, ReceivedMessage Message);

/// <summary>Where a <see cref="RelaySubscriber"/> is in its life.</summary>
public enum SubscriberState
{
    /// <summary>Built; <see cref="RelaySubscriber.Start"/> not called yet.</summary>
    NotStarted,

    /// <summary>Connecting for the first time.</summary>
    Connecting,

    /// <summary>Connected, authenticated and subscribed for every address that was not refused.</summary>
    Connected,

    /// <summary>The connection was lost or could not be made; waiting before the next attempt.</summary>
    Reconnecting,

    /// <summary>Stopped for good by an error no retry can fix (see <see cref="SubscriberFaulted"/>).</summary>
    Faulted,

    /// <summary>Disposed.</summary>
    Disposed,
}

/// <summary>Something a <see cref="RelaySubscriber"/>'s owner may want to tell its user (see <see cref="RelaySubscriber.Events"/>).</summary>
public abstract record SubscriberEvent;

/// <summary>Connected: <paramref name="Addresses"/> are authenticated and subscribed on the new connection.</summary>
public sealed record SubscriberConnected(IReadOnlyList<AddressId> Addresses) : SubscriberEvent;

/// <summary>
/// Attempt <paramref name="Attempt"/> (1 for the first after a loss) starts after <paramref name="Delay"/>,
/// because of <paramref name="Error"/>. Unacknowledged messages will be delivered again once connected.
/// </summary>
public sealed record SubscriberReconnecting(int Attempt, TimeSpan Delay, Exception Error) : SubscriberEvent;

/// <summary>
/// The relay refused <paramref name="Address"/> for good (AUTH, SET_POLICY or SUBSCRIBE answered with an error
/// that keeps the connection open: <c>ADDRESS_UNKNOWN</c>, <c>BAD_SIGNATURE</c>, <c>INVALID_ARGUMENT</c>…). The
/// address was dropped from the subscriber, which is not retried; the others go on.
/// </summary>
public sealed record SubscriberAddressFaulted(AddressId Address, RelayException Error) : SubscriberEvent;

/// <summary>
/// The subscriber stopped for good: <paramref name="Error"/> is one no retry can fix (the relay speaks no
/// version of the protocol this client does, or TLS with it failed, e.g. its key no longer matches the pin).
/// <see cref="RelaySubscriber.Deliveries"/> ends with the same error.
/// </summary>
public sealed record SubscriberFaulted(Exception Error) : SubscriberEvent;
