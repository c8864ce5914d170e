using System.Buffers;
using System.Text;
using System.Text.Json;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>
/// Limits:SendsPerSecondPerConnection and SendBurstPerConnection on sessions over in-memory pipes, with the clock
/// in the test's hands: a SEND past the rate is refused and stores nothing, the connection goes on, and tokens
/// come back as the clock advances.
/// </summary>
public sealed class SendRateTests : IAsyncLifetime
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
    public async Task A_SEND_past_the_rate_is_refused_and_not_stored_and_tokens_refill_as_the_clock_advances()
    {
        var relay = _relay = await SessionHarness.StartAsync(o =>
        {
            o.Limits.SendsPerSecondPerConnection = 10;
            o.Limits.SendBurstPerConnection = 3;
        });
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var ephemeral = relay.Ephemeral(card);

        // A full bucket: three go through, the next two are refused, and the PING after them is answered.
        Assert.Equal(["ok 0", "ok 1", "ok 2", "SEND_RATE_LIMITED 3", "SEND_RATE_LIMITED 4"], await SendAsync(sender, ephemeral, 0, 5));
        Assert.Equal(["m0", "m1", "m2"], await StoredAsync(card.Aid));

        // 100 ms at 10 a second is one token.
        relay.Time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["ok 5", "SEND_RATE_LIMITED 6"], await SendAsync(sender, ephemeral, 5, 2));

        // A long pause refills the bucket to its burst, not beyond.
        relay.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["ok 7", "ok 8", "ok 9", "SEND_RATE_LIMITED 10"], await SendAsync(sender, ephemeral, 7, 4));
        Assert.Equal(["m0", "m1", "m2", "m5", "m7", "m8", "m9"], await StoredAsync(card.Aid));
        Assert.Equal(4, relay.Server.Metrics.SendsRateLimited.Value);

        // The bucket is the connection's: another one starts full.
        await using var other = await relay.ConnectAsync();
        Assert.Equal(["ok 20", "ok 21", "ok 22"], await SendAsync(other, ephemeral, 20, 3));
    }

    [Fact]
    public async Task A_reloaded_rate_applies_to_the_next_SEND_of_an_open_connection()
    {
        var relay = _relay = await SessionHarness.StartAsync(o => o.Limits.SendsPerSecondPerConnection = 0);
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var ephemeral = relay.Ephemeral(card);
        Assert.All(await SendAsync(sender, ephemeral, 0, 10), r => Assert.StartsWith("ok", r, StringComparison.Ordinal));

        var change = relay.Server.ApplyConfiguration(Reloaded(relay.Server.Options, o =>
        {
            o.Limits.SendsPerSecondPerConnection = 1;
            o.Limits.SendBurstPerConnection = 2;
        }));

        Assert.Equal(["Limits:SendsPerSecondPerConnection", "Limits:SendBurstPerConnection"], change.Applied);
        Assert.Empty(change.NeedRestart);
        Assert.Equal(["ok 10", "ok 11", "SEND_RATE_LIMITED 12"], await SendAsync(sender, ephemeral, 10, 3));
        relay.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["ok 13", "SEND_RATE_LIMITED 14"], await SendAsync(sender, ephemeral, 13, 2));

        // Back to no limit.
        relay.Server.ApplyConfiguration(Reloaded(relay.Server.Options, o => o.Limits.SendsPerSecondPerConnection = 0));
        Assert.All(await SendAsync(sender, ephemeral, 15, 10), r => Assert.StartsWith("ok", r, StringComparison.Ordinal));
        Assert.Equal(23, (await StoredAsync(card.Aid)).Length);
    }

    /// <summary>A deep copy of <paramref name="current"/> with <paramref name="change"/> made: the configuration as a reload would read it.</summary>
    internal static EdgeRelayOptions Reloaded(EdgeRelayOptions current, Action<EdgeRelayOptions> change)
    {
        var copy = JsonSerializer.Deserialize<EdgeRelayOptions>(JsonSerializer.Serialize(current))!;
        change(copy);
        return copy;
    }

    /// <summary>Pipelines <paramref name="count"/> SENDs (ciphertext "m{n}", request id n) and a PING; returns each SEND's outcome.</summary>
    private static async Task<List<string>> SendAsync(HarnessConnection connection, byte[] ephemeral, uint first, int count)
    {
        await connection.SendAsync(w =>
        {
            for (var i = 0u; i < count; i++)
            {
                FrameWriter.WriteSend(w, first + i, ephemeral, Encoding.UTF8.GetBytes("m" + (first + i)));
            }

            FrameWriter.WriteEmpty(w, FrameType.Ping, 999);
        });
        var outcomes = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var frame = await connection.ReadFrameAsync();
            if (frame.Header.Type == FrameType.Error)
            {
                Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(frame.Body), out var error));
                outcomes.Add($"{ErrorCodes.Name(error.Code)} {frame.Header.RequestId}");
            }
            else
            {
                Assert.Equal(FrameType.Ok, frame.Header.Type);
                outcomes.Add($"ok {frame.Header.RequestId}");
            }
        }

        var pong = await connection.ReadFrameAsync();
        Assert.Equal((FrameType.Pong, 999u), (pong.Header.Type, pong.Header.RequestId));
        return outcomes;
    }

    /// <summary>The ciphertexts the address holds, in order.</summary>
    private async Task<string[]> StoredAsync(AddressId aid)
    {
        var buffer = new PendingMessage[64];
        var pending = buffer[.._relay!.Storage.GetPending(aid, MessageId.None, buffer)];
        var stored = new string[pending.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            var destination = new byte[pending[i].Length];
            var read = await _relay.Storage.ReadAsync(aid, pending[i], destination);
            stored[i] = Encoding.UTF8.GetString(destination, 0, read);
        }

        return stored;
    }
}
