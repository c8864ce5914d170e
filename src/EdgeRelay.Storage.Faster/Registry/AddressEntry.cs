namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Registry entry of one address: its current <see cref="AddressInfo"/> and pending messages.
/// </summary>
/// <remarks>
/// <see cref="Gate"/> serialises everything that appends a record for this address and changes its
/// index (append, ack, revoke): the log order of its records is then the order in which its state
/// changed, and its pending ids arrive in increasing order. Sessions writing to different addresses
/// never contend. Lock order: the store's registry lock, then an entry's gate.
/// </remarks>
internal sealed class AddressEntry
{
    private volatile AddressInfo _info;

    public AddressEntry(AddressInfo info)
    {
        _info = info;
    }

    public Lock Gate { get; } = new();

    /// <summary>Read without the gate on the hot path (a reference read is atomic); replaced under the gate.</summary>
    public AddressInfo Info
    {
        get => _info;
        set => _info = value;
    }

    public PendingQueue Pending { get; } = new();
}
