using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>
/// The four floods. Each runs until its token is cancelled, as fast as its connections are answered (closed
/// loop: a flood that outran the relay would measure the generator's queue, not the relay), and counts what
/// the relay said in <see cref="FloodCounts"/>. They speak to a relay with its default abuse limits.
/// </summary>
internal static class Floods
{
    public static Task RunAsync(string kind, IPEndPoint relay, AddressCard bystander, FloodSettings settings, FloodCounts counts, CancellationToken stop) => kind switch
    {
        FloodSettings.Connections => ConnectionsAsync(relay, settings, counts, stop),
        FloodSettings.FreshAddresses => FreshAddressesAsync(relay, bystander, settings, counts, stop),
        FloodSettings.Auth => AuthAsync(relay, settings, counts, stop),
        FloodSettings.HugeFrames => HugeFramesAsync(relay, settings, counts, stop),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such flood"),
    };

    /// <summary>
    /// Opens connections as fast as they are answered and holds every one the relay accepts (up to
    /// <see cref="FloodSettings.MaxHeld"/>), so the later ones meet Limits:MaxConnectionsPerIp (all come from
    /// loopback) and are refused with CONNECTION_LIMIT before HELLO is read.
    /// </summary>
    private static async Task ConnectionsAsync(IPEndPoint relay, FloodSettings settings, FloodCounts counts, CancellationToken stop)
    {
        var held = new ConcurrentQueue<RawFloodConnection>();
        try
        {
            await Parallel(settings.FloodConnections, async () =>
            {
                counts.Attempt();
                var connection = await RawFloodConnection.ConnectAsync(relay, stop);
                try
                {
                    var reply = await connection.ReadAsync(stop);
                    if (reply is { Header.Type: FrameType.HelloReply } && held.Count < settings.MaxHeld)
                    {
                        counts.Accept();
                        held.Enqueue(connection);
                        connection = null;
                    }
                    else
                    {
                        Count(reply, counts);
                    }
                }
                finally
                {
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                    }
                }
            }, counts, stop);
        }
        finally
        {
            while (held.TryDequeue(out var connection))
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// SENDs to addresses nobody derived: a real ephemeral address' version byte and random bytes after it, so
    /// each is a resolution-cache miss and an HPKE open that fails (ADDRESS_INVALID) until the connection's or all
    /// anonymous connections' budget of misses is spent (RATE_LIMITED). 32 SENDs in flight per connection.
    /// </summary>
    private static async Task FreshAddressesAsync(IPEndPoint relay, AddressCard bystander, FloodSettings settings, FloodCounts counts, CancellationToken stop)
    {
        const int InFlight = 32;
        var template = RelayClient.DeriveEphemeralAddress(bystander);
        var payload = new byte[16];
        await System.Threading.Tasks.Parallel.ForEachAsync(Enumerable.Range(0, settings.FloodConnections), stop, async (_, token) =>
        {
            while (!token.IsCancellationRequested)
            {
                RelayClient client;
                try
                {
                    client = await RelayClient.ConnectAsync(relay, new RelayClientOptions { MaxInFlight = InFlight }, token);
                }
                catch (Exception ex) when (Failed(ex, token))
                {
                    counts.Note(ex.GetType().Name);
                    continue;
                }

                await using (client)
                {
                    // Each lane stops at its first lost connection; the outer loop then opens another.
                    var lanes = Enumerable.Range(0, InFlight).Select(_ => Task.Run(async () =>
                    {
                        var address = new byte[template.Length];
                        template.CopyTo(address, 0);
                        while (!token.IsCancellationRequested)
                        {
                            RandomNumberGenerator.Fill(address.AsSpan(1));
                            counts.Attempt();
                            try
                            {
                                await client.SendAsync(address, payload, token);
                                counts.Accept();
                            }
                            catch (RelayException ex) when (ex.Code != ErrorCode.None)
                            {
                                counts.Refuse(ex.Code);
                                if (ex.ConnectionClosed)
                                {
                                    return;
                                }
                            }
                            catch (Exception ex) when (Failed(ex, token))
                            {
                                counts.Note(ex.GetType().Name);
                                return;
                            }
                        }
                    }, token));
                    await Task.WhenAll(lanes).ContinueWith(static _ => { }, TaskScheduler.Default);
                }
            }
        });
    }

    /// <summary>
    /// AUTH frames of 256 claims, the most one may carry, for an address the flood created itself: 255 signed
    /// with its owner key and the last with another, so the relay pays for 256 checks and makes them all before
    /// BAD_SIGNATURE. Signed once per connection (the nonce is the connection's) and then repeated, so the
    /// generator's CPU goes to sending them; past the signature budget they get VERIFY_RATE_LIMITED.
    /// </summary>
    private static async Task AuthAsync(IPEndPoint relay, FloodSettings settings, FloodCounts counts, CancellationToken stop)
    {
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        using var stranger = Key.Create(SignatureAlgorithm.Ed25519);
        AddressId address;
        await using (var setup = await RelayClient.ConnectAsync(relay, new RelayClientOptions(), stop))
        {
            address = (await setup.CreateAddressAsync(owner.PublicKey, TimeSpan.FromHours(1), stop)).Id;
        }

        await Parallel(settings.FloodConnections, async () =>
        {
            await using var connection = await RawFloodConnection.ConnectAsync(relay, stop);
            var hello = await connection.ReadAsync(stop);
            if (hello is not { Header.Type: FrameType.HelloReply } reply
                || !BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(reply.Body), out var info))
            {
                Count(hello, counts);
                return;
            }

            var frame = AuthFrame(address, owner, stranger, info.AuthNonce.Span);
            while (!stop.IsCancellationRequested)
            {
                counts.Attempt();
                await connection.WriteAsync(frame, stop);
                var answer = await connection.ReadAsync(stop);
                if (answer is { Header.Type: FrameType.Ok })
                {
                    counts.Accept();
                    continue;
                }

                Count(answer, counts);
                if (answer is null || answer.Value.Error is { } code && ErrorCodes.ClosesConnection(code))
                {
                    return;
                }
            }
        }, counts, stop);
    }

    private static byte[] AuthFrame(AddressId address, Key owner, Key stranger, ReadOnlySpan<byte> nonce)
    {
        var data = new byte[SignaturePayloads.AuthLength];
        SignaturePayloads.WriteAuth(data, nonce, address);
        var good = SignatureAlgorithm.Ed25519.Sign(owner, data);
        var claims = new AuthClaim[ProtocolLimits.MaxAuthClaims];
        for (int i = 0; i < claims.Length - 1; i++)
        {
            claims[i] = new AuthClaim(address, good);
        }

        claims[^1] = new AuthClaim(address, SignatureAlgorithm.Ed25519.Sign(stranger, data));
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteAuth(buffer, 2, claims);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A SEND header announcing a body of 2 GiB - 1 after HELLO: the relay must refuse it from the header alone
    /// (FRAME_TOO_LARGE) and close the connection, without reading or buffering a body.
    /// </summary>
    private static Task HugeFramesAsync(IPEndPoint relay, FloodSettings settings, FloodCounts counts, CancellationToken stop)
    {
        var header = new byte[ProtocolConstants.HeaderLength];
        new FrameHeader(int.MaxValue, FrameType.Send, 0, 2).Write(header);
        return Parallel(settings.FloodConnections, async () =>
        {
            counts.Attempt();
            await using var connection = await RawFloodConnection.ConnectAsync(relay, stop);
            var hello = await connection.ReadAsync(stop);
            if (hello is not { Header.Type: FrameType.HelloReply })
            {
                Count(hello, counts);
                return;
            }

            await connection.WriteAsync(header, stop);
            var answer = await connection.ReadAsync(stop);
            Count(answer, counts);
            if (answer is not null && await connection.IsClosedByPeerAsync(stop))
            {
                counts.Note(FloodCounts.Closed);
            }
        }, counts, stop);
    }

    /// <summary>An ERROR by its code, the end of the stream as closed, anything else by its frame type.</summary>
    private static void Count(RawFrame? frame, FloodCounts counts)
    {
        if (frame is not { } f)
        {
            counts.Note(FloodCounts.Closed);
        }
        else if (f.Error is { } code)
        {
            counts.Refuse(code);
        }
        else
        {
            counts.Note("unexpected " + f.Header.Type);
        }
    }

    /// <summary>Runs <paramref name="attempt"/> over and over on <paramref name="lanes"/> tasks until stopped; a failed attempt is counted, not fatal.</summary>
    private static Task Parallel(int lanes, Func<Task> attempt, FloodCounts counts, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, lanes).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await attempt();
                }
                catch (Exception ex) when (Failed(ex, stop))
                {
                    counts.Note(ex.GetType().Name);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }, CancellationToken.None)));

    /// <summary>
    /// A failure the flood counts and goes on from: the socket's, or a connect that timed out (the client's own
    /// timeout, not the end of the phase).
    /// </summary>
    private static bool Failed(Exception ex, CancellationToken stop) =>
        !stop.IsCancellationRequested && ex is IOException or SocketException or RelayException or ObjectDisposedException or TimeoutException or OperationCanceledException;
}
