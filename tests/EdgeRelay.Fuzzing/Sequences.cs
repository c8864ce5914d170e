using System.Buffers;

namespace EdgeRelay.Fuzzing;

/// <summary>
/// The same bytes as one segment and as many: a pipe hands the protocol readers multi-segment sequences, and
/// a reader must decode both alike.
/// </summary>
internal static class Sequences
{
    /// <summary>
    /// Cuts <paramref name="data"/> into non-empty segments of 1 to 7 bytes (the size drawn from the input, so that
    /// afl-fuzz explores it). Empty segments, which a pipe does not produce, are the property tests' to cover.
    /// </summary>
    public static ReadOnlySequence<byte> Split(byte[] data)
    {
        if (data.Length < 2)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var size = (data[^1] % 7) + 1;
        Segment? first = null, last = null;
        for (var start = 0; start < data.Length; start += size)
        {
            var piece = data.AsMemory(start, Math.Min(size, data.Length - start));
            last = last is null ? first = new Segment(piece, 0) : last.Append(piece);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
