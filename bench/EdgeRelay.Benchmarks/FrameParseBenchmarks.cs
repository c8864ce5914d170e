using System.Buffers;
using BenchmarkDotNet.Attributes;
using EdgeRelay.Protocol;

namespace EdgeRelay.Benchmarks;

/// <summary>Splitting a read buffer into SEND frames, as the session does for every read.</summary>
[MemoryDiagnoser]
public class FrameParseBenchmarks
{
    private const int FramesPerBuffer = 64;
    private ReadOnlySequence<byte> _contiguous;
    private ReadOnlySequence<byte> _segmented;

    [Params(1024, 16384)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var writer = new ArrayBufferWriter<byte>();
        var address = new byte[ProtocolConstants.EphemeralAddressLength];
        var ciphertext = new byte[Payload];
        for (uint i = 0; i < FramesPerBuffer; i++)
        {
            FrameWriter.WriteSend(writer, i, address, ciphertext);
        }

        var bytes = writer.WrittenMemory.ToArray();
        _contiguous = new ReadOnlySequence<byte>(bytes);
        _segmented = BenchSegments.Split(bytes, 4096); // pipe-sized segments: frames straddle them
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = FramesPerBuffer)]
    public long ParseContiguous() => ParseAll(_contiguous);

    [Benchmark(OperationsPerInvoke = FramesPerBuffer)]
    public long ParseSegmented() => ParseAll(_segmented);

    private static long ParseAll(ReadOnlySequence<byte> buffer)
    {
        long total = 0;
        Span<byte> address = stackalloc byte[ProtocolConstants.EphemeralAddressLength];
        while (FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body) == FrameParseStatus.Complete)
        {
            BodyReader.TryReadSend(body, address, out var ciphertext);
            total += header.RequestId + ciphertext.Length;
        }

        return total;
    }
}

internal static class BenchSegments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (int offset = 0; offset < data.Length; offset += segmentSize)
        {
            var memory = data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset));
            var segment = new Segment(memory, offset);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
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

        public void SetNext(Segment next) => Next = next;
    }
}
