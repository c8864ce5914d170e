using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>The sending service's bodies (docs/PROTOCOL.md 4.13, 4.14, 4.17).</summary>
[Properties(MaxTest = 300)]
public class SendingBodyPropertyTests
{
    private static readonly Gen<SendVia> SendVias =
        from mode in Gens.Byte
        from endpoint in Gens.HostAndPort
        from pin in Gen.OneOf(Gen.Constant(Array.Empty<byte>()), Gens.BytesOf(ProtocolConstants.TlsPinLength))
        from ephemeral in Gens.BytesOf(ProtocolConstants.EphemeralAddressLength)
        from ciphertext in Gens.BytesOf(1, 300)
        select new SendVia(mode, endpoint, pin, ephemeral, ciphertext);

    private static readonly Codec<SendVia> SendViaCodec = new(
        FrameType.SendVia,
        SendVias.Select(value => value with { Mode = 0 }),
        (output, value) => FrameWriter.WriteSendVia(output, 7, value.Endpoint, value.Pin.Value, value.EphemeralAddress.Value, value.Ciphertext.Value),
        body => BodyReader.ReadSendVia(body, out var request) == BodyStatus.Ok ? SendVia.From(0, request) : null);

    private static readonly Codec<SendVia> SendViaModeCodec = new(
        FrameType.SendViaMode,
        SendVias,
        (output, value) => FrameWriter.WriteSendViaMode(output, 7, (SendingMode)value.Mode, value.Endpoint, value.Pin.Value, value.EphemeralAddress.Value, value.Ciphertext.Value),
        body => BodyReader.ReadSendViaMode(body, out var mode, out var request) == BodyStatus.Ok ? SendVia.From((byte)mode, request) : null);

    private static readonly Codec<Items<long>> SendStatusCodec = new(
        FrameType.SendStatus,
        Gens.ArrayOf(Gens.Int64, 1, SendStatusRequest.MaxIds).Select(ids => new Items<long>(ids)),
        (output, value) => FrameWriter.WriteSendStatus(output, 7, value.Value),
        body => BodyReader.ReadSendStatus(body, out var ids) == BodyStatus.Ok ? new Items<long>(ids) : null);

    private static readonly Gen<SendStateEntry> Entries =
        from id in Gens.Int64
        from state in Gens.Byte
        from code in Gens.UInt16
        select new SendStateEntry(id, state, code);

    private static readonly Codec<Items<SendStateEntry>> SendStateCodec = StateCodec(FrameType.SendState);

    private static readonly Codec<Items<SendStateEntry>> SendQueuedCodec = StateCodec(FrameType.SendQueued);

    private static readonly Codec<Items<SendStateEntry>> SendStatesCodec = new(
        FrameType.SendStates,
        Gens.ArrayOf(Entries, 0, 300).Select(entries => new Items<SendStateEntry>(entries)),
        (output, value) => FrameWriter.WriteSendStates(output, 7, value.Value),
        body => BodyReader.TryReadSendStates(body, out var entries) ? new Items<SendStateEntry>(entries) : null);

    [Property]
    public Property Send_via_bodies_to_any_host_and_port_read_back_as_written() => SendViaCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_via_reader_accepts_are_what_the_writer_writes() => SendViaCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Send_via_mode_bodies_with_any_mode_read_back_as_written() => SendViaModeCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_via_mode_reader_accepts_are_what_the_writer_writes() => SendViaModeCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Send_status_bodies_of_1_to_256_ids_read_back_as_written() => SendStatusCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_status_reader_accepts_are_what_the_writer_writes() => SendStatusCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Send_state_bodies_read_back_as_written() => SendStateCodec.ReadsBackAsWritten();

    [Property]
    public Property Send_queued_bodies_read_back_as_written() => SendQueuedCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_state_reader_accepts_are_what_the_writer_writes() => SendStateCodec.AcceptsOnlyWhatTheWriterWrites();

    [Property]
    public Property Send_states_bodies_read_back_as_written() => SendStatesCodec.ReadsBackAsWritten();

    [Property]
    public Property Any_bytes_the_send_states_reader_accepts_are_what_the_writer_writes() => SendStatesCodec.AcceptsOnlyWhatTheWriterWrites();

    [Fact]
    public void A_send_via_mode_body_whose_first_segment_is_empty_reads_like_a_contiguous_one()
    {
        var body = SendViaModeCodec.Body(new SendVia((byte)SendingMode.Batched, "relay.example:7400", Array.Empty<byte>(), new byte[ProtocolConstants.EphemeralAddressLength], new byte[] { 1 }));

        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendViaMode(Segments.Split(body, 0), out var mode, out _));
        Assert.Equal(SendingMode.Batched, mode);
    }

    /// <summary>SEND_QUEUED and SEND_STATE: one entry, modelled as a list of one so that it compares like SEND_STATES.</summary>
    private static Codec<Items<SendStateEntry>> StateCodec(FrameType type) => new(
        type,
        Entries.Select(entry => new Items<SendStateEntry>([entry])),
        (output, value) => FrameWriter.WriteSendState(output, type, 7, value.Value.Single()),
        body => BodyReader.TryReadSendState(body, out var entry) ? new Items<SendStateEntry>([entry]) : null);

    internal sealed record SendVia(byte Mode, string Endpoint, Bytes Pin, Bytes EphemeralAddress, Bytes Ciphertext)
    {
        public static SendVia From(byte mode, SendViaRequest request) =>
            new(mode, request.Endpoint, request.Pin, request.EphemeralAddress, request.Ciphertext);
    }
}
