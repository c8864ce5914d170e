using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // Set once the connection asked for STATUS or presented an RM token: it is a client that chooses among
    // services, and is told of configuration changes (CONFIG) from then on.
    private volatile bool _wantsConfig;

    private ValueTask HandleStatus(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!body.IsEmpty)
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "STATUS has an empty body");
        }

        _wantsConfig = true;
        var frame = new ArrayBufferWriter<byte>(128);
        _server.GetStatus().Write(frame, FrameType.StatusReply, requestId);
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    /// <summary>Queues a CONFIG push (request id 0) if this connection wants them; never waits (called for every session at a reload).</summary>
    internal void PushConfig(byte[] frame)
    {
        if (_wantsConfig)
        {
            // PushAsync waits for room without blocking the caller; false means the session is ending.
            _ = _outbox.PushAsync(OutboxItem.Frame(frame)).AsTask();
        }
    }

    /// <summary>The role a request belongs to; a relay not playing it answers UNKNOWN_COMMAND.</summary>
    private static ServiceRoles RoleOf(FrameType type) => type switch
    {
        FrameType.CreateAddress or FrameType.RevokeAddress or FrameType.Send or FrameType.Auth or FrameType.Pull
            or FrameType.Ack or FrameType.Subscribe or FrameType.Credit or FrameType.Unsubscribe
            or FrameType.SetPolicy or FrameType.SetNotify or FrameType.RenewAddress => ServiceRoles.Receiving,
        FrameType.SendVia or FrameType.SendViaMode or FrameType.SendStatus or FrameType.WatchSends or FrameType.UploadBegin
            or FrameType.UploadChunk or FrameType.UploadResume or FrameType.UploadCommit => ServiceRoles.Sending,
        _ => ServiceRoles.Receiving | ServiceRoles.Sending,
    };
}
