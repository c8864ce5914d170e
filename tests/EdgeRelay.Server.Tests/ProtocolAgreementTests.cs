using System.Buffers.Binary;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// Where docs/PROTOCOL.md states a byte or a code that a client written from it alone depends on: the
/// request id of connection-closing errors, a field out of range against a wrong layout, the HELLO and PING
/// bodies, and which owner keys CREATE_ADDRESS takes. Each refusal also leaves the acknowledged witness intact.
/// </summary>
public sealed class ProtocolAgreementTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private TestRelay _relay = null!;
    private BadInputWitness _witness = null!;

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync(time: _time);
        _witness = await BadInputWitness.StoreAsync(_relay.Host.RelayEndPoint);
    }

    public async Task DisposeAsync()
    {
        await _witness.AssertSurvivesAsync(_relay.Host.RelayEndPoint);
        _witness.Dispose();
        await _relay.DisposeAsync();
    }

    private Task<RawConnection> ConnectAsync(bool hello = true) => RawConnection.ConnectAsync(_relay.Host.RelayEndPoint, hello);

    private static byte[] Frame(FrameType type, uint requestId, byte[] body, byte flags = 0)
    {
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        new FrameHeader(body.Length, type, flags, requestId).Write(frame);
        body.CopyTo(frame.AsSpan(ProtocolConstants.HeaderLength));
        return frame;
    }

    public static TheoryData<string> ClosingCases => ["frame too large", "invalid header", "request before hello", "second hello", "bad magic", "no common version"];

    [Theory]
    [MemberData(nameof(ClosingCases))]
    public async Task An_error_that_closes_the_connection_carries_request_id_0(string provocation)
    {
        using var connection = await ConnectAsync(hello: provocation is not ("request before hello" or "bad magic" or "no common version"));
        var expected = ErrorCode.HandshakeRequired;
        switch (provocation)
        {
            case "frame too large":
                var header = new byte[ProtocolConstants.HeaderLength];
                new FrameHeader(64 * 1024 * 1024, FrameType.Send, 0, 77).Write(header);
                await connection.SendRawAsync(header);
                expected = ErrorCode.FrameTooLarge;
                break;
            case "invalid header":
                await connection.SendRawAsync(Frame(FrameType.Ping, 77, [], flags: 0x01));
                expected = ErrorCode.InvalidHeader;
                break;
            case "request before hello":
                await connection.SendRawAsync(Frame(FrameType.Ping, 77, []));
                break;
            case "second hello":
                await connection.SendAsync(w => FrameWriter.WriteHello(w, 77));
                break;
            case "bad magic":
                await connection.SendRawAsync(Frame(FrameType.Hello, 77, [0x48, 0x54, 0x54, 0x50, 0, 1, 0, 1]));
                expected = ErrorCode.UnsupportedVersion;
                break;
            default:
                await connection.SendAsync(w => FrameWriter.WriteHello(w, 77, minVersion: 2, maxVersion: 3));
                expected = ErrorCode.UnsupportedVersion;
                break;
        }

        Assert.Equal((0u, expected), await connection.ReadErrorWithIdAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Theory]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(0)]
    public async Task A_hello_of_another_length_is_malformed_and_a_proper_hello_may_follow(int length)
    {
        using var connection = await ConnectAsync(hello: false);
        var body = new byte[length];
        if (length >= 8)
        {
            BinaryPrimitives.WriteUInt32BigEndian(body, ProtocolConstants.HelloMagic);
            BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(4), 1);
            BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(6), 1);
        }

        await connection.SendRawAsync(Frame(FrameType.Hello, 5, body));
        Assert.Equal((5u, ErrorCode.MalformedFrame), await connection.ReadErrorWithIdAsync());

        await connection.SendAsync(w => FrameWriter.WriteHello(w, 6));
        var (reply, _) = await connection.ReadFrameAsync();
        Assert.Equal((FrameType.HelloReply, 6u), (reply.Type, reply.RequestId));
    }

    [Fact]
    public async Task A_ping_with_a_body_is_malformed_and_the_connection_stays_in_sync()
    {
        using var connection = await ConnectAsync();
        await connection.SendRawAsync(Frame(FrameType.Ping, 8, [1, 2, 3]));
        Assert.Equal((8u, ErrorCode.MalformedFrame), await connection.ReadErrorWithIdAsync());
        await connection.AssertStillOpenAsync();
    }

    public static TheoryData<string, byte[], ErrorCode> Counts
    {
        get
        {
            var aid = new byte[16];
            return new()
            {
                { "PULL max_count 0", [.. aid, 0, 0], ErrorCode.InvalidArgument },
                { "PULL max_count 1025", [.. aid, 0x04, 0x01], ErrorCode.InvalidArgument },
                { "PULL of 17 bytes", [.. aid, 1], ErrorCode.MalformedFrame },
                { "ACK count 0", [.. aid, 0, 0], ErrorCode.InvalidArgument },
                { "ACK count 1025, every id present", [.. aid, 0x04, 0x01, .. new byte[1025 * 8]], ErrorCode.InvalidArgument },
                { "ACK count 2 with one id", [.. aid, 0, 2, .. new byte[8]], ErrorCode.MalformedFrame },
                { "AUTH count 0", [0, 0], ErrorCode.InvalidArgument },
                { "AUTH count 257", [0x01, 0x01], ErrorCode.InvalidArgument },
                { "AUTH count 1 without its claim", [0, 1], ErrorCode.MalformedFrame },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public async Task A_count_out_of_its_range_is_an_invalid_argument_and_a_wrong_layout_malformed(string request, byte[] body, ErrorCode expected)
    {
        var type = request.Split(' ')[0] switch
        {
            "PULL" => FrameType.Pull,
            "ACK" => FrameType.Ack,
            _ => FrameType.Auth,
        };
        using var connection = await ConnectAsync();
        await connection.SendRawAsync(Frame(type, 11, body));
        Assert.Equal((11u, expected), await connection.ReadErrorWithIdAsync());
        await connection.AssertStillOpenAsync();
    }

    public static TheoryData<string, string> UnusableOwnerKeys => new()
    {
        // The small-order points (orders 1, 2, 4 and 8) that libsodium's and RFC 8032's checks name.
        { "identity (order 1)", "0100000000000000000000000000000000000000000000000000000000000000" },
        { "order 2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" },
        { "order 4", "0000000000000000000000000000000000000000000000000000000000000000" },
        { "order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05" },
        { "order 8, the other", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a" },
        // y = 2: (y² − 1)/(d·y² + 1) has no square root mod p, so no x exists.
        { "not on the curve", "0200000000000000000000000000000000000000000000000000000000000000" },
        // y = 2^255 − 1 ≥ p: RFC 8032 5.1.3 refuses a non-canonical y.
        { "non-canonical", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" },
    };

    [Theory]
    [MemberData(nameof(UnusableOwnerKeys))]
    public async Task Create_address_refuses_an_owner_key_nobody_can_sign_for(string what, string keyHex)
    {
        Assert.NotNull(what);
        using var connection = await ConnectAsync();
        await connection.SendAsync(w => FrameWriter.WriteCreateAddress(w, 12, Convert.FromHexString(keyHex), 0));
        Assert.Equal((12u, ErrorCode.InvalidArgument), await connection.ReadErrorWithIdAsync());
        await connection.AssertStillOpenAsync();
        Assert.Equal(1, _relay.Host.Server.Storage.GetStatistics().Addresses); // the witness' only
    }

    [Fact]
    public async Task Create_address_takes_a_real_owner_key()
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        using var connection = await ConnectAsync();
        await connection.SendAsync(w => FrameWriter.WriteCreateAddress(w, 13, key.PublicKey.Export(KeyBlobFormat.RawPublicKey), 0));
        var (reply, _) = await connection.ReadFrameAsync();
        Assert.Equal((FrameType.AddressCreated, 13u), (reply.Type, reply.RequestId));
    }

    [Fact]
    public async Task The_same_address_twice_in_one_auth_and_the_same_id_twice_in_one_ack_count_once()
    {
        await using var client = await _relay.ConnectAsync();
        var created = await client.CreateAddressAsync(_witness.Owner.PublicKey);
        await client.SendAsync(created.Card, new byte[] { 1 });
        await client.SendAsync(created.Card, new byte[] { 2 });
        await client.AuthenticateAsync([(created.Id, _witness.Owner), (created.Id, _witness.Owner)]);

        var pulled = await client.PullAsync(created.Id);
        Assert.Equal(2, pulled.Messages.Count);
        var first = pulled.Messages[0].Id;
        await client.AckAsync(created.Id, [first, first]);

        var left = await client.PullAsync(created.Id);
        Assert.Equal(new byte[] { 2 }, Assert.Single(left.Messages).Ciphertext.ToArray());
        var again = await Assert.ThrowsAsync<RelayException>(() => client.AckAsync(created.Id, [first]));
        Assert.Equal(ErrorCode.UnknownMessage, again.Code);
    }

    [Fact]
    public async Task An_expired_address_stays_its_owners_to_read_and_settle_but_cannot_be_renewed()
    {
        await using var client = await _relay.ConnectAsync();
        var shortLived = await client.CreateAddressAsync(_witness.Owner.PublicKey, TimeSpan.FromSeconds(60));
        await client.SendAsync(shortLived.Card, new byte[] { 7 });
        _time.Advance(TimeSpan.FromSeconds(61)); // less than the idle time-out, which runs on the same clock

        await client.AuthenticateAsync(shortLived.Id, _witness.Owner);
        var pulled = await client.PullAsync(shortLived.Id);
        await client.SetPolicyAsync(shortLived.Id, DeliveryPolicy.PullOnly);
        var renew = await Assert.ThrowsAsync<RelayException>(() => client.RenewAddressAsync(shortLived.Id));
        Assert.Equal(ErrorCode.AddressExpired, renew.Code);

        await client.AckAsync(shortLived.Id, [Assert.Single(pulled.Messages).Id]);
        Assert.Empty((await client.PullAsync(shortLived.Id)).Messages);
    }
}
