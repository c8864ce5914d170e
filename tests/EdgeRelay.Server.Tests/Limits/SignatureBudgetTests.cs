using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>
/// The budget of signature checks (Limits:SignatureChecks*): every AUTH claim and every REVOKE_ADDRESS is an
/// Ed25519 verification, paid for before it is made, from the connection's bucket and then the relay's. Past
/// either, VERIFY_RATE_LIMITED: nothing checked, granted or revoked, the connection open. Sessions over in-memory
/// pipes, the clock in the test's hands.
/// </summary>
public sealed class SignatureBudgetTests : IAsyncLifetime
{
    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);
    private SessionHarness? _relay;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        _owner.Dispose();
    }

    [Fact]
    public async Task An_AUTH_past_the_connections_budget_is_refused_whole_grants_nothing_and_tokens_refill_with_the_clock()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 100;
            o.Limits.SignatureCheckBurstPerConnection = 300;
            o.Limits.SignatureChecksPerSecond = 0;
        });
        await using var owner = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(owner, _owner)).Aid;

        // 256 claims fit the full bucket of 300; the next 256 do not, and none of them is checked.
        Assert.Equal("ok", await AuthAsync(owner, aid, claims: 256, requestId: 10));
        Assert.Equal("VERIFY_RATE_LIMITED", await AuthAsync(owner, aid, claims: 256, requestId: 11));
        Assert.Equal(256, relay.Server.Metrics.SignatureChecks.Value);
        Assert.Equal((256.0, 0.0), relay.Server.Metrics.SignatureChecksRefusedCounts);

        // Paid whole or refused whole: the 44 tokens left still pay for a smaller AUTH.
        Assert.Equal("ok", await AuthAsync(owner, aid, claims: 44, requestId: 12));
        Assert.Equal("VERIFY_RATE_LIMITED", await AuthAsync(owner, aid, claims: 1, requestId: 13));

        // 2.56 s at 100 a second refills 256.
        relay.Time.Advance(TimeSpan.FromMilliseconds(2560));
        Assert.Equal("ok", await AuthAsync(owner, aid, claims: 256, requestId: 14));

        // The bucket is the connection's: another one starts full, and a refused AUTH granted it nothing.
        await using var other = await relay.ConnectAsync();
        Assert.Equal("NOT_AUTHENTICATED", await PullAsync(other, aid));
        Assert.Equal("ok", await AuthAsync(other, aid, claims: 256, requestId: 20));
        Assert.Equal("ok", await PullAsync(other, aid));
    }

    [Fact]
    public async Task A_refused_AUTH_leaves_its_connection_unauthenticated_and_open()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 1;
            o.Limits.SignatureCheckBurstPerConnection = 256;
        });
        await using var owner = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(owner, _owner)).Aid;
        await using var attacker = await relay.ConnectAsync();

        // A garbage signature repeated: the first AUTH is checked (and refused as a bad signature), the next one
        // is not even checked.
        Assert.Equal("BAD_SIGNATURE", await AuthAsync(attacker, aid, claims: 256, requestId: 5, sign: false));
        Assert.Equal("VERIFY_RATE_LIMITED", await AuthAsync(attacker, aid, claims: 256, requestId: 6));
        Assert.Equal("NOT_AUTHENTICATED", await PullAsync(attacker, aid));
        await attacker.SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.Ping, 7));
        Assert.Equal(FrameType.Pong, (await attacker.ReadFrameAsync()).Header.Type);
    }

    [Fact]
    public async Task The_relays_budget_bounds_many_connections_together_and_gives_a_refused_connection_its_tokens_back()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 1;
            o.Limits.SignatureCheckBurstPerConnection = 512;
            o.Limits.SignatureChecksPerSecond = 100;
            o.Limits.SignatureCheckBurst = 600;
        });
        await using var setup = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(setup, _owner)).Aid;

        // Two connections, each within its own 512: the relay's 600 takes the first 512 and refuses the second.
        await using var first = await relay.ConnectAsync();
        await using var second = await relay.ConnectAsync();
        Assert.Equal("ok", await AuthAsync(first, aid, claims: 256, requestId: 1));
        Assert.Equal("ok", await AuthAsync(second, aid, claims: 256, requestId: 1));
        Assert.Equal("VERIFY_RATE_LIMITED", await AuthAsync(second, aid, claims: 256, requestId: 2));
        Assert.Equal((0.0, 256.0), relay.Server.Metrics.SignatureChecksRefusedCounts);

        // Once the relay's bucket refills, the second connection still has its 256: the refusal cost it nothing.
        relay.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("ok", await AuthAsync(second, aid, claims: 256, requestId: 3));
        Assert.Equal(768, relay.Server.Metrics.SignatureChecks.Value);
    }

    [Fact]
    public async Task Unknown_addresses_are_refused_without_spending_the_budget()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 1;
            o.Limits.SignatureCheckBurstPerConnection = 256;
        });
        await using var connection = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(connection, _owner)).Aid;
        for (uint i = 0; i < 10; i++)
        {
            Assert.Equal("ADDRESS_UNKNOWN", await AuthAsync(connection, AddressId.NewRandom(), claims: 256, requestId: i));
        }

        Assert.Equal(0, relay.Server.Metrics.SignatureChecks.Value);
        Assert.Equal("ok", await AuthAsync(connection, aid, claims: 256, requestId: 20));
    }

    [Fact]
    public async Task A_REVOKE_ADDRESS_past_the_budget_is_refused_and_the_address_stays_usable()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 1;
            o.Limits.SignatureCheckBurstPerConnection = 256;
        });
        await using var connection = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(connection, _owner)).Aid;
        Assert.Equal("ok", await AuthAsync(connection, aid, claims: 256, requestId: 5));

        Assert.Equal("VERIFY_RATE_LIMITED", await RevokeAsync(connection, aid, requestId: 6));
        Assert.True(relay.Storage.TryGetAddress(aid, out var info));
        Assert.False(info.IsRevoked);

        relay.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("ok", await RevokeAsync(connection, aid, requestId: 7));
        Assert.True(relay.Storage.TryGetAddress(aid, out info));
        Assert.True(info.IsRevoked);
    }

    [Fact]
    public async Task A_reloaded_budget_applies_to_open_connections_and_zero_turns_it_off()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 1;
            o.Limits.SignatureCheckBurstPerConnection = 256;
        });
        await using var connection = await relay.ConnectAsync();
        var aid = (await SessionHarness.CreateAddressAsync(connection, _owner)).Aid;
        Assert.Equal("ok", await AuthAsync(connection, aid, claims: 256, requestId: 1));
        Assert.Equal("VERIFY_RATE_LIMITED", await AuthAsync(connection, aid, claims: 1, requestId: 2));

        var change = relay.Server.ApplyConfiguration(SendRateTests.Reloaded(relay.Server.Options, o =>
        {
            o.Limits.SignatureChecksPerSecondPerConnection = 0;
            o.Limits.SignatureChecksPerSecond = 0;
        }));
        Assert.Equal(["Limits:SignatureChecksPerSecondPerConnection", "Limits:SignatureChecksPerSecond"], change.Applied);
        for (uint i = 0; i < 5; i++)
        {
            Assert.Equal("ok", await AuthAsync(connection, aid, claims: 256, requestId: 10 + i));
        }
    }

    [Theory]
    [InlineData(255, 20_000, "Limits:SignatureCheckBurstPerConnection")]
    [InlineData(4_096, 255, "Limits:SignatureCheckBurst")]
    public void A_burst_smaller_than_a_whole_AUTH_is_refused_at_start(int connectionBurst, int relayBurst, string named)
    {
        var options = new EdgeRelayOptions { Limits = { SignatureCheckBurstPerConnection = connectionBurst, SignatureCheckBurst = relayBurst } };
        var problems = options.Validate();
        Assert.Contains(problems, p => p.Contains(named, StringComparison.Ordinal));
    }

    /// <summary>
    /// One AUTH of <paramref name="claims"/> claims of <paramref name="aid"/> (signed by the owner over this
    /// connection's nonce, or garbage); "ok" or the refusal's code name.
    /// </summary>
    private async Task<string> AuthAsync(HarnessConnection connection, AddressId aid, int claims, uint requestId, bool sign = true)
    {
        var signature = new byte[64];
        if (sign)
        {
            var payload = new byte[SignaturePayloads.AuthLength];
            SignaturePayloads.WriteAuth(payload, connection.ServerInfo.AuthNonce.Span, aid);
            signature = SignatureAlgorithm.Ed25519.Sign(_owner, payload);
        }

        var list = Enumerable.Range(0, claims).Select(_ => new AuthClaim(aid, signature)).ToArray();
        await connection.SendAsync(w => FrameWriter.WriteAuth(w, requestId, list));
        return await OutcomeAsync(connection, requestId);
    }

    private async Task<string> RevokeAsync(HarnessConnection connection, AddressId aid, uint requestId)
    {
        var payload = new byte[SignaturePayloads.RevokeLength];
        SignaturePayloads.WriteRevoke(payload, aid);
        var signature = SignatureAlgorithm.Ed25519.Sign(_owner, payload);
        await connection.SendAsync(w => FrameWriter.WriteRevokeAddress(w, requestId, aid, signature));
        return await OutcomeAsync(connection, requestId);
    }

    private static async Task<string> PullAsync(HarnessConnection connection, AddressId aid)
    {
        await connection.SendAsync(w => FrameWriter.WritePull(w, 99, aid, 1));
        var frame = await connection.ReadFrameAsync();
        Assert.Equal(99u, frame.Header.RequestId);
        return frame.Header.Type == FrameType.Messages ? "ok" : Name(frame);
    }

    private static async Task<string> OutcomeAsync(HarnessConnection connection, uint requestId)
    {
        var frame = await connection.ReadFrameAsync();
        Assert.Equal(requestId, frame.Header.RequestId);
        return frame.Header.Type == FrameType.Ok ? "ok" : Name(frame);
    }

    private static string Name(ReceivedFrame frame)
    {
        Assert.Equal(FrameType.Error, frame.Header.Type);
        Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(frame.Body), out var error));
        return ErrorCodes.Name(error.Code);
    }
}
