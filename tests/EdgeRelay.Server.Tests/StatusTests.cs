using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>STATUS and CONFIG over a real relay: the reported fields, the roles, and the push after a configuration change.</summary>
public sealed class StatusTests
{
    private static CancellationToken Soon => Eventually.Deadline(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Status_reports_the_limits_the_roles_and_the_sending_options()
    {
        await using var relay = await TestRelay.StartAsync(o =>
        {
            o.Relay.MaxCiphertextBytes = 12_000;
            o.Sending.MaxCiphertextBytes = 9_000;
            o.Storage.MaxDiskBytes = 1L << 30;
        });
        await using var client = await relay.ConnectAsync();

        var status = await client.GetStatusAsync();

        Assert.Equal(Availability.Accepting, status.Availability);
        Assert.Equal("", status.Reason);
        Assert.Equal(ServiceRoles.Receiving | ServiceRoles.Sending, status.Roles);
        Assert.Equal(1u, status.ConfigVersion);
        Assert.Equal(12_000u, status.MaxCiphertext);
        Assert.Equal(9_000u, status.MaxSendViaCiphertext);
        Assert.InRange(status.DiskHeadroom, (1UL << 30) - (64UL << 20), 1UL << 30); // the log's first segment or so is in use
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 30_000)], status.SendingOptions); // Sending:BatchedDelay's default
    }

    [Fact]
    public async Task Without_a_disk_budget_the_headroom_is_unlimited_and_the_send_via_limit_defaults_to_the_relays()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Storage.MaxDiskBytes = 0);
        await using var client = await relay.ConnectAsync();

        var status = await client.GetStatusAsync();

        Assert.Equal(RelayStatus.Unlimited, status.DiskHeadroom);
        Assert.Equal(16_384u, status.MaxSendViaCiphertext); // Sending:MaxCiphertextBytes 0 is the relay's own limit
    }

    [Fact]
    public async Task A_relay_that_plays_one_role_refuses_the_other_roles_commands_as_unknown()
    {
        await using var receivingOnly = await TestRelay.StartAsync(o => o.Roles.Sending = false);
        using (var raw = await RawConnection.ConnectAsync(receivingOnly.Host.RelayEndPoint))
        {
            await raw.SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.SendVia, 7));
            var (id, code) = await raw.ReadErrorWithIdAsync();
            Assert.Equal((7u, ErrorCode.UnknownCommand), (id, code));
            await raw.SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.SendViaMode, 8));
            Assert.Equal((8u, ErrorCode.UnknownCommand), await raw.ReadErrorWithIdAsync());
            await raw.AssertStillOpenAsync();
        }

        await using var sendingOnly = await TestRelay.StartAsync(o => o.Roles.Receiving = false);
        await using var client = await sendingOnly.ConnectAsync();
        using var owner = new Owner();
        var refused = await Assert.ThrowsAsync<RelayException>(() => owner.CreateAddressAsync(client));
        Assert.Equal(ErrorCode.UnknownCommand, refused.Code);
        var status = await client.GetStatusAsync();
        Assert.Equal(ServiceRoles.Sending, status.Roles);
        Assert.Equal(0u, status.MaxCiphertext);
    }

    [Fact]
    public async Task Status_with_a_body_is_malformed_and_the_connection_stays_open()
    {
        await using var relay = await TestRelay.StartAsync();
        using var raw = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        await raw.SendAsync(w => FrameWriter.WriteAuthToken(w, 3, "x"u8)); // any frame with a body, retyped below
        await raw.SendRawAsync([0, 0, 0, 1, (byte)FrameType.Status, 0, 0, 0, 0, 4, 0]);

        Assert.Equal(ErrorCode.TokenUnknown, await raw.ReadErrorAsync());
        var (id, code) = await raw.ReadErrorWithIdAsync();
        Assert.Equal((4u, ErrorCode.MalformedFrame), (id, code));
        await raw.AssertStillOpenAsync();
    }

    [Fact]
    public async Task A_sending_configuration_change_is_pushed_to_connected_RMs_and_to_no_one_else()
    {
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;
        await using var asked = await relay.ConnectAsync();
        await using var rm = await relay.ConnectAsync();
        await using var sender = await relay.ConnectAsync();
        await asked.GetStatusAsync();
        await rm.AuthenticateTokenAsync(server.Tokens.Create("alice", TokenRole.Rm).Secret);
        await sender.PingAsync();

        var reloaded = TestRelay.Options(relay.DataDir);
        reloaded.Relay.Endpoint = server.Options.Relay.Endpoint;
        reloaded.Http.Endpoint = server.Options.Http.Endpoint;
        reloaded.Sending.MaxCiphertextBytes = 4_000;
        var change = server.ApplyConfiguration(reloaded);

        Assert.Equal(["Sending:MaxCiphertextBytes"], change.Applied);
        Assert.Empty(change.NeedRestart);
        foreach (var client in new[] { asked, rm })
        {
            var pushed = await client.ConfigUpdates.ReadAsync(Soon);
            Assert.Equal(2u, pushed.ConfigVersion);
            Assert.Equal(4_000u, pushed.MaxSendViaCiphertext);
            Assert.Equal([new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 30_000)], pushed.SendingOptions);
        }

        // The new limit applies at once: SEND_VIA one byte over it is refused, at it is queued.
        var destination = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9);
        var ephemeral = new byte[ProtocolConstants.EphemeralAddressLength];
        ephemeral[0] = 1;
        var tooLarge = await Assert.ThrowsAsync<RelayException>(() => rm.SendViaAsync(destination.ToString(), ReadOnlyMemory<byte>.Empty, ephemeral, new byte[4_001]));
        Assert.Equal(ErrorCode.CiphertextTooLarge, tooLarge.Code);
        await rm.SendViaAsync(destination.ToString(), ReadOnlyMemory<byte>.Empty, ephemeral, new byte[4_000]);

        // The push was queued before ApplyConfiguration returned, so it would be ahead of this PONG.
        await sender.PingAsync();
        Assert.False(sender.ConfigUpdates.TryRead(out _));
        Assert.Equal(2u, (await sender.GetStatusAsync()).ConfigVersion);
        Assert.Equal(4_000, server.MaxSendViaCiphertext);
    }

    [Fact]
    public async Task A_change_of_the_batched_delay_is_pushed_and_applies_to_SEND_VIA_MODE_at_once()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Sending.BatchedDelay = TimeSpan.FromSeconds(5));
        var server = relay.Host.Server;
        await using var rm = await relay.ConnectAsync();
        await rm.AuthenticateTokenAsync(server.Tokens.Create("alice", TokenRole.Rm).Secret);
        using var refusing = Forwarding.RefusingPort.Bind();
        var down = refusing.Endpoint;
        Assert.Equal(SendStateKind.Queued, (await rm.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Forwarding.ForwardingTests.Ephemeral(), new byte[] { 1 }, SendingMode.Batched)).State);

        // A longer interval: announced with its new delay.
        var reloaded = Reloaded(relay);
        reloaded.Sending.BatchedDelay = TimeSpan.FromMinutes(2);
        Assert.Equal(["Sending:BatchedDelay"], server.ApplyConfiguration(reloaded).Applied);
        var pushed = await rm.ConfigUpdates.ReadAsync(Soon);
        Assert.Equal(2u, pushed.ConfigVersion);
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 120_000)], pushed.SendingOptions);

        // Turned off: the option disappears, and batched sends are refused from now on; immediate ones are not.
        reloaded = Reloaded(relay);
        reloaded.Sending.BatchedDelay = TimeSpan.Zero;
        Assert.Equal(["Sending:BatchedDelay"], server.ApplyConfiguration(reloaded).Applied);
        pushed = await rm.ConfigUpdates.ReadAsync(Soon);
        Assert.Equal(3u, pushed.ConfigVersion);
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0)], pushed.SendingOptions);
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0)], (await rm.GetStatusAsync()).SendingOptions);
        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Forwarding.ForwardingTests.Ephemeral(), new byte[] { 2 }, SendingMode.Batched));
        Assert.Equal(ErrorCode.ModeUnavailable, refused.Code);
        Assert.Equal(SendStateKind.Queued, (await rm.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Forwarding.ForwardingTests.Ephemeral(), new byte[] { 3 }, SendingMode.Immediate)).State);
        Assert.Equal(2, server.Forwarding.Queue.GetStatistics().QueuedMessages); // the refused one was not queued

        // An interval the relay cannot offer (not below Forwarding:MaxAge) is refused and changes nothing.
        reloaded = Reloaded(relay);
        reloaded.Forwarding.MaxAge = TimeSpan.FromMinutes(1);
        reloaded.Sending.BatchedDelay = TimeSpan.FromMinutes(1);
        Assert.Contains(server.ApplyConfiguration(reloaded).Problems, p => p.StartsWith("Sending:BatchedDelay", StringComparison.Ordinal));
        await rm.PingAsync();
        Assert.False(rm.ConfigUpdates.TryRead(out _));
    }

    [Fact]
    public async Task A_change_outside_the_sending_section_needs_a_restart_and_an_invalid_one_changes_nothing()
    {
        await using var relay = await TestRelay.StartAsync();
        var server = relay.Host.Server;
        await using var client = await relay.ConnectAsync();
        await client.GetStatusAsync();

        var other = TestRelay.Options(relay.DataDir);
        other.Relay.Endpoint = server.Options.Relay.Endpoint;
        other.Http.Endpoint = server.Options.Http.Endpoint;
        other.Relay.IdleTimeout = TimeSpan.FromMinutes(7);
        var change = server.ApplyConfiguration(other);
        Assert.Empty(change.Applied);
        Assert.Equal(["Relay:IdleTimeout"], change.NeedRestart);

        var invalid = TestRelay.Options(relay.DataDir);
        invalid.Sending.MaxCiphertextBytes = 1_000_000; // above Relay:MaxCiphertextBytes
        change = server.ApplyConfiguration(invalid);
        Assert.Contains(change.Problems, p => p.StartsWith("Sending:MaxCiphertextBytes", StringComparison.Ordinal));

        change = server.ApplyConfiguration(TestRelay.Options(relay.DataDir), ["Sending:Bogus: unknown option"]);
        Assert.Equal(["Sending:Bogus: unknown option"], change.Problems);

        await client.PingAsync();
        Assert.False(client.ConfigUpdates.TryRead(out _));
        Assert.Equal(1u, (await client.GetStatusAsync()).ConfigVersion);
    }

    /// <summary>The relay's own options as a reloaded file would give them: the same endpoints (bound to port 0 at start).</summary>
    private static EdgeRelayOptions Reloaded(TestRelay relay)
    {
        var options = TestRelay.Options(relay.DataDir);
        options.Relay.Endpoint = relay.Host.Server.Options.Relay.Endpoint;
        options.Http.Endpoint = relay.Host.Server.Options.Http.Endpoint;
        return options;
    }
}
