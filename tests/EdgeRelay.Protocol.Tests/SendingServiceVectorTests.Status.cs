using System.Text;
using EdgeRelay.Testing;

namespace EdgeRelay.Protocol.Tests;

// STATUS, STATUS_REPLY and the CONFIG push (PROTOCOL.md 4.16).
public sealed partial class SendingServiceVectorTests
{
    private const uint StatusId = 12;

    [Fact]
    public void STATUS_its_STATUS_REPLY_and_a_CONFIG_push() => CheckStatus(ProtocolVectors.Load());

    private static void CheckStatus(ProtocolVectors v)
    {
        AssertEmptyFrame(v, "status.frame", FrameType.Status, StatusId);

        var reply = StatusFrom(v, "status_reply");
        // Every number distinct, so that two fields swapped or one read at the wrong offset cannot pass.
        ulong[] numbers =
        [
            (ulong)reply.Availability, (ulong)reply.Roles, reply.ConfigVersion, reply.MaxCiphertext, reply.MaxSendViaCiphertext,
            reply.MaxAttachment, reply.OutboundMessages, reply.OutboundBytes, reply.DiskHeadroom, reply.AttachmentHeadroom,
        ];
        Assert.Equal(numbers.Length, numbers.Distinct().Count());
        Assert.Equal(2, reply.SendingOptions.Count);
        AssertStatus(v, "status_reply.frame", FrameType.StatusReply, StatusId, reply);

        AssertStatus(v, "config.frame", FrameType.Config, 0, StatusFrom(v, "config"));
    }

    /// <summary>The fields the file names for a STATUS_REPLY or CONFIG body; a group without a reason has an empty one.</summary>
    private static RelayStatus StatusFrom(ProtocolVectors v, string group)
    {
        var reason = v.Contains(group + ".reason") ? v.Text(group + ".reason") : "";
        Assert.Equal(v.Number(group + ".reason_len"), Encoding.UTF8.GetByteCount(reason)); // bytes, not characters
        return new RelayStatus
        {
            Availability = (Availability)checked((byte)v.Number(group + ".availability")),
            Reason = reason,
            Roles = (ServiceRoles)checked((byte)v.Number(group + ".roles")),
            ConfigVersion = checked((uint)v.Number(group + ".config_version")),
            MaxCiphertext = checked((uint)v.Number(group + ".max_ciphertext")),
            MaxSendViaCiphertext = checked((uint)v.Number(group + ".max_send_via_ciphertext")),
            MaxAttachment = v.UnsignedNumber(group + ".max_attachment"),
            OutboundMessages = v.UnsignedNumber(group + ".outbound_messages"),
            OutboundBytes = v.UnsignedNumber(group + ".outbound_bytes"),
            DiskHeadroom = v.UnsignedNumber(group + ".disk_headroom"),
            AttachmentHeadroom = v.UnsignedNumber(group + ".attachment_headroom"),

            // Modes by number: a client keeps the ones it does not know (4.16).
            SendingOptions = v.Pairs(group + ".options").Select(p => new SendingOption((SendingMode)checked((byte)p.First), checked((uint)p.Second))).ToArray(),
        };
    }

    private static void AssertStatus(ProtocolVectors v, string name, FrameType type, uint requestId, RelayStatus expected)
    {
        AssertReads(v, name, type, requestId, body =>
        {
            Assert.True(RelayStatus.TryRead(body, out var read));
            Assert.Equal(expected with { SendingOptions = read.SendingOptions }, read);
            Assert.Equal(expected.SendingOptions, read.SendingOptions);
        });
        AssertWrites(v, name, w => expected.Write(w, type, requestId));
    }
}
