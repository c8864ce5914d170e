using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// What the writer reports on <c>/metrics</c> as it writes: frames and bytes sent by type, the very bytes that
/// went on the wire; and the ack latency, timed for the OK of a SEND and for nothing else.
/// </summary>
public sealed class OutboxAccountingTests : IAsyncDisposable
{
    private readonly OutboxRig _rig = new();

    public async ValueTask DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Bytes_sent_by_type_are_the_bytes_on_the_wire_a_truncated_error_reason_included()
    {
        // A reason longer than an ERROR frame carries (255 bytes): the frame holds its first 255, and so must the count.
        var longReason = new string('x', ErrorReply.MaxReasonBytes + 45);
        var (deliver, deliverLength) = OutboxRig.RentedDeliver(AddressId.NewRandom(), 9, new byte[100]);
        var outbox = _rig.NewOutbox();
        Assert.True(outbox.TryEnqueue(OutboxItem.Failure(1, ErrorCode.InvalidArgument, longReason)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Failure(2, ErrorCode.InvalidArgument, "short")));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(3)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Frame(HelloReply())));
        Assert.True(outbox.TryEnqueue(OutboxItem.RentedFrame(deliver, deliverLength)));
        outbox.Complete();

        await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within();

        var wire = new Dictionary<FrameType, (int Frames, long Bytes)>();
        for (var i = 0; i < 5; i++)
        {
            var frame = await _rig.Frames.ReadFrameAsync();
            var (frames, bytes) = wire.GetValueOrDefault(frame.Header.Type);
            wire[frame.Header.Type] = (frames + 1, bytes + ProtocolConstants.HeaderLength + frame.Body.Length);
        }

        Assert.Equal(ProtocolConstants.HeaderLength + 3 + ErrorReply.MaxReasonBytes + ProtocolConstants.HeaderLength + 3 + 5, wire[FrameType.Error].Bytes);
        foreach (var (type, (frames, bytes)) in wire)
        {
            var label = type switch
            {
                FrameType.Error => "error",
                FrameType.Pong => "pong",
                FrameType.HelloReply => "hello_reply",
                FrameType.Deliver => "deliver",
                _ => throw new InvalidOperationException($"unexpected {type}"),
            };
            Assert.Equal(frames, await ReadSeriesAsync($"edgerelay_frames_sent_total{{type=\"{label}\"}}"));
            Assert.Equal(bytes, await ReadSeriesAsync($"edgerelay_sent_bytes_total{{type=\"{label}\"}}"));
        }
    }

    [Fact]
    public async Task Ack_latency_is_observed_once_per_OK_of_a_SEND_and_never_for_other_replies()
    {
        await _rig.CreateAddressAsync();
        var written = _rig.Append();
        await _rig.Storage.WaitDurableAsync(written);
        var outbox = _rig.NewOutbox();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.SendOk(2, written, Stopwatch.GetTimestamp())));
        Assert.True(outbox.TryEnqueue(OutboxItem.Ok(3, written))); // an ACK's OK: durable too, but not a SEND's
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(4)));
        outbox.Complete();

        await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within();

        Assert.Equal(new[] { (FrameType.Pong, 1u), (FrameType.Ok, 2u), (FrameType.Ok, 3u), (FrameType.Pong, 4u) }, await _rig.ReadAsync(4));
        Assert.Equal(1, await ReadSeriesAsync("edgerelay_send_ack_latency_seconds_count"));
    }

    /// <summary>A frame rendered up front into an array of its own, as the HELLO reply is.</summary>
    private static byte[] HelloReply()
    {
        var body = Encoding.ASCII.GetBytes("server info");
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        new FrameHeader(body.Length, FrameType.HelloReply, 0, 1).Write(frame);
        body.CopyTo(frame.AsSpan(ProtocolConstants.HeaderLength));
        return frame;
    }

    private async Task<double> ReadSeriesAsync(string series)
    {
        using var stream = new MemoryStream();
        await _rig.Metrics.Registry.CollectAndExportAsTextAsync(stream);
        var prefix = series + " ";
        foreach (var line in Encoding.UTF8.GetString(stream.ToArray()).Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
            }
        }

        return 0; // a series never touched is not exported
    }
}
