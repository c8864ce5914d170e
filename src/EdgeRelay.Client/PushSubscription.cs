using System.Threading.Channels;

namespace EdgeRelay.Client;

/// <summary>
/// A push subscription for one address on one connection. Messages arrive on <see cref="Deliveries"/>,
/// one array per DELIVER frame; each delivered message used one unit of credit. Ack what you have
/// stored with <see cref="AckAsync"/>, which also grants the same credit back, so the window stays full.
/// </summary>
/// <remarks>
/// Delivery is at-least-once: a message not acked before the connection ends is delivered again (to this
/// app's other connection, or at the next subscription or pull), with the same <see cref="ReceivedMessage.Id"/>.
/// </remarks>
public sealed class PushSubscription : IAsyncDisposable
{
    private readonly RelayClient _client;
    private readonly Channel<ReceivedMessage[]> _deliveries = Channel.CreateUnbounded<ReceivedMessage[]>(new UnboundedChannelOptions { SingleWriter = true });
    private int _disposed;

    internal PushSubscription(RelayClient client, AddressId address)
    {
        _client = client;
        Address = address;
    }

    public AddressId Address { get; }

    /// <summary>Each item is one DELIVER frame's messages, oldest first. Completes when the subscription or the connection ends.</summary>
    public ChannelReader<ReceivedMessage[]> Deliveries => _deliveries.Reader;

    /// <summary>Acknowledges stored messages and grants as much credit back.</summary>
    /// <remarks>Both requests go out at once (the relay handles a connection's requests in order), so this costs one round trip.</remarks>
    public Task AckAsync(IReadOnlyCollection<long> messageIds, CancellationToken cancellationToken = default) =>
        Task.WhenAll(_client.AckAsync(Address, messageIds, cancellationToken), GrantAsync(messageIds.Count, cancellationToken));

    /// <summary>Lets the relay push <paramref name="credit"/> more messages (the relay caps the total it holds).</summary>
    public Task GrantAsync(int credit, CancellationToken cancellationToken = default) =>
        _client.GrantAsync(Address, credit, cancellationToken);

    /// <summary>Unsubscribes; messages in flight and not acked go back to pending.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _client.UnsubscribeAsync(this);
        }
        catch (RelayException)
        {
            // The connection is gone: the relay ended the subscription itself.
        }

        Complete();
    }

    internal void Deliver(ReceivedMessage[] messages) => _deliveries.Writer.TryWrite(messages);

    internal void Complete(Exception? error = null) => _deliveries.Writer.TryComplete(error);
}
