using System.Buffers;
using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;
using Prometheus;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// SENDs whose addresses the cache lacks, resolved on the server's resolution pool: a connection's
/// replies, appends and message ids stay in request order whatever mix of hits and misses it sends, and
/// each budget refuses with RATE_LIMITED at exactly its size. Budgets run on the harness' fake clock.
/// </summary>
public sealed class ResolutionTests : IDisposable
{
    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);

    public void Dispose() => _owner.Dispose();

    [Fact]
    public async Task Mixed_hits_and_misses_over_several_reads_are_appended_and_answered_in_request_order()
    {
        await using var relay = await SessionHarness.StartAsync(o => (o.Relay.ResolveMissBurst, o.Relay.AnonymousResolveMissBurst) = (10_000, 10_000));
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var known = relay.Ephemeral(card);
        await sender.SendAsync(w => FrameWriter.WriteSend(w, 3, known, "warm"u8));
        Assert.Equal(FrameType.Ok, (await sender.ReadFrameAsync()).Header.Type);

        // Over two batches' worth of misses in one write, then a second write: hits, fresh addresses, a fresh
        // address repeated, garbage, other commands and bodies refused before resolution, interleaved.
        var expected = new List<(uint RequestId, FrameType Type, ErrorCode Code)>();
        var payloads = new List<string> { "warm" };
        var random = new Random(7);
        uint requestId = 100;
        byte[]? repeat = null;
        for (var write = 0; write < 2; write++)
        {
            var frames = new ArrayBufferWriter<byte>();
            for (var i = 0; i < (write == 0 ? 400 : 150); i++, requestId++)
            {
                var payload = $"m{requestId}";
                switch (random.Next(8))
                {
                    case 0 or 1:
                        FrameWriter.WriteSend(frames, requestId, known, System.Text.Encoding.ASCII.GetBytes(payload));
                        Accept(payload);
                        break;
                    case 2:
                        FrameWriter.WriteSend(frames, requestId, Garbage(), [1]);
                        expected.Add((requestId, FrameType.Error, ErrorCode.AddressInvalid));
                        break;
                    case 3:
                        FrameWriter.WriteEmpty(frames, FrameType.Ping, requestId);
                        expected.Add((requestId, FrameType.Pong, ErrorCode.None));
                        break;
                    case 4:
                        FrameWriter.WriteSend(frames, requestId, relay.Ephemeral(card), ReadOnlySpan<byte>.Empty);
                        expected.Add((requestId, FrameType.Error, ErrorCode.InvalidArgument));
                        break;
                    case 5 when repeat is not null:
                        FrameWriter.WriteSend(frames, requestId, repeat, System.Text.Encoding.ASCII.GetBytes(payload));
                        Accept(payload);
                        repeat = null;
                        break;
                    default:
                        repeat = relay.Ephemeral(card);
                        FrameWriter.WriteSend(frames, requestId, repeat, System.Text.Encoding.ASCII.GetBytes(payload));
                        Accept(payload);
                        break;
                }
            }

            await sender.SendRawAsync(frames.WrittenSpan.ToArray());
        }

        foreach (var (id, type, code) in expected)
        {
            var reply = await sender.ReadFrameAsync();
            Assert.Equal((id, type), (reply.Header.RequestId, reply.Header.Type));
            if (type == FrameType.Error)
            {
                Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(reply.Body), out var error));
                Assert.Equal(code, error.Code);
            }
        }

        // Message ids increase in request order, and each carries its own SEND's ciphertext.
        var pending = new PendingMessage[payloads.Count + 1];
        var count = relay.Storage.GetPending(card.Aid, MessageId.None, pending);
        Assert.Equal(payloads.Count, count);
        var buffer = new byte[64];
        for (var i = 0; i < count; i++)
        {
            var length = await relay.Storage.ReadAsync(card.Aid, pending[i], buffer);
            Assert.Equal(payloads[i], System.Text.Encoding.ASCII.GetString(buffer, 0, length));
        }

        Assert.Equal(0, relay.Server.Resolution.Refused(MissClass.Anonymous, MissRefusal.Connection));
        Assert.Equal(relay.Server.Resolver.Opens, relay.Server.Resolution.Resolved(MissClass.Anonymous));

        void Accept(string payload)
        {
            expected.Add((requestId, FrameType.Ok, ErrorCode.None));
            payloads.Add(payload);
        }
    }

    [Fact]
    public async Task A_fresh_address_repeated_in_one_read_is_opened_once()
    {
        await using var relay = await SessionHarness.StartAsync();
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var fresh = relay.Ephemeral(card);

        await sender.SendAsync(w =>
        {
            for (uint i = 0; i < 20; i++)
            {
                FrameWriter.WriteSend(w, 10 + i, fresh, [(byte)i]);
            }
        });

        for (uint i = 0; i < 20; i++)
        {
            Assert.Equal((FrameType.Ok, 10 + i), Reply(await sender.ReadFrameAsync()));
        }

        Assert.Equal(1, relay.Server.Resolver.Opens);
    }

    [Fact]
    public async Task Anonymous_misses_are_refused_by_their_connection_budget_then_by_the_server_wide_one()
    {
        // Five misses per connection back to back (then 1/s); eight for all anonymous connections (then 2/s).
        await using var relay = await SessionHarness.StartAsync(o =>
            (o.Relay.ResolveMissBurst, o.Relay.ResolveMissesPerSecond, o.Relay.AnonymousResolveMissBurst, o.Relay.AnonymousResolveMissesPerSecond) = (5, 1, 8, 2));
        await using var first = await relay.ConnectAsync();
        await using var second = await relay.ConnectAsync();

        Assert.Equal([.. Repeat(ErrorCode.AddressInvalid, 5), .. Repeat(ErrorCode.RateLimited, 2)], await SendGarbageAsync(first, 7));
        Assert.Equal([.. Repeat(ErrorCode.AddressInvalid, 3), .. Repeat(ErrorCode.RateLimited, 2)], await SendGarbageAsync(second, 5));
        var pool = relay.Server.Resolution;
        Assert.Equal(2, pool.Refused(MissClass.Anonymous, MissRefusal.Connection));
        Assert.Equal(2, pool.Refused(MissClass.Anonymous, MissRefusal.Server));
        Assert.Equal(8, pool.Resolved(MissClass.Anonymous));

        // A second later the server has two more; the second connection's own budget was not spent by the
        // server's refusals, so it is the server's bucket that refuses the third.
        relay.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([ErrorCode.AddressInvalid, ErrorCode.AddressInvalid, ErrorCode.RateLimited], await SendGarbageAsync(second, 3));
        Assert.Equal(3, pool.Refused(MissClass.Anonymous, MissRefusal.Server));

        // Known garbage is a cache hit: never refused, never opened again.
        var text = await Scrape(relay);
        Assert.Contains("edgerelay_resolve_misses_total{class=\"anonymous\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("edgerelay_resolve_misses_refused_total{class=\"anonymous\",budget=\"connection\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("edgerelay_resolve_misses_refused_total{class=\"anonymous\",budget=\"server\"} 3", text, StringComparison.Ordinal);
        Assert.Contains("edgerelay_resolve_queue_wait_seconds_count{class=\"anonymous\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("edgerelay_resolve_queue_depth 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_misses_beyond_the_queue_capacity_are_refused_at_once()
    {
        await using var relay = await SessionHarness.StartAsync(o => o.Relay.ResolveQueueCapacity = 2);
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);

        // One read: all five are admitted (or not) before any is resolved, so two fill the queue.
        await sender.SendAsync(w =>
        {
            for (uint i = 0; i < 5; i++)
            {
                FrameWriter.WriteSend(w, 10 + i, relay.Ephemeral(card), [(byte)i]);
            }
        });

        var replies = new List<(FrameType, uint)>();
        for (var i = 0; i < 5; i++)
        {
            replies.Add(Reply(await sender.ReadFrameAsync()));
        }

        Assert.Equal([(FrameType.Ok, 10u), (FrameType.Ok, 11u), (FrameType.Error, 12u), (FrameType.Error, 13u), (FrameType.Error, 14u)], replies);
        Assert.Equal(3, relay.Server.Resolution.Refused(MissClass.Anonymous, MissRefusal.Queue));
        Assert.Equal(0, relay.Server.Resolution.AnonymousOutstanding);

        // Room came back as they were resolved: a later read is admitted.
        await sender.SendAsync(w => FrameWriter.WriteSend(w, 20, relay.Ephemeral(card), [1]));
        Assert.Equal((FrameType.Ok, 20u), Reply(await sender.ReadFrameAsync()));
    }

    private static (FrameType, uint) Reply(ReceivedFrame frame) => (frame.Header.Type, frame.Header.RequestId);

    private static ErrorCode[] Repeat(ErrorCode code, int count) => Enumerable.Repeat(code, count).ToArray();

    private static async Task<ErrorCode[]> SendGarbageAsync(HarnessConnection connection, int count)
    {
        await connection.SendAsync(w =>
        {
            for (var i = 0; i < count; i++)
            {
                FrameWriter.WriteSend(w, (uint)(1000 + i), Garbage(), [1]);
            }
        });

        var codes = new ErrorCode[count];
        for (var i = 0; i < count; i++)
        {
            codes[i] = await connection.ReadErrorAsync();
        }

        return codes;
    }

    private static async Task<string> Scrape(SessionHarness relay)
    {
        using var stream = new MemoryStream();
        await relay.Server.Metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static byte[] Garbage()
    {
        var garbage = RandomNumberGenerator.GetBytes(EphemeralAddress.Length);
        garbage[0] = EphemeralAddress.Version;
        return garbage;
    }
}
