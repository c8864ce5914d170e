using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>
/// Slowloris: a client that trickles a frame a byte at a time, never finishing it, holds a connection slot for
/// as long as the relay lets it. Only a whole frame counts as activity, so a trickle is cut off at the idle
/// timeout (or, before HELLO, the handshake timeout) however steadily the bytes come, while a bystander that
/// sends whole frames stays open.
/// </summary>
/// <remarks>
/// On a fake clock, over real sockets: the watchdog runs inside <c>Advance</c>, so after each step the
/// counters say exactly what was closed by then, and the test never waits for time to pass.
/// </remarks>
public sealed class SlowClientTests
{
    [Fact]
    public async Task A_frame_trickled_a_byte_a_second_is_cut_off_at_the_idle_timeout_and_a_bystander_stays_open()
    {
        var timeout = TimeSpan.FromSeconds(3);
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(o => o.Relay.IdleTimeout = timeout, clock);
        var idleTimeouts = relay.Host.Server.Metrics.IdleTimeouts;
        using var slow = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        using var bystander = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        var closed = slow.IsClosedByPeerAsync(Eventually.DefaultDeadline);

        // A SEND of a few hundred bytes: at a byte a second it would take minutes to arrive whole.
        var frame = new ArrayBufferWriter<byte>();
        FrameWriter.WriteSend(frame, 1, new byte[EphemeralAddressLength], new byte[200]);
        var bytes = frame.WrittenSpan.ToArray();

        // A byte every second, up to and including the timeout itself: still open.
        var sent = 0;
        for (var second = 1; second <= timeout.TotalSeconds; second++)
        {
            await slow.SendRawAsync(bytes[sent..(sent + 1)]);
            sent++;
            await bystander.AssertStillOpenAsync();
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(0, idleTimeouts.Value);
        }

        // One more byte and one more second: the trickle did not count as activity, and the connection is cut.
        await slow.SendRawAsync(bytes[sent..(sent + 1)]);
        sent++;
        await bystander.AssertStillOpenAsync();
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(1, idleTimeouts.Value);
        Assert.True(await closed, "the trickling connection was counted as timed out but its socket stayed open");
        Assert.True(sent < bytes.Length);
        await bystander.AssertStillOpenAsync();
    }

    [Fact]
    public async Task A_HELLO_trickled_a_byte_a_second_is_cut_off_at_the_handshake_timeout()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(o => o.Relay.HandshakeTimeout = timeout, clock);
        var handshakeTimeouts = relay.Host.Server.Metrics.HandshakeTimeouts;
        using var slow = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint, hello: false);

        // The session's handshake clock starts when it is handed the connection: the clock waits for that.
        await Eventually.TrueAsync(() => relay.Host.Server.ConnectionCount == 1, "the relay to accept the connection");
        var closed = slow.IsClosedByPeerAsync(Eventually.DefaultDeadline);
        var hello = new ArrayBufferWriter<byte>();
        FrameWriter.WriteHello(hello, 1);
        var bytes = hello.WrittenSpan.ToArray();

        for (var second = 1; second <= timeout.TotalSeconds; second++)
        {
            await slow.SendRawAsync(bytes[(second - 1)..second]);
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(0, handshakeTimeouts.Value);
        }

        await slow.SendRawAsync(bytes[(int)timeout.TotalSeconds..((int)timeout.TotalSeconds + 1)]);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(1, handshakeTimeouts.Value);
        Assert.True(await closed, "the trickling connection was counted as timed out but its socket stayed open");
        Assert.True(timeout.TotalSeconds + 1 < bytes.Length, "the HELLO must still be unfinished when the timeout strikes");
    }

    private const int EphemeralAddressLength = 73;
}
