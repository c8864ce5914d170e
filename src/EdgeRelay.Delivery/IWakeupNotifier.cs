namespace EdgeRelay.Delivery;

/// <summary>
/// Tells an address owner's app, through the endpoint it registered, that it has mail. The wake-up carries
/// no content: the app answers it by connecting and pulling, so one wake-up covers every message waiting.
/// </summary>
/// <remarks>
/// The relay decides when to wake; an implementation decides how, and owns its queue, retries and
/// connections. It sits behind this interface so that a deployment can swap the shipped webhook for
/// another transport, and tests can count wake-ups without a network.
/// </remarks>
public interface IWakeupNotifier : IAsyncDisposable
{
    /// <summary>
    /// Queues a wake-up for <paramref name="endpoint"/>, an endpoint the relay accepted when the owner set it
    /// (for the shipped webhook notifier: an absolute URL it validated). Does no I/O and never throws for delivery
    /// problems: those are retried, counted and logged by the notifier.
    /// </summary>
    /// <returns>
    /// True when a wake-up for the endpoint is on its way: either newly queued, or coalesced into one
    /// already pending (queued, being sent or waiting to retry), which will reach the app after this
    /// call and so covers the message that caused it. False when it was dropped: the notifier is at its
    /// limit of pending wake-ups, or is disposed. A true result is not a promise of delivery; an
    /// endpoint that keeps failing is given up on.
    /// </returns>
    bool Wake(string endpoint);
}
