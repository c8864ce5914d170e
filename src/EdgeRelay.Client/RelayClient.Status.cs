using System.Buffers;
using System.Threading.Channels;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

public sealed partial class RelayClient
{
    // The newest few CONFIG pushes; an RM that does not read them loses the oldest, never the newest.
    private readonly Channel<RelayStatus> _configUpdates = Channel.CreateBounded<RelayStatus>(
        new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });

    /// <summary>
    /// CONFIG frames the relay pushed after its operator changed the sending configuration (permitted sizes,
    /// sending options). They arrive once this connection has called <see cref="GetStatusAsync"/> or presented
    /// an RM token. Keep the one with the highest <see cref="RelayStatus.ConfigVersion"/>: a STATUS reply
    /// computed just before a change may arrive after the CONFIG that announces it.
    /// </summary>
    public ChannelReader<RelayStatus> ConfigUpdates => _configUpdates.Reader;

    /// <summary>The relay's availability, limits, capacity and sending options (STATUS).</summary>
    public async Task<RelayStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(static (w, id, _) => FrameWriter.WriteEmpty(w, FrameType.Status, id), 0, cancellationToken);
        if (reply.Type != FrameType.StatusReply)
        {
            throw Unexpected(reply);
        }

        return RelayStatus.TryRead(new ReadOnlySequence<byte>(reply.Body), out var status)
            ? status
            : throw new RelayException(ErrorCode.MalformedFrame, "the relay's STATUS_REPLY does not parse");
    }

    private void DispatchConfig(in ReadOnlySequence<byte> body)
    {
        if (!RelayStatus.TryRead(body, out var status))
        {
            throw new RelayException(ErrorCode.MalformedFrame, "the server's CONFIG frame does not parse");
        }

        _configUpdates.Writer.TryWrite(status);
    }
}
