using System.Buffers.Binary;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>One malformed or out-of-range SEND_VIA or SEND_STATUS per case, over a raw connection: each gets its code and keeps the connection.</summary>
public sealed class SendViaBadInputTests : IAsyncLifetime
{
    private TestRelay _relay = null!;
    private RawConnection _raw = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _raw = await RawConnection.ConnectAsync(_relay.Host.RelayEndPoint);
        var token = System.Text.Encoding.ASCII.GetBytes(_relay.Host.Server.Tokens.Create("rm", TokenRole.Rm).Secret);
        await _raw.SendAsync(w => FrameWriter.WriteAuthToken(w, 2, token));
        Assert.Equal(FrameType.Ok, (await _raw.ReadFrameAsync()).Header.Type);
    }

    public async Task DisposeAsync()
    {
        _raw.Dispose();
        await _relay.DisposeAsync();
    }

    public static TheoryData<string, byte[], ErrorCode> SendViaBodies => new()
    {
        // An empty body has no endpoint length.
        { "empty", [], ErrorCode.MalformedFrame },

        // endpoint_len 0: no endpoint.
        { "no endpoint", Body(0, "", 0, 73, 1), ErrorCode.InvalidArgument },

        // Not host:port (no port), and a port out of range.
        { "no port", Body(9, "relay.b.x", 0, 73, 1), ErrorCode.InvalidArgument },
        { "port 0", Body(11, "relay.b.x:0", 0, 73, 1), ErrorCode.InvalidArgument },

        // A pin of 5 bytes: pins are 0 or 32.
        { "pin 5", Body(14, "relay.b.x:7400", 5, 73, 1), ErrorCode.InvalidArgument },

        // The body ends inside the ephemeral address.
        { "short address", Body(14, "relay.b.x:7400", 0, 40, 0), ErrorCode.MalformedFrame },

        // No ciphertext after the address.
        { "empty ciphertext", Body(14, "relay.b.x:7400", 0, 73, 0), ErrorCode.InvalidArgument },

        // An endpoint length running past the body.
        { "endpoint past body", Body(200, "relay.b.x:7400", 0, 0, 0), ErrorCode.MalformedFrame },

        // An ephemeral address of format version 2.
        { "version 2", Body(14, "relay.b.x:7400", 0, 73, 1, version: 2), ErrorCode.AddressMalformed },

        // A ciphertext one byte over the advertised maximum.
        { "too large", Body(14, "relay.b.x:7400", 0, 73, ProtocolConstants.DefaultMaxCiphertext + 1), ErrorCode.CiphertextTooLarge },
    };

    [Theory]
    [MemberData(nameof(SendViaBodies))]
    public async Task A_bad_SEND_VIA_is_refused_with_its_code(string what, byte[] body, ErrorCode expected)
    {
        _ = what;
        await AssertRefusedAsync(FrameType.SendVia, body, expected);
    }

    public static TheoryData<string, byte[], ErrorCode> SendViaModeBodies => new()
    {
        // No mode.
        { "empty", [], ErrorCode.MalformedFrame },

        // A mode, then a SEND_VIA body that does not parse: the layout is checked before the mode, whatever it is.
        { "batched, short address", [2, .. Body(14, "relay.b.x:7400", 0, 40, 0)], ErrorCode.MalformedFrame },
        { "mode 9, no endpoint", [9, .. Body(0, "", 0, 73, 1)], ErrorCode.InvalidArgument },

        // Modes this relay does not offer (0, and 3 to 255 are none), checked before the ciphertext and the address.
        { "mode 0", [0, .. Body(14, "relay.b.x:7400", 0, 73, 1)], ErrorCode.ModeUnavailable },
        { "mode 3, too large", [3, .. Body(14, "relay.b.x:7400", 0, 73, ProtocolConstants.DefaultMaxCiphertext + 1)], ErrorCode.ModeUnavailable },
        { "mode 255, version 2", [255, .. Body(14, "relay.b.x:7400", 0, 73, 1, version: 2)], ErrorCode.ModeUnavailable },

        // An offered mode, then SEND_VIA's own refusals.
        { "batched, too large", [2, .. Body(14, "relay.b.x:7400", 0, 73, ProtocolConstants.DefaultMaxCiphertext + 1)], ErrorCode.CiphertextTooLarge },
        { "batched, version 2", [2, .. Body(14, "relay.b.x:7400", 0, 73, 1, version: 2)], ErrorCode.AddressMalformed },
    };

    [Theory]
    [MemberData(nameof(SendViaModeBodies))]
    public async Task A_bad_SEND_VIA_MODE_is_refused_with_its_code(string what, byte[] body, ErrorCode expected)
    {
        _ = what;
        await AssertRefusedAsync(FrameType.SendViaMode, body, expected);
    }

    [Fact]
    public async Task With_the_batched_mode_off_SEND_VIA_MODE_2_is_unavailable_and_mode_1_is_queued()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Sending.BatchedDelay = TimeSpan.Zero);
        using var raw = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        var token = System.Text.Encoding.ASCII.GetBytes(relay.Host.Server.Tokens.Create("rm", TokenRole.Rm).Secret);
        await raw.SendAsync(w => FrameWriter.WriteAuthToken(w, 2, token));
        Assert.Equal(FrameType.Ok, (await raw.ReadFrameAsync()).Header.Type);
        var body = Body(14, "relay.b.x:7400", 0, 73, 1);

        await raw.SendRawAsync(Frame(FrameType.SendViaMode, 3, [2, .. body]));
        Assert.Equal((3u, ErrorCode.ModeUnavailable), await raw.ReadErrorWithIdAsync());
        Assert.Equal(0, relay.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages);

        await raw.SendRawAsync(Frame(FrameType.SendViaMode, 4, [1, .. body]));
        var queued = await raw.ReadFrameAsync();
        Assert.Equal((FrameType.SendQueued, 4u), (queued.Header.Type, queued.Header.RequestId));
        Assert.Equal(1, relay.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0 }, ErrorCode.InvalidArgument)] // count 0
    [InlineData(new byte[] { 1, 1 }, ErrorCode.InvalidArgument)] // count 257
    [InlineData(new byte[] { 0, 1, 0, 0, 0 }, ErrorCode.MalformedFrame)] // one id announced, three bytes given
    [InlineData(new byte[] { 0 }, ErrorCode.MalformedFrame)] // no count
    public async Task A_bad_SEND_STATUS_is_refused_with_its_code(byte[] body, ErrorCode expected) =>
        await AssertRefusedAsync(FrameType.SendStatus, body, expected);

    [Fact]
    public async Task WATCH_SENDS_with_a_body_is_malformed() => await AssertRefusedAsync(FrameType.WatchSends, [1], ErrorCode.MalformedFrame);

    private async Task AssertRefusedAsync(FrameType type, byte[] body, ErrorCode expected)
    {
        await _raw.SendRawAsync(Frame(type, 7, body));
        Assert.Equal((7u, expected), await _raw.ReadErrorWithIdAsync());
        await _raw.AssertStillOpenAsync();
        Assert.Equal(0, _relay.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages);
    }

    private static byte[] Body(int endpointLength, string endpoint, int pinLength, int addressBytes, int ciphertextBytes, byte version = 1)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(endpoint);
        var body = new List<byte> { (byte)endpointLength };
        body.AddRange(text);
        body.Add((byte)pinLength);
        body.AddRange(new byte[pinLength]);
        var address = new byte[addressBytes];
        if (addressBytes > 0)
        {
            address[0] = version;
        }

        body.AddRange(address);
        body.AddRange(Enumerable.Repeat((byte)9, ciphertextBytes));
        return [.. body];
    }

    private static byte[] Frame(FrameType type, uint requestId, byte[] body)
    {
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        frame[4] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(6), requestId);
        body.CopyTo(frame, ProtocolConstants.HeaderLength);
        return frame;
    }
}
