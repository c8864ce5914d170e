using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// A connection authenticated with a peer token (a sending service forwarding fresh addresses) has its own
/// budget of misses, and an anonymous flood of random addresses cannot take it: the flood is throttled to
/// the server-wide anonymous bucket. Budgets run on the harness' fake clock, which no test advances except
/// on purpose, so every count below is exact, however slow or busy the machine.
/// </summary>
public sealed class PeerResolutionTests(ITestOutputHelper output) : IDisposable
{
    private const int PeerBurst = 400;
    private const int PeerRate = 200;
    private const int AnonymousBurst = 64;
    private const int AnonymousRate = 32;
    private const int FloodConnections = 4;
    private const int FloodWrite = 100;

    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);
    private long _floodReplies;

    public void Dispose() => _owner.Dispose();

    [Fact]
    public async Task An_anonymous_flood_of_random_addresses_does_not_take_a_peer_relays_budget_of_fresh_addresses()
    {
        await using var relay = await StartAsync();
        await using var peer = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(peer, _owner);
        await AuthenticatePeerAsync(relay, peer);
        var pool = relay.Server.Resolution;

        // The flood runs on its own connections until told to stop, reading its replies as it goes.
        using var stop = new CancellationTokenSource();
        var floods = new List<Task<FloodResult>>();
        for (var i = 0; i < FloodConnections; i++)
        {
            floods.Add(FloodAsync(await relay.ConnectAsync(), stop.Token));
        }

        // Wait until the anonymous class has spent its bucket and is being refused: the peer sends under the flood.
        await Eventually.TrueAsync(() => pool.Refused(MissClass.Anonymous, MissRefusal.Server) > 0, "the flood to spend the anonymous bucket");

        // Its whole burst of fresh, valid addresses, pipelined: every one stored.
        var accepted = await SendFreshAsync(relay, peer, card, firstRequest: 1000, count: PeerBurst);
        Assert.Equal(PeerBurst, accepted);

        // A second later, the peer's refill (its rate), still under the flood; then its budget is spent.
        relay.Time.Advance(TimeSpan.FromSeconds(1));
        var floodAtAdvance = Interlocked.Read(ref _floodReplies);
        accepted = await SendFreshAsync(relay, peer, card, firstRequest: 2000, count: PeerRate);
        Assert.Equal(PeerRate, accepted);
        Assert.Equal(0, await SendFreshAsync(relay, peer, card, firstRequest: 3000, count: 1));

        // However fast the machine, the flood has gone on long enough after the advance to spend its refill too.
        await Eventually.TrueAsync(() => Interlocked.Read(ref _floodReplies) >= floodAtAdvance + 1000, "the flood to go on after the clock moved");
        await stop.CancelAsync();
        var flood = (await Task.WhenAll(floods).Within()).Aggregate((a, b) => a + b);

        output.WriteLine($"peer: {PeerBurst + PeerRate} fresh addresses stored of {PeerBurst + PeerRate} sent within its budget; flood: {flood.Sent} random addresses, {flood.Invalid} opened, {flood.RateLimited} RATE_LIMITED");

        // The peer: nothing refused within its budget, every message stored, each an open of its own.
        Assert.Equal(PeerBurst + PeerRate, pool.Resolved(MissClass.Peer));
        Assert.Equal(1, pool.Refused(MissClass.Peer, MissRefusal.Connection));
        var pending = new PendingMessage[PeerBurst + PeerRate + 1];
        Assert.Equal(PeerBurst + PeerRate, relay.Storage.GetPending(card.Aid, MessageId.None, pending));

        // The flood: thousands of random addresses, of which only the anonymous bucket was ever opened (its
        // burst, then one second of its rate); the rest refused before any crypto.
        Assert.True(flood.Sent >= 1000 + AnonymousBurst, $"the flood sent only {flood.Sent}");
        Assert.Equal(AnonymousBurst + AnonymousRate, flood.Invalid);
        Assert.Equal(AnonymousBurst + AnonymousRate, pool.Resolved(MissClass.Anonymous));
        Assert.Equal(flood.Sent - flood.Invalid, flood.RateLimited);
        Assert.Equal(flood.RateLimited, pool.Refused(MissClass.Anonymous, MissRefusal.Server));
        Assert.Equal(0, pool.Refused(MissClass.Anonymous, MissRefusal.Connection));
    }

    [Fact]
    public async Task Only_a_valid_peer_token_gives_the_peer_budget()
    {
        await using var relay = await StartAsync();
        await using var sender = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var pool = relay.Server.Resolution;

        // An RM token is not a peer's: its misses are anonymous, so the anonymous bucket refuses them.
        await AuthenticateAsync(sender, relay.Server.Tokens.Create("alice", TokenRole.Rm).Secret);
        Assert.Equal(AnonymousBurst, await SendFreshAsync(relay, sender, card, firstRequest: 100, count: AnonymousBurst + 1));
        Assert.Equal(1, pool.Refused(MissClass.Anonymous, MissRefusal.Server));

        // A peer token replaces it: the same connection now has the peer budget.
        var peer = relay.Server.Tokens.Create("relay-b", TokenRole.Peer);
        await AuthenticateAsync(sender, peer.Secret);
        Assert.Equal(10, await SendFreshAsync(relay, sender, card, firstRequest: 200, count: 10));
        Assert.Equal(10, pool.Resolved(MissClass.Peer));

        // Revoked: back to the anonymous class, whose bucket is still spent.
        Assert.True(relay.Server.Tokens.Revoke(peer.Token.Id));
        Assert.Equal(0, await SendFreshAsync(relay, sender, card, firstRequest: 300, count: 1));
        Assert.Equal(2, pool.Refused(MissClass.Anonymous, MissRefusal.Server));
        Assert.Equal(10, pool.Resolved(MissClass.Peer));
    }

    private static Task<SessionHarness> StartAsync() => SessionHarness.StartAsync(o =>
    {
        o.Relay.PeerResolveMissBurst = PeerBurst;
        o.Relay.PeerResolveMissesPerSecond = PeerRate;
        o.Relay.AnonymousResolveMissBurst = AnonymousBurst;
        o.Relay.AnonymousResolveMissesPerSecond = AnonymousRate;
        o.Relay.ResolveWorkers = 2;

        // The floods here are of resolutions, on the clock; the connection's SEND rate would refuse them first.
        o.Limits.SendsPerSecondPerConnection = 0;
    });

    private static Task AuthenticatePeerAsync(SessionHarness relay, HarnessConnection connection) =>
        AuthenticateAsync(connection, relay.Server.Tokens.Create("relay-b", TokenRole.Peer).Secret);

    private static async Task AuthenticateAsync(HarnessConnection connection, string token)
    {
        await connection.SendAsync(w => FrameWriter.WriteAuthToken(w, 7, Encoding.ASCII.GetBytes(token)));
        var reply = await connection.ReadFrameAsync();
        Assert.Equal((FrameType.Ok, 7u), (reply.Header.Type, reply.Header.RequestId));
    }

    /// <summary>Sends <paramref name="count"/> SENDs, each to a fresh address, in one write; returns how many were stored (the rest must be RATE_LIMITED).</summary>
    private static async Task<int> SendFreshAsync(SessionHarness relay, HarnessConnection connection, AddressCard card, uint firstRequest, int count)
    {
        var frames = new ArrayBufferWriter<byte>();
        for (var i = 0; i < count; i++)
        {
            FrameWriter.WriteSend(frames, firstRequest + (uint)i, relay.Ephemeral(card), "forwarded"u8);
        }

        await connection.SendRawAsync(frames.WrittenSpan.ToArray());
        var accepted = 0;
        for (var i = 0; i < count; i++)
        {
            var reply = await connection.ReadFrameAsync();
            Assert.Equal(firstRequest + (uint)i, reply.Header.RequestId);
            if (reply.Header.Type == FrameType.Ok)
            {
                accepted++;
                continue;
            }

            Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(reply.Body), out var error));
            Assert.Equal(ErrorCode.RateLimited, error.Code);
        }

        return accepted;
    }

    private async Task<FloodResult> FloodAsync(HarnessConnection connection, CancellationToken stop)
    {
        var result = default(FloodResult);
        uint requestId = 1;
        while (!stop.IsCancellationRequested)
        {
            await connection.SendAsync(w =>
            {
                for (var i = 0; i < FloodWrite; i++)
                {
                    var garbage = RandomNumberGenerator.GetBytes(EphemeralAddress.Length);
                    garbage[0] = EphemeralAddress.Version;
                    FrameWriter.WriteSend(w, requestId + (uint)i, garbage, [1]);
                }
            });

            for (var i = 0; i < FloodWrite; i++)
            {
                var code = await connection.ReadErrorAsync();
                Assert.True(code is ErrorCode.AddressInvalid or ErrorCode.RateLimited, $"flood refused with {code}");
                result += code == ErrorCode.AddressInvalid ? new FloodResult(1, 1, 0) : new FloodResult(1, 0, 1);
                Interlocked.Increment(ref _floodReplies);
            }

            requestId += FloodWrite;
        }

        return result;
    }

    private readonly record struct FloodResult(long Sent, long Invalid, long RateLimited)
    {
        public static FloodResult operator +(FloodResult a, FloodResult b) =>
            new(a.Sent + b.Sent, a.Invalid + b.Invalid, a.RateLimited + b.RateLimited);
    }
}
