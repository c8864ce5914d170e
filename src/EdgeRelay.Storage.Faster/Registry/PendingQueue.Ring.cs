namespace EdgeRelay.Storage.Faster;

internal partial class PendingQueue
{
    /// <summary>
    /// The storage of a queue that holds or held messages recently. Apart from the queue so that an idle one
    /// (most addresses) is three fields: all idle queues share <see cref="Empty"/>, which nothing writes, because
    /// every write to a ring follows an append, and an append to an empty ring first replaces it (its capacity is 0).
    /// </summary>
    private sealed class Ring
    {
        public static readonly Ring Empty = new();

        internal PendingEntry[][] Chunks = [];
        internal int Capacity; // a power of two (or 0); one chunk of this size below ChunkSize
        internal int Head;
        internal int PeakSinceTrim; // the most this ring held since the last TrimExcess
        internal int Moved; // entries whose Location differs from their Id
    }
}
