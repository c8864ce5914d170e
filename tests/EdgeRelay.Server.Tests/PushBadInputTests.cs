using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// Bad input to the push and address-management commands, sent over a bare socket: the error code,
/// that the connection survives and stays in sync, and that a message acknowledged before the bad
/// input is still there afterwards.
/// </summary>
public sealed class PushBadInputTests : IAsyncLifetime
{
    private const uint BadRequestId = 9;

    private TestRelay _relay = null!;
    private BadInputWitness _witness = null!;

    public static TheoryData<FrameType, int> WrongLengths
    {
        get
        {
            var data = new TheoryData<FrameType, int>();
            foreach (var type in new[] { FrameType.Subscribe, FrameType.Credit, FrameType.Unsubscribe, FrameType.SetPolicy, FrameType.SetNotify, FrameType.RenewAddress })
            {
                data.Add(type, -1);
                data.Add(type, +1);
                data.Add(type, int.MinValue); // no body at all
            }

            return data;
        }
    }

    public async Task InitializeAsync()
    {
        _relay = await TestRelay.StartAsync();
        _witness = await BadInputWitness.StoreAsync(_relay.Host.RelayEndPoint);
    }

    public async Task DisposeAsync()
    {
        await _witness.AssertSurvivesAsync(_relay.Host.RelayEndPoint);
        _witness.Dispose();
        await _relay.DisposeAsync();
    }

    private Task<RawConnection> ConnectAsync() => RawConnection.ConnectAsync(_relay.Host.RelayEndPoint);

    /// <summary>
    /// A raw connection authenticated for the test address. RawConnection drops the HELLO reply, and the
    /// AUTH signature covers that reply's per-connection nonce, so the handshake is done here by hand.
    /// </summary>
    private async Task<RawConnection> ConnectAuthenticatedAsync()
    {
        var connection = await RawConnection.ConnectAsync(_relay.Host.RelayEndPoint, hello: false);
        await connection.SendAsync(w => FrameWriter.WriteHello(w, 1));
        var (header, body) = await connection.ReadFrameAsync();
        Assert.Equal(FrameType.HelloReply, header.Type);
        Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(body), out var info));

        var payload = new byte[SignaturePayloads.AuthLength];
        SignaturePayloads.WriteAuth(payload, info.AuthNonce.Span, _witness.Address.Id);
        var signature = SignatureAlgorithm.Ed25519.Sign(_witness.Owner, payload);
        await connection.SendAsync(w => FrameWriter.WriteAuth(w, 2, [new AuthClaim(_witness.Address.Id, signature)]));
        await ExpectOkAsync(connection, 2);
        return connection;
    }

    /// <summary>
    /// Authenticated and subscribed with no credit: every precondition of every push command holds, so the
    /// body is the only thing a refusal can be about, and with no credit no DELIVER interleaves with the replies.
    /// </summary>
    private async Task<RawConnection> ConnectSubscribedAsync()
    {
        var connection = await ConnectAuthenticatedAsync();
        await connection.SendAsync(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 3, _witness.Address.Id, 0));
        await ExpectOkAsync(connection, 3);
        return connection;
    }

    private static async Task ExpectOkAsync(RawConnection connection, uint requestId)
    {
        var (header, body) = await connection.ReadFrameAsync();
        var detail = header.Type == FrameType.Error && BodyReader.TryReadError(new ReadOnlySequence<byte>(body), out var error)
            ? $"{ErrorCodes.Name(error.Code)}: {error.Reason}"
            : header.Type.ToString();
        Assert.True(header.Type == FrameType.Ok, $"expected OK, got {detail}");
        Assert.Equal(requestId, header.RequestId);
    }

    /// <summary>A well-formed body of <paramref name="type"/> for the test address.</summary>
    private byte[] ValidBody(FrameType type)
    {
        var writer = new ArrayBufferWriter<byte>();
        switch (type)
        {
            case FrameType.Subscribe:
            case FrameType.Credit:
                FrameWriter.WriteCredit(writer, type, BadRequestId, _witness.Address.Id, 0);
                break;
            case FrameType.Unsubscribe:
                FrameWriter.WriteUnsubscribe(writer, BadRequestId, _witness.Address.Id);
                break;
            case FrameType.SetPolicy:
                FrameWriter.WriteSetPolicy(writer, BadRequestId, _witness.Address.Id, DeliveryPolicy.Immediate);
                break;
            case FrameType.SetNotify:
                FrameWriter.WriteSetNotify(writer, BadRequestId, _witness.Address.Id, null);
                break;
            case FrameType.RenewAddress:
                FrameWriter.WriteRenewAddress(writer, BadRequestId, _witness.Address.Id, 0);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "not a push or address-management request");
        }

        return writer.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();
    }

    private static byte[] Frame(FrameType type, ReadOnlySpan<byte> body)
    {
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        new FrameHeader(body.Length, type, 0, BadRequestId).Write(frame);
        body.CopyTo(frame.AsSpan(ProtocolConstants.HeaderLength));
        return frame;
    }

    private byte[] SetNotifyBody(ushort declaredLength, ReadOnlySpan<byte> endpoint)
    {
        var body = new byte[ProtocolConstants.AddressIdLength + 2 + endpoint.Length];
        _witness.Address.Id.Write(body);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(ProtocolConstants.AddressIdLength), declaredLength);
        endpoint.CopyTo(body.AsSpan(ProtocolConstants.AddressIdLength + 2));
        return body;
    }

    [Theory]
    [MemberData(nameof(WrongLengths))]
    public async Task Body_of_the_wrong_length_is_malformed_and_the_connection_stays_in_sync(FrameType type, int change)
    {
        using var connection = await ConnectSubscribedAsync();
        var valid = ValidBody(type);
        var body = change switch
        {
            int.MinValue => [],
            < 0 => valid[..^1],
            _ => [.. valid, 0],
        };
        await connection.SendRawAsync(Frame(type, body));

        Assert.Equal(ErrorCode.MalformedFrame, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();

        // Skipped, not half-applied: the subscription from before is still there to end.
        await connection.SendAsync(w => FrameWriter.WriteUnsubscribe(w, 10, _witness.Address.Id));
        await ExpectOkAsync(connection, 10);
    }

    [Theory]
    [InlineData(3, 0u)] // no such kind
    [InlineData(255, 0u)]
    [InlineData(0, 1u)] // immediate takes no window
    [InlineData(1, 0u)] // batched needs one
    [InlineData(2, 500u)] // pull-only takes no window
    [InlineData(1, 3_600_001u)] // one millisecond over the default Relay:MaxBatchWindow of one hour
    public async Task Set_policy_out_of_range_is_an_invalid_argument(byte kind, uint window)
    {
        using var connection = await ConnectAuthenticatedAsync();
        await connection.SendAsync(w => FrameWriter.WriteSetPolicy(w, BadRequestId, _witness.Address.Id, new DeliveryPolicy((DeliveryPolicyKind)kind, window)));

        Assert.Equal(ErrorCode.InvalidArgument, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Theory]
    [InlineData(365u * 24 * 3600 + 1)] // one second over the default Relay:MaxAddressLifetime
    [InlineData(uint.MaxValue)]
    public async Task Renew_address_over_the_maximum_lifetime_is_an_invalid_argument(uint lifetime)
    {
        using var connection = await ConnectAuthenticatedAsync();
        await connection.SendAsync(w => FrameWriter.WriteRenewAddress(w, BadRequestId, _witness.Address.Id, lifetime));

        Assert.Equal(ErrorCode.InvalidArgument, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { (byte)'h', (byte)'t', (byte)'t', (byte)'p', (byte)'s', (byte)':', 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded surrogate
    public async Task Set_notify_with_invalid_utf8_is_malformed(byte[] endpoint)
    {
        using var connection = await ConnectAuthenticatedAsync();
        await connection.SendRawAsync(Frame(FrameType.SetNotify, SetNotifyBody((ushort)endpoint.Length, endpoint)));

        Assert.Equal(ErrorCode.MalformedFrame, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Set_notify_declaring_more_than_2048_bytes_is_an_invalid_argument()
    {
        // Consistent length, plain ASCII: only the size is out of its range (len is 0..2048).
        using var connection = await ConnectAuthenticatedAsync();
        var endpoint = Encoding.ASCII.GetBytes("https://push.example/" + new string('a', 2049 - 21));
        await connection.SendRawAsync(Frame(FrameType.SetNotify, SetNotifyBody((ushort)endpoint.Length, endpoint)));

        Assert.Equal(ErrorCode.InvalidArgument, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Theory]
    [InlineData(FrameType.Subscribe)]
    [InlineData(FrameType.SetPolicy)]
    [InlineData(FrameType.SetNotify)]
    [InlineData(FrameType.RenewAddress)]
    public async Task Owner_command_without_auth_is_refused(FrameType type)
    {
        using var connection = await ConnectAsync();
        if (type == FrameType.Subscribe)
        {
            // With credit, so that a SUBSCRIBE wrongly accepted would show up as a DELIVER of the witness.
            await connection.SendAsync(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, BadRequestId, _witness.Address.Id, 16));
        }
        else
        {
            await connection.SendRawAsync(Frame(type, ValidBody(type)));
        }

        Assert.Equal(ErrorCode.NotAuthenticated, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Auth_for_one_address_does_not_cover_another()
    {
        await using var client = await _relay.ConnectAsync();
        var other = await client.CreateAddressAsync(_witness.Owner.PublicKey);

        using var connection = await ConnectAuthenticatedAsync();
        await connection.SendAsync(w => FrameWriter.WriteRenewAddress(w, BadRequestId, other.Id, 0));

        Assert.Equal(ErrorCode.NotAuthenticated, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Theory]
    [InlineData(FrameType.Credit, false)]
    [InlineData(FrameType.Credit, true)]
    [InlineData(FrameType.Unsubscribe, false)]
    [InlineData(FrameType.Unsubscribe, true)]
    public async Task Credit_or_unsubscribe_without_subscribe_is_not_subscribed(FrameType type, bool authenticated)
    {
        // Authenticated or not, the answer is the same: there is no subscription on this connection.
        using var connection = authenticated ? await ConnectAuthenticatedAsync() : await ConnectAsync();
        await connection.SendRawAsync(Frame(type, ValidBody(type)));

        Assert.Equal(ErrorCode.NotSubscribed, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Theory]
    [InlineData(FrameType.Credit)]
    [InlineData(FrameType.Unsubscribe)]
    public async Task Credit_or_unsubscribe_after_unsubscribe_is_not_subscribed(FrameType type)
    {
        using var connection = await ConnectSubscribedAsync();
        await connection.SendAsync(w => FrameWriter.WriteUnsubscribe(w, 4, _witness.Address.Id));
        await ExpectOkAsync(connection, 4);

        await connection.SendRawAsync(Frame(type, ValidBody(type)));
        Assert.Equal(ErrorCode.NotSubscribed, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task A_subscription_on_another_connection_does_not_count()
    {
        // Subscriptions belong to a connection: the owner's other connection cannot grant credit to it.
        using var subscribed = await ConnectSubscribedAsync();
        using var connection = await ConnectAuthenticatedAsync();
        await connection.SendRawAsync(Frame(FrameType.Credit, ValidBody(FrameType.Credit)));

        Assert.Equal(ErrorCode.NotSubscribed, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
        await subscribed.AssertStillOpenAsync();
    }
}
