namespace EdgeRelay.Storage.Faster;

/// <summary>The store's running totals, shared by the parts that change them; read for <see cref="StorageStatistics"/>.</summary>
internal sealed class StoreCounters
{
    private long _pendingMessages;
    private long _pendingBytes;
    private long _messagesExpired;
    private long _messagesMoved;
    private long _deviceReads;

    public StoreCounters(long pendingMessages, long pendingBytes)
    {
        _pendingMessages = pendingMessages;
        _pendingBytes = pendingBytes;
    }

    public long PendingMessages => Interlocked.Read(ref _pendingMessages);

    public long PendingBytes => Interlocked.Read(ref _pendingBytes);

    public long MessagesExpired => Interlocked.Read(ref _messagesExpired);

    public long MessagesMoved => Interlocked.Read(ref _messagesMoved);

    public long DeviceReads => Interlocked.Read(ref _deviceReads);

    public void Appended(int bytes)
    {
        Interlocked.Increment(ref _pendingMessages);
        Interlocked.Add(ref _pendingBytes, bytes);
    }

    public void Removed(int count, long bytes)
    {
        Interlocked.Add(ref _pendingMessages, -count);
        Interlocked.Add(ref _pendingBytes, -bytes);
    }

    public void Expired(long count) => Interlocked.Add(ref _messagesExpired, count);

    public void Moved(int count) => Interlocked.Add(ref _messagesMoved, count);

    public void DeviceRead() => Interlocked.Increment(ref _deviceReads);
}
