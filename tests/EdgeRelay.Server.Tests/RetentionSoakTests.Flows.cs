using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRelay.Client;
using EdgeRelay.Server;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests;

// The soak's senders' and consumers' bookkeeping, and the log folder's measurements.
public sealed partial class RetentionSoakTests
{
    /// <summary>One busy address: sequence numbers, what its senders had acknowledged, what its consumer saw.</summary>
    private sealed class Flow(byte tag, CreatedAddress address)
    {
        private int _nextSequence;
        private long _reservedBytes;
        private long _ackedBytes;
        private long _deliveries;

        public byte Tag { get; } = tag;

        public CreatedAddress Address { get; } = address;

        /// <summary>One permit per message sent and not yet seen by the consumer.</summary>
        public SemaphoreSlim Window { get; } = new(BacklogWindow, BacklogWindow);

        public ConcurrentDictionary<int, byte> Acked { get; } = new();

        public ConcurrentDictionary<int, byte> Received { get; } = new();

        public ConcurrentQueue<string> Problems { get; } = new();

        public long AckedBytes => Interlocked.Read(ref _ackedBytes);

        public long Deliveries => Interlocked.Read(ref _deliveries);

        public static int Length(int sequence) =>
            MinPayload + (int)(unchecked((uint)sequence * 2654435761u) % (MaxPayload - MinPayload + 1));

        /// <summary>Sequence number, address tag, then bytes derived from both, so any corruption or mix-up shows.</summary>
        public static void Fill(byte tag, int sequence, Span<byte> payload)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, sequence);
            payload[4] = tag;
            for (var i = 5; i < payload.Length; i++)
            {
                payload[i] = unchecked((byte)((sequence * 31) + (i * 7) + tag));
            }
        }

        public bool TryReserve(out int sequence, out int length)
        {
            sequence = Interlocked.Increment(ref _nextSequence);
            length = Length(sequence);
            return Interlocked.Add(ref _reservedBytes, length) - length < PayloadBytesPerFlow;
        }

        public void OnAcked(int sequence, int length)
        {
            Acked[sequence] = 0;
            Interlocked.Add(ref _ackedBytes, length);
        }

        public void OnReceived(ReceivedMessage message)
        {
            Interlocked.Increment(ref _deliveries);
            var payload = message.Ciphertext.Span;
            if (payload.Length < 5)
            {
                Problems.Enqueue($"message {message.Id}: {payload.Length} bytes");
                return;
            }

            var sequence = BinaryPrimitives.ReadInt32LittleEndian(payload);
            Span<byte> expected = stackalloc byte[MaxPayload];
            expected = expected[..Math.Min(MaxPayload, Length(sequence))];
            Fill(Tag, sequence, expected);
            if (!payload.SequenceEqual(expected))
            {
                Problems.Enqueue($"message {message.Id}: not the bytes of sequence {sequence} for address {Tag}");
                return;
            }

            if (Received.TryAdd(sequence, 0))
            {
                Window.Release(); // a redelivery is not new room: only the first sight of a message frees its permit
            }
        }

        public bool AllAckedReceived() => Received.Count >= Acked.Count && Missing().Count == 0;

        /// <summary>Acknowledged sequences the consumer never saw (the first few, for the failure message).</summary>
        public List<int> Missing()
        {
            var missing = new List<int>();
            foreach (var sequence in Acked.Keys)
            {
                if (!Received.ContainsKey(sequence) && missing.Count < 20)
                {
                    missing.Add(sequence);
                }
            }

            return missing;
        }
    }

    /// <summary>One measurement of the log folder, with how far the run had got.</summary>
    private readonly record struct LogSample(TimeSpan At, long AckedBytes, long LogTail, long Bytes, int Segments);

    /// <summary>
    /// Measurements of the log folder, taken by whichever task calls <see cref="Sample"/>. A measurement that
    /// fails throws to its caller, a sender or the test itself, and so fails the test.
    /// </summary>
    private sealed class LogUsage(string logDir, EdgeRelay.Storage.IRelayStorage storage, Stopwatch clock, Flow[] flows)
    {
        private readonly Lock _lock = new();
        private readonly List<LogSample> _samples = [];

        public IReadOnlyList<LogSample> Samples
        {
            get
            {
                lock (_lock)
                {
                    return [.. _samples];
                }
            }
        }

        public LogSample Last
        {
            get
            {
                lock (_lock)
                {
                    return _samples[^1];
                }
            }
        }

        public LogSample Sample()
        {
            // Acknowledged bytes read first: everything they count was in the log before the folder is measured.
            long acked = 0;
            foreach (var flow in flows)
            {
                acked += flow.AckedBytes;
            }

            var (bytes, segments) = MeasureLog(logDir);
            var sample = new LogSample(clock.Elapsed, acked, storage.GetStatistics().LogTailAddress, bytes, segments);
            lock (_lock)
            {
                _samples.Add(sample);
            }

            return sample;
        }
    }
}
