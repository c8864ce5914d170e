using System.Buffers.Binary;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Faults;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// Relay A forwarding to relay B through a <see cref="FaultProxy"/>: an RM on A sends SEND_VIA to an address of B
/// with the proxy's endpoint, so A's every connection to B crosses the proxy, while the RM and B's owner talk to
/// their relays directly. Each payload is its sequence number and random bytes, so that the owner can tell a copy
/// that A sent again (forwarding is at least once, and B gives each copy an id of its own) from another message.
/// </summary>
internal sealed class NetFaultRig : IAsyncDisposable
{
    private readonly Owner _owner;
    private readonly byte[] _ephemeral;
    private readonly Random _random;
    private readonly int _payloadBytes;
    private readonly Lock _sync = new();
    private readonly Dictionary<long, byte[]> _acked = []; // send id → payload
    private int _next;
    private int _refused;

    private NetFaultRig(TestRelay b, TestRelay a, FaultProxy proxy, Owner owner, AddressCard card, RelayClient rm, RelayClient onB, int payloadBytes, int seed)
    {
        B = b;
        A = a;
        Proxy = proxy;
        _owner = owner;
        Card = card;
        Rm = rm;
        OnB = onB;
        _payloadBytes = payloadBytes;
        _random = new Random(seed);

        // One ephemeral address for every message: after the first, B finds it in its cache, so the run measures
        // the network and not B's budget of fresh addresses (which an anonymous forwarder would soon exhaust).
        _ephemeral = RelayClient.DeriveEphemeralAddress(card, TimeSpan.FromDays(1));
    }

    public TestRelay B { get; }

    public TestRelay A { get; }

    public FaultProxy Proxy { get; }

    public AddressCard Card { get; }

    public RelayClient Rm { get; }

    public RelayClient OnB { get; }

    /// <summary>SEND_VIA that A answered with "queued": the promise under test.</summary>
    public int Acked
    {
        get
        {
            lock (_sync)
            {
                return _acked.Count;
            }
        }
    }

    /// <summary>SEND_VIA sent (acknowledged or not).</summary>
    public int Sent => Volatile.Read(ref _next);

    /// <summary>Small forwarding timeouts and back-offs, so that a fault is noticed and retried within a second or two.</summary>
    public static void FastForwarding(EdgeRelayOptions o)
    {
        o.Forwarding.InitialBackoff = TimeSpan.FromMilliseconds(20);
        o.Forwarding.MaxBackoff = TimeSpan.FromMilliseconds(200);
        o.Forwarding.ConnectTimeout = TimeSpan.FromSeconds(1);
        o.Forwarding.SendTimeout = TimeSpan.FromSeconds(1);
        o.Forwarding.MaxInFlightPerDestination = 64;
        o.Forwarding.MaxConnectionsPerDestination = 2;
    }

    public static async Task<NetFaultRig> StartAsync(Action<EdgeRelayOptions>? configureA = null, TimeProvider? timeA = null, int payloadBytes = 16, int seed = 1, int maxCiphertext = 16 * 1024)
    {
        var b = await TestRelay.StartAsync(o => o.Relay.MaxCiphertextBytes = maxCiphertext);
        var proxy = FaultProxy.Start(b.Host.RelayEndPoint);
        var a = await TestRelay.StartAsync(
            o =>
            {
                o.Relay.MaxCiphertextBytes = maxCiphertext;
                configureA?.Invoke(o);
            },
            timeA);
        var owner = new Owner();
        var onB = await b.ConnectAsync();
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await onB.AuthenticateAsync(card.Aid, owner.Key);
        var rm = await ForwardingTests.ConnectRmAsync(a);
        return new NetFaultRig(b, a, proxy, owner, card, rm, onB, payloadBytes, seed);
    }

    /// <summary>Sends <paramref name="count"/> messages through A, pipelined <paramref name="concurrency"/> at a time; records those A acknowledged.</summary>
    public async Task SendAsync(int count, int concurrency = 32, CancellationToken cancellationToken = default)
    {
        for (var done = 0; done < count;)
        {
            var batch = Math.Min(concurrency, count - done);
            var sends = new Task[batch];
            for (var i = 0; i < batch; i++)
            {
                sends[i] = SendOneAsync(cancellationToken);
            }

            await Task.WhenAll(sends);
            done += batch;
        }
    }

    /// <summary>Waits until A reports every acknowledged send delivered; fails at once on a send A gave up (failed).</summary>
    public async Task WaitAllDeliveredAsync(TimeSpan deadline)
    {
        long[] ids;
        lock (_sync)
        {
            ids = [.. _acked.Keys];
        }

        var pending = new HashSet<long>(ids);
        await Eventually.TrueAsync(
            async () =>
            {
                var states = await Rm.GetSendStatesAsync(pending);
                foreach (var state in states)
                {
                    Assert.True(state.State != SendStateKind.Failed, $"send {state.SendId} failed with {state.Code}: A gave up a message it had acknowledged");
                    if (state.State == SendStateKind.Delivered)
                    {
                        pending.Remove(state.SendId);
                    }
                }

                return pending.Count == 0;
            },
            $"A to report all {ids.Length} acknowledged sends delivered",
            deadline,
            TimeSpan.FromMilliseconds(20));
    }

    /// <summary>
    /// Pulls (and acknowledges) everything B holds for the owner and checks the promise: every payload A acknowledged
    /// is there, after de-duplication exactly once, and nothing else is. Returns the figures.
    /// </summary>
    public async Task<NetFaultTally> DrainAndCheckAsync()
    {
        var copies = new Dictionary<string, int>(StringComparer.Ordinal);
        var received = 0;
        while (true)
        {
            var batch = await OnB.PullAsync(Card.Aid, 1000);
            if (batch.Messages.Count == 0)
            {
                break;
            }

            foreach (var message in batch.Messages)
            {
                var key = Convert.ToHexString(message.Ciphertext.Span);
                copies[key] = copies.GetValueOrDefault(key) + 1;
                received++;
            }

            await OnB.AckAsync(Card.Aid, [.. batch.Messages.Select(m => m.Id)]);
        }

        Dictionary<string, long> acked;
        lock (_sync)
        {
            acked = _acked.ToDictionary(p => Convert.ToHexString(p.Value), p => p.Key, StringComparer.Ordinal);
        }

        var lost = acked.Keys.Where(k => !copies.ContainsKey(k)).Select(k => acked[k]).Order().ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged sends never reached B's owner: send ids {string.Join(", ", lost.Take(20))}");

        // A payload A refused (QUEUE_FULL, say) may still have been queued; any other payload is a corruption.
        var unknown = copies.Keys.Count(k => !acked.ContainsKey(k) && !IsOurs(k));
        Assert.True(unknown == 0, $"{unknown} payloads reached B that no one sent");
        return new NetFaultTally(Sent, acked.Count, acked.Keys.Count(copies.ContainsKey), received, received - copies.Count, lost.Count, Volatile.Read(ref _refused));
    }

    public async ValueTask DisposeAsync()
    {
        await Rm.DisposeAsync();
        await OnB.DisposeAsync();
        await A.DisposeAsync();
        await Proxy.DisposeAsync();
        await B.DisposeAsync();
        _owner.Dispose();
    }

    private async Task SendOneAsync(CancellationToken cancellationToken)
    {
        var payload = new byte[Math.Max(_payloadBytes, 12)];
        var sequence = Interlocked.Increment(ref _next);
        BinaryPrimitives.WriteInt32LittleEndian(payload, sequence);
        lock (_sync)
        {
            _random.NextBytes(payload.AsSpan(4));
        }

        try
        {
            var state = await Rm.SendViaAsync(Proxy.HostAndPort, ReadOnlyMemory<byte>.Empty, _ephemeral, payload, cancellationToken);
            Assert.Equal(SendStateKind.Queued, state.State);
            lock (_sync)
            {
                _acked.Add(state.SendId, payload);
            }
        }
        catch (RelayException ex) when (ex.Code == Protocol.ErrorCode.QueueFull)
        {
            Interlocked.Increment(ref _refused); // not acknowledged: no promise to check
        }
    }

    /// <summary>A payload of this rig's shape whose sequence number was handed out (sent, perhaps refused).</summary>
    private bool IsOurs(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        var sequence = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        return bytes.Length == Math.Max(_payloadBytes, 12) && sequence >= 1 && sequence <= Sent && Volatile.Read(ref _refused) > 0;
    }
}

/// <summary>What one run through the fault proxy came to.</summary>
/// <param name="Sent">SEND_VIA sent to A.</param>
/// <param name="Acked">Of those, acknowledged by A (queued).</param>
/// <param name="Delivered">Acknowledged payloads that reached B's owner (at least once).</param>
/// <param name="Received">Messages B's owner pulled, copies included.</param>
/// <param name="Duplicates">Copies beyond the first (forwarding is at least once).</param>
/// <param name="Lost">Acknowledged payloads that never arrived (always 0, or the run fails).</param>
/// <param name="Refused">SEND_VIA that A refused (QUEUE_FULL): not acknowledged, no promise.</param>
internal readonly record struct NetFaultTally(int Sent, int Acked, int Delivered, int Received, int Duplicates, int Lost, int Refused)
{
    public override string ToString() =>
        $"sent {Sent}, acked {Acked}, delivered {Delivered}, received {Received}, duplicates {Duplicates}, lost {Lost}, refused {Refused}";
}
