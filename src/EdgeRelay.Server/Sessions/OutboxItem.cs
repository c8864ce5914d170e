using System.Buffers;
using System.IO.Pipelines;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

/// <summary>One reply waiting in a session's outbox.</summary>
/// <remarks>
/// A struct so that the SEND path (an OK once durable) queues without allocating. Replies with bodies
/// are rendered to a byte[] frame up front: server info and cards (rare) in an array of their own, message
/// lists (MESSAGES, DELIVER: the delivery path, as many bytes as ingest) in an array rented from
/// <see cref="ArrayPool{T}.Shared"/>, returned once the frame is copied into the connection's pipe.
/// </remarks>
internal readonly struct OutboxItem
{
    // The used length of a rented frame (the pool hands out larger arrays); 0 for a frame of its own.
    private readonly int _rentedLength;

    private OutboxItem(uint requestId, FrameType type, DurabilityTicket ticket, ErrorCode error, object? payload, bool closeAfter, long arrivedAt = 0, int rentedLength = 0, Task? gate = null)
    {
        Gate = gate;
        _rentedLength = rentedLength;
        ArrivedAt = arrivedAt;
        RequestId = requestId;
        Type = type;
        Ticket = ticket;
        Error = error;
        Payload = payload;
        CloseAfter = closeAfter;
    }

    public uint RequestId { get; }

    public FrameType Type { get; }

    /// <summary>What must be durable before this reply may be written; <see cref="DurabilityTicket.None"/> for a reply that promises nothing.</summary>
    public DurabilityTicket Ticket { get; }

    public ErrorCode Error { get; }

    /// <summary>The reason string of an error, or a pre-rendered frame.</summary>
    public object? Payload { get; }

    public bool CloseAfter { get; }

    /// <summary>
    /// For a reply that waits on another store than the relay's log (SEND_VIA waits on the outbound log): the
    /// wait, awaited by the writer in request order like a ticket. Null for every other reply.
    /// </summary>
    public Task? Gate { get; }

    /// <summary>For a SEND's OK: the <see cref="System.Diagnostics.Stopwatch"/> timestamp of its arrival (ack-latency metric); else 0.</summary>
    public long ArrivedAt { get; }

    /// <summary>The OK of a SEND, written once <paramref name="ticket"/> is durable.</summary>
    public static OutboxItem SendOk(uint requestId, DurabilityTicket ticket, long arrivedAt) => new(requestId, FrameType.Ok, ticket, ErrorCode.None, null, false, arrivedAt);

    public static OutboxItem Ok(uint requestId, DurabilityTicket ticket = default) => new(requestId, FrameType.Ok, ticket, ErrorCode.None, null, false);

    public static OutboxItem Pong(uint requestId) => new(requestId, FrameType.Pong, default, ErrorCode.None, null, false);

    public static OutboxItem Failure(uint requestId, ErrorCode code, string reason) =>
        new(requestId, FrameType.Error, default, code, reason, ErrorCodes.ClosesConnection(code));

    public static OutboxItem Frame(byte[] frame, DurabilityTicket ticket = default) => new(0, FrameType.Ok, ticket, ErrorCode.None, frame, false);

    /// <summary>A pre-rendered frame written once <paramref name="gate"/> has completed (see <see cref="Gate"/>).</summary>
    public static OutboxItem GatedFrame(byte[] frame, Task gate) => new(0, FrameType.Ok, default, ErrorCode.None, frame, false, gate: gate);

    /// <summary>
    /// A frame in the first <paramref name="length"/> bytes of an array rented from <see cref="ArrayPool{T}.Shared"/>:
    /// the outbox owns it now and returns it once written (an item dropped unwritten leaves it to the GC).
    /// </summary>
    public static OutboxItem RentedFrame(byte[] frame, int length) => new(0, FrameType.Ok, default, ErrorCode.None, frame, false, rentedLength: length);

    /// <summary>Writes the frame; returns its type and length in bytes (for metrics). Call once: a rented frame goes back to the pool.</summary>
    public (FrameType Type, int Length) WriteTo(PipeWriter output)
    {
        switch (Payload)
        {
            case byte[] frame when _rentedLength > 0:
                var type = (FrameType)frame[4];
                output.Write(frame.AsSpan(0, _rentedLength));
                ArrayPool<byte>.Shared.Return(frame);
                return (type, _rentedLength);
            case byte[] frame:
                output.Write(frame);
                return ((FrameType)frame[4], frame.Length);
            case string reason:
                FrameWriter.WriteError(output, RequestId, Error, reason);
                return (FrameType.Error, ProtocolConstants.HeaderLength + 3 + Math.Min(System.Text.Encoding.UTF8.GetByteCount(reason), ErrorReply.MaxReasonBytes));
            default:
                FrameWriter.WriteEmpty(output, Type, RequestId);
                return (Type, ProtocolConstants.HeaderLength);
        }
    }
}
