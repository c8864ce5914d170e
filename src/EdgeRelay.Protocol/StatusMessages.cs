using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>Whether a relay takes new work (STATUS_REPLY and CONFIG, docs/PROTOCOL.md 4.16).</summary>
public enum Availability : byte
{
    Accepting = 0,

    /// <summary>Shutting down: finish what is in flight, send new work elsewhere.</summary>
    Draining = 1,

    /// <summary>Working, but short of something (the reason says what): prefer another service if there is one.</summary>
    Degraded = 2,
}

/// <summary>The roles a relay plays.</summary>
[Flags]
public enum ServiceRoles : byte
{
    None = 0,

    /// <summary>Issues addresses and takes SENDs for them.</summary>
    Receiving = 1,

    /// <summary>Forwards for its operator's RMs (SEND_VIA) and stores their attachments.</summary>
    Sending = 2,
}

/// <summary>How a sending service may forward a message (SEND_VIA_MODE). Values other than these are reserved for options a later relay may offer (clients ignore them).</summary>
public enum SendingMode : byte
{
    /// <summary>Forwarded as soon as it is durably queued.</summary>
    Immediate = 1,

    /// <summary>
    /// Held until the next multiple of the option's delay since the Unix epoch, then forwarded with every other
    /// message released at that instant, in a random order: latency traded for timing privacy.
    /// </summary>
    Batched = 2,
}

/// <summary>A sending option the relay offers; <see cref="DelayMilliseconds"/> is the longest a message of that mode waits (0 for immediate).</summary>
public readonly record struct SendingOption(SendingMode Mode, uint DelayMilliseconds);

/// <summary>The body of STATUS_REPLY, and of CONFIG (the same layout, pushed when the configuration changes).</summary>
public sealed record RelayStatus
{
    /// <summary>No budget: the headroom fields carry this when the operator set no limit.</summary>
    public const ulong Unlimited = ulong.MaxValue;

    public Availability Availability { get; init; }

    /// <summary>Why the relay is degraded or draining (UTF-8, at most 255 bytes); empty when accepting.</summary>
    public string Reason { get; init; } = "";

    public ServiceRoles Roles { get; init; }

    /// <summary>Increases by one at each configuration change the relay applies; a CONFIG always carries a new one.</summary>
    public uint ConfigVersion { get; init; }

    /// <summary>Largest ciphertext a SEND to this relay's addresses may carry.</summary>
    public uint MaxCiphertext { get; init; }

    /// <summary>Largest ciphertext SEND_VIA accepts (0: not a sending service).</summary>
    public uint MaxSendViaCiphertext { get; init; }

    /// <summary>Largest attachment (0: no attachments).</summary>
    public ulong MaxAttachment { get; init; }

    /// <summary>Messages in the outbound queue, waiting to be forwarded.</summary>
    public ulong OutboundMessages { get; init; }

    /// <summary>Their ciphertext bytes.</summary>
    public ulong OutboundBytes { get; init; }

    /// <summary>Bytes the message log may still grow by (<see cref="Unlimited"/> without a budget).</summary>
    public ulong DiskHeadroom { get; init; }

    /// <summary>Attachment bytes that may still be stored (<see cref="Unlimited"/> without a budget, 0 without attachments).</summary>
    public ulong AttachmentHeadroom { get; init; }

    public IReadOnlyList<SendingOption> SendingOptions { get; init; } = [];

    /// <summary>The fixed part: availability, reason length, roles, version, two u32 sizes, five u64, option count.</summary>
    private const int FixedLength = 1 + 1 + 1 + 4 + 4 + 4 + (5 * 8) + 1;

    private const int OptionLength = 1 + 4;

    public int BodyLength => FixedLength + Encoding.UTF8.GetByteCount(Reason) + (SendingOptions.Count * OptionLength);

    /// <summary>Writes a STATUS_REPLY (with its request id) or a CONFIG push (request id 0).</summary>
    public void Write(IBufferWriter<byte> output, FrameType type, uint requestId)
    {
        var reason = Encoding.UTF8.GetBytes(Reason);
        if (reason.Length > byte.MaxValue || SendingOptions.Count > byte.MaxValue)
        {
            throw new ArgumentException("A status reason is at most 255 UTF-8 bytes, and at most 255 sending options.");
        }

        int length = BodyLength;
        var frame = output.GetSpan(ProtocolConstants.HeaderLength + length);
        new FrameHeader(length, type, 0, requestId).Write(frame);
        var span = frame[ProtocolConstants.HeaderLength..];
        span[0] = (byte)Availability;
        span[1] = (byte)reason.Length;
        reason.CopyTo(span[2..]);
        span = span[(2 + reason.Length)..];
        span[0] = (byte)Roles;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], ConfigVersion);
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], MaxCiphertext);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], MaxSendViaCiphertext);
        BinaryPrimitives.WriteUInt64BigEndian(span[13..], MaxAttachment);
        BinaryPrimitives.WriteUInt64BigEndian(span[21..], OutboundMessages);
        BinaryPrimitives.WriteUInt64BigEndian(span[29..], OutboundBytes);
        BinaryPrimitives.WriteUInt64BigEndian(span[37..], DiskHeadroom);
        BinaryPrimitives.WriteUInt64BigEndian(span[45..], AttachmentHeadroom);
        span[53] = (byte)SendingOptions.Count;
        span = span[54..];
        foreach (var option in SendingOptions)
        {
            span[0] = (byte)option.Mode;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], option.DelayMilliseconds);
            span = span[OptionLength..];
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    /// <summary>
    /// Parses a STATUS_REPLY or CONFIG body. Values this version does not know (an availability, a role bit,
    /// a sending mode) are kept as numbers, so that a newer relay's reply still parses; a length that does
    /// not match the counts, or a reason that is not UTF-8, is malformed.
    /// </summary>
    public static bool TryRead(in ReadOnlySequence<byte> body, out RelayStatus status)
    {
        status = null!;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryRead(out var availability) || !reader.TryRead(out var reasonLength) || reader.Remaining < reasonLength)
        {
            return false;
        }

        var reasonBytes = new byte[reasonLength];
        reader.TryCopyTo(reasonBytes);
        reader.Advance(reasonLength);
        string reason;
        try
        {
            reason = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(reasonBytes);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        if (!reader.TryRead(out var roles)
            || !reader.TryReadBigEndian(out int version) || !reader.TryReadBigEndian(out int maxCiphertext) || !reader.TryReadBigEndian(out int maxSendVia)
            || !reader.TryReadBigEndian(out long maxAttachment) || !reader.TryReadBigEndian(out long outboundMessages) || !reader.TryReadBigEndian(out long outboundBytes)
            || !reader.TryReadBigEndian(out long diskHeadroom) || !reader.TryReadBigEndian(out long attachmentHeadroom)
            || !reader.TryRead(out var optionCount) || reader.Remaining != optionCount * OptionLength)
        {
            return false;
        }

        var options = new SendingOption[optionCount];
        for (var i = 0; i < optionCount; i++)
        {
            reader.TryRead(out var mode);
            reader.TryReadBigEndian(out int delay);
            options[i] = new SendingOption((SendingMode)mode, (uint)delay);
        }

        status = new RelayStatus
        {
            Availability = (Availability)availability,
            Reason = reason,
            Roles = (ServiceRoles)roles,
            ConfigVersion = (uint)version,
            MaxCiphertext = (uint)maxCiphertext,
            MaxSendViaCiphertext = (uint)maxSendVia,
            MaxAttachment = (ulong)maxAttachment,
            OutboundMessages = (ulong)outboundMessages,
            OutboundBytes = (ulong)outboundBytes,
            DiskHeadroom = (ulong)diskHeadroom,
            AttachmentHeadroom = (ulong)attachmentHeadroom,
            SendingOptions = options,
        };
        return true;
    }

    /// <summary>Whether two statuses announce the same configuration (what a CONFIG push is about), capacity aside.</summary>
    public bool SameConfiguration(RelayStatus other) =>
        Roles == other.Roles && MaxCiphertext == other.MaxCiphertext && MaxSendViaCiphertext == other.MaxSendViaCiphertext
        && MaxAttachment == other.MaxAttachment && SendingOptions.SequenceEqual(other.SendingOptions);
}
