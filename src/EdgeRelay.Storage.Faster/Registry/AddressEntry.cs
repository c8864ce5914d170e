namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Registry entry of one address: its current <see cref="AddressInfo"/> and, being a <see cref="PendingQueue"/>
/// itself, its pending messages.
/// </summary>
/// <remarks>
/// <para><see cref="Gate"/> serialises everything that appends a record for this address and changes its
/// index (append, ack, revoke): the log order of its records is then the order in which its state
/// changed, and its pending ids arrive in increasing order. Sessions writing to different addresses
/// never contend. Lock order: the store's registry lock, then an entry's gate.</para>
/// <para>One object per address besides its <see cref="AddressInfo"/>, because a relay holds millions of them
/// and most are idle: the gate is the entry's own monitor (its header word, no lock object; a contended one
/// borrows a sync block only while contended), and the queue's fields live in the entry, with no array until
/// the first message (see <see cref="PendingQueue"/>). Nothing else may lock on an entry.</para>
/// </remarks>
internal sealed class AddressEntry : PendingQueue
{
    private volatile AddressInfo _info;

    public AddressEntry(AddressInfo info)
    {
        _info = info;
    }

    /// <summary>The address' id (the registry's key), which no change of its info moves.</summary>
    public AddressId Id => _info.Id;

    /// <summary>The entry itself, locked with <c>lock</c> (a monitor).</summary>
    public object Gate => this;

    /// <summary>Read without the gate on the hot path (a reference read is atomic); replaced under the gate.</summary>
    public AddressInfo Info
    {
        get => _info;
        set => _info = value;
    }

    /// <summary>The pending index: this entry (kept as a property so callers name what they use).</summary>
    public PendingQueue Pending => this;
}
