using System.Buffers.Binary;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// One test per kind of bad input: the error code, whether the connection survives, and that a message
/// acknowledged before the bad input is still there afterwards.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
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

    private byte[] Ephemeral(long? notAfter = null)
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_witness.Address.Card, notAfter ?? _time.GetUtcNow().AddMinutes(10).ToUnixTimeSeconds(), address);
        return address;
    }

    [Fact]
    public async Task Oversize_length_prefix_is_refused_before_the_body_and_closes()
    {
        using var connection = await ConnectAsync();
        var header = new byte[ProtocolConstants.HeaderLength];
        new FrameHeader(0, FrameType.Send, 0, 9).Write(header);
        BinaryPrimitives.WriteUInt32BigEndian(header, 64 * 1024 * 1024); // 64 MiB announced, none sent
        await connection.SendRawAsync(header);

        Assert.Equal(ErrorCode.FrameTooLarge, await connection.ReadErrorAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Fact]
    public async Task Truncated_frame_is_reported_and_closes()
    {
        using var connection = await ConnectAsync();
        var header = new byte[ProtocolConstants.HeaderLength];
        new FrameHeader(100, FrameType.Send, 0, 9).Write(header);
        await connection.SendRawAsync([.. header, .. new byte[40]]); // 40 of the 100 body bytes
        connection.ShutdownSend();

        Assert.Equal(ErrorCode.TruncatedFrame, await connection.ReadErrorAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Fact]
    public async Task Unknown_command_is_skipped_and_the_connection_stays_in_sync()
    {
        using var connection = await ConnectAsync();
        var frame = new byte[ProtocolConstants.HeaderLength + 5];
        new FrameHeader(5, (FrameType)0x42, 0, 9).Write(frame);
        await connection.SendRawAsync(frame);

        Assert.Equal(ErrorCode.UnknownCommand, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Wrong_protocol_version_is_refused_and_closes()
    {
        using var connection = await ConnectAsync(hello: false);
        await connection.SendAsync(w => FrameWriter.WriteHello(w, 1, minVersion: 2, maxVersion: 3));

        Assert.Equal(ErrorCode.UnsupportedVersion, await connection.ReadErrorAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Fact]
    public async Task A_request_before_hello_is_refused_and_closes()
    {
        using var connection = await ConnectAsync(hello: false);
        await connection.SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.Ping, 4));

        Assert.Equal(ErrorCode.HandshakeRequired, await connection.ReadErrorAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Fact]
    public async Task Ciphertext_over_the_maximum_is_refused_and_nothing_is_stored()
    {
        using var connection = await ConnectAsync();
        var tooBig = new byte[(16 * 1024) + 1];
        await connection.SendAsync(w => FrameWriter.WriteSend(w, 3, Ephemeral(), tooBig));

        Assert.Equal(ErrorCode.CiphertextTooLarge, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
        Assert.Equal(1, _relay.Host.Server.Storage.GetStatistics().PendingMessages);
    }

    [Fact]
    public async Task Garbage_ephemeral_address_is_invalid()
    {
        using var connection = await ConnectAsync();
        var garbage = new byte[EphemeralAddress.Length];
        Random.Shared.NextBytes(garbage);
        garbage[0] = EphemeralAddress.Version;
        await connection.SendAsync(w => FrameWriter.WriteSend(w, 3, garbage, [1, 2, 3]));

        Assert.Equal(ErrorCode.AddressInvalid, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Ephemeral_address_of_an_unknown_format_version_is_malformed()
    {
        using var connection = await ConnectAsync();
        var address = Ephemeral();
        address[0] = 0x7F;
        await connection.SendAsync(w => FrameWriter.WriteSend(w, 3, address, [1, 2, 3]));

        Assert.Equal(ErrorCode.AddressMalformed, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Ephemeral_address_past_its_own_expiry_is_expired()
    {
        using var connection = await ConnectAsync();
        var stale = Ephemeral(_time.GetUtcNow().AddMinutes(-1).ToUnixTimeSeconds());
        await connection.SendAsync(w => FrameWriter.WriteSend(w, 3, stale, [1, 2, 3]));

        Assert.Equal(ErrorCode.AddressExpired, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Long_term_address_past_its_lifetime_is_expired()
    {
        await using var client = await _relay.ConnectAsync();
        var shortLived = await client.CreateAddressAsync(_witness.Owner.PublicKey, TimeSpan.FromSeconds(60));
        var address = new byte[EphemeralAddress.Length];
        // Sealed by hand past the card's expiry, so that only the long-term address' own lifetime can refuse it.
        EphemeralAddress.Derive(shortLived.Card.ServicePublicKey.Span, shortLived.Id, _time.GetUtcNow().AddDays(1).ToUnixTimeSeconds(), address);
        _time.Advance(TimeSpan.FromSeconds(61)); // less than the idle time-out, which runs on the same clock

        var error = await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(address, new byte[] { 1 }));
        Assert.Equal(ErrorCode.AddressExpired, error.Code);
        await client.PingAsync();
    }

    [Fact]
    public async Task Revoked_address_refuses_sends_but_keeps_its_pending_messages()
    {
        await using var client = await _relay.ConnectAsync();
        var doomed = await client.CreateAddressAsync(_witness.Owner.PublicKey);
        await client.SendAsync(doomed.Card, new byte[] { 42 });
        await client.RevokeAddressAsync(doomed.Id, _witness.Owner);

        var error = await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(doomed.Card, new byte[] { 43 }));
        Assert.Equal(ErrorCode.AddressRevoked, error.Code);

        await client.AuthenticateAsync(doomed.Id, _witness.Owner);
        var pending = await client.PullAsync(doomed.Id);
        Assert.Equal(new byte[] { 42 }, Assert.Single(pending.Messages).Ciphertext.ToArray());
    }

    [Fact]
    public async Task Revoke_with_a_signature_by_another_key_is_refused()
    {
        await using var client = await _relay.ConnectAsync();
        using var mallory = new Owner();
        var error = await Assert.ThrowsAsync<RelayException>(() => client.RevokeAddressAsync(_witness.Address.Id, mallory.Key));
        Assert.Equal(ErrorCode.BadSignature, error.Code);
        await client.SendAsync(_witness.Address.Card, new byte[] { 1 }); // still accepting
    }

    [Fact]
    public async Task Auth_with_a_wrong_signature_is_refused()
    {
        using var connection = await ConnectAsync();
        var signature = new byte[64];
        Random.Shared.NextBytes(signature);
        await connection.SendAsync(w => FrameWriter.WriteAuth(w, 5, [new AuthClaim(_witness.Address.Id, signature)]));

        Assert.Equal(ErrorCode.BadSignature, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Auth_for_someone_elses_address_is_refused_and_grants_nothing()
    {
        await using var mallory = await _relay.ConnectAsync();
        using var malloryKey = new Owner();
        var own = await malloryKey.CreateAddressAsync(mallory);

        // Mallory signs correctly with her own key, but claims the victim's address too: all or nothing.
        var error = await Assert.ThrowsAsync<RelayException>(() => mallory.AuthenticateAsync([(own.Id, malloryKey.Key), (_witness.Address.Id, malloryKey.Key)]));
        Assert.Equal(ErrorCode.BadSignature, error.Code);
        var pull = await Assert.ThrowsAsync<RelayException>(() => mallory.PullAsync(_witness.Address.Id));
        Assert.Equal(ErrorCode.NotAuthenticated, pull.Code);
        var ownPull = await Assert.ThrowsAsync<RelayException>(() => mallory.PullAsync(own.Id));
        Assert.Equal(ErrorCode.NotAuthenticated, ownPull.Code);
    }

    [Fact]
    public async Task Auth_signature_from_another_connection_does_not_replay()
    {
        // The signature covers this connection's nonce: captured on one connection, it fails on the next.
        await using var first = await _relay.ConnectAsync();
        var data = new byte[SignaturePayloads.AuthLength];
        SignaturePayloads.WriteAuth(data, first.ServerInfo.AuthNonce.Span, _witness.Address.Id);
        var captured = SignatureAlgorithm.Ed25519.Sign(_witness.Owner, data);

        using var second = await ConnectAsync();
        await second.SendAsync(w => FrameWriter.WriteAuth(w, 5, [new AuthClaim(_witness.Address.Id, captured)]));
        Assert.Equal(ErrorCode.BadSignature, await second.ReadErrorAsync());
    }

    [Fact]
    public async Task Pull_without_auth_is_refused()
    {
        using var connection = await ConnectAsync();
        await connection.SendAsync(w => FrameWriter.WritePull(w, 6, _witness.Address.Id, 10));

        Assert.Equal(ErrorCode.NotAuthenticated, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Ack_of_unknown_ids_is_refused_and_acknowledges_nothing()
    {
        await using var rm = await _relay.ConnectAsync();
        await rm.AuthenticateAsync(_witness.Address.Id, _witness.Owner);
        var pending = await rm.PullAsync(_witness.Address.Id);
        var real = pending.Messages.Single().Id;

        // One real id and one made up: all or nothing, so the real one stays pending.
        var error = await Assert.ThrowsAsync<RelayException>(() => rm.AckAsync(_witness.Address.Id, [real, real + 123_456]));
        Assert.Equal(ErrorCode.UnknownMessage, error.Code);
        Assert.Single((await rm.PullAsync(_witness.Address.Id)).Messages);
    }

    [Theory]
    [InlineData(false, ErrorCode.NotAuthenticated)] // under the victim's address, which Mallory has not authenticated for
    [InlineData(true, ErrorCode.UnknownMessage)] // under her own address: ids are per address
    public async Task An_ACK_of_someone_elses_message_id_acknowledges_nothing(bool underOwnAddress, ErrorCode refusal)
    {
        // The victim's real message id, as an observer of the victim's PULL might know it.
        await using var victim = await _relay.ConnectAsync();
        await victim.AuthenticateAsync(_witness.Address.Id, _witness.Owner);
        var real = (await victim.PullAsync(_witness.Address.Id)).Messages.Single().Id;

        await using var mallory = await _relay.ConnectAsync();
        using var malloryKey = new Owner();
        var own = await malloryKey.CreateAddressAsync(mallory);
        await mallory.AuthenticateAsync(own.Id, malloryKey.Key);

        var error = await Assert.ThrowsAsync<RelayException>(() => mallory.AckAsync(underOwnAddress ? own.Id : _witness.Address.Id, [real]));
        Assert.Equal(refusal, error.Code);
        Assert.Equal(real, (await victim.PullAsync(_witness.Address.Id)).Messages.Single().Id);
    }

    [Fact]
    public async Task Malformed_body_is_refused_and_the_connection_stays_in_sync()
    {
        using var connection = await ConnectAsync();
        var frame = new byte[ProtocolConstants.HeaderLength + 3];
        new FrameHeader(3, FrameType.Pull, 0, 9).Write(frame);
        await connection.SendRawAsync(frame);

        Assert.Equal(ErrorCode.MalformedFrame, await connection.ReadErrorAsync());
        await connection.AssertStillOpenAsync();
    }

    [Fact]
    public async Task Reserved_header_flags_close_the_connection()
    {
        using var connection = await ConnectAsync();
        var frame = new byte[ProtocolConstants.HeaderLength];
        new FrameHeader(0, FrameType.Ping, 0x01, 9).Write(frame);
        await connection.SendRawAsync(frame);

        Assert.Equal(ErrorCode.InvalidHeader, await connection.ReadErrorAsync());
        Assert.True(await connection.IsClosedByPeerAsync());
    }

    [Fact]
    public async Task A_flood_of_random_addresses_is_rate_limited()
    {
        using var connection = await ConnectAsync();
        var codes = new List<ErrorCode>();
        for (int i = 0; i < 300; i++)
        {
            var garbage = new byte[EphemeralAddress.Length];
            Random.Shared.NextBytes(garbage);
            garbage[0] = EphemeralAddress.Version;
            await connection.SendAsync(w => FrameWriter.WriteSend(w, (uint)i, garbage, [1]));
            codes.Add(await connection.ReadErrorAsync());
        }

        // The fake clock does not move: after the burst every miss is refused without any crypto.
        Assert.Contains(ErrorCode.AddressInvalid, codes);
        Assert.Contains(ErrorCode.RateLimited, codes);
        Assert.True(codes.Count(c => c == ErrorCode.AddressInvalid) <= 100);
        await connection.AssertStillOpenAsync();
    }
}
