using System.Buffers;
using System.IO.Pipelines;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Metrics;
using EdgeRelay.Storage;
using EdgeRelay.Testing.Sessions;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// An outbox on its own, as <see cref="OutboxTests"/> sets it up: the in-memory storage (durability in the
/// test's hands), and a wire whose writing end stamps each flush with the durable position, read frame by frame.
/// </summary>
internal sealed class OutboxRig : IAsyncDisposable
{
    private readonly Pipe _wire = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private AddressId _aid;

    public OutboxRig()
    {
        Output = new StampingPipeWriter(_wire.Writer, () => Storage.DurablePosition);
        Frames = new StampedFrameReader(_wire.Reader, Output);
    }

    public InMemoryStorage Storage { get; } = InMemoryStorage.Open();

    public RelayMetrics Metrics { get; } = new();

    public StampingPipeWriter Output { get; }

    public StampedFrameReader Frames { get; }

    public Outbox NewOutbox(int capacity = 16) => new(capacity, Storage, Metrics);

    /// <summary>The client stops reading: the relay's next flush learns that nobody is there.</summary>
    public ValueTask ClientGoneAsync() => _wire.Reader.CompleteAsync();

    /// <summary>The relay side of the wire ends; what was written and never flushed stays unread.</summary>
    public ValueTask EndWireAsync() => _wire.Writer.CompleteAsync();

    /// <summary>An address whose creation is durable, then flushes held: the next write waits for <see cref="InMemoryStorage.ReleaseFlushes"/>.</summary>
    public async Task<DurabilityTicket> HeldAppendAsync()
    {
        await CreateAddressAsync();
        Storage.HoldFlushes();
        return Append();
    }

    public async Task CreateAddressAsync()
    {
        _aid = AddressId.NewRandom();
        await Storage.WaitDurableAsync(await Storage.CreateAddressAsync(_aid, new byte[32], DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()));
    }

    public DurabilityTicket Append()
    {
        Assert.Equal(AppendStatus.Appended, Storage.TryAppend(_aid, [1, 2, 3], out _, out var ticket));
        return ticket;
    }

    public async Task<(FrameType Type, uint RequestId)[]> ReadAsync(int count)
    {
        var frames = new (FrameType, uint)[count];
        for (var i = 0; i < count; i++)
        {
            var frame = await Frames.ReadFrameAsync();
            frames[i] = (frame.Header.Type, frame.Header.RequestId);
        }

        return frames;
    }

    /// <summary>
    /// A DELIVER of one message, as the push path builds it: in an array rented from the shared pool, larger than
    /// the frame, whose unused tail holds bytes that must never reach the wire.
    /// </summary>
    public static (byte[] Frame, int Length) RentedDeliver(AddressId aid, long messageId, byte[] ciphertext)
    {
        var bodyLength = FrameWriter.DeliverBodyLength(1, ciphertext.Length);
        var length = ProtocolConstants.HeaderLength + bodyLength;
        var frame = ArrayPool<byte>.Shared.Rent(length + 64);
        frame.AsSpan().Fill(0xEE);
        var offset = FrameWriter.WriteDeliverHeader(frame, bodyLength, aid, 1);
        FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(offset), messageId, 1_700_000_000_000, ciphertext.Length);
        ciphertext.CopyTo(frame.AsSpan(offset + DeliveredMessage.HeaderLength));
        return (frame, length);
    }

    public async ValueTask DisposeAsync() => await Storage.DisposeAsync();
}
