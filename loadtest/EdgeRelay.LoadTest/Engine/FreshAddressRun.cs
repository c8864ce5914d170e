using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Server.Access;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>What <c>fresh</c> measures, bound from its command line.</summary>
internal sealed record FreshRunSettings
{
    /// <summary>Long-term addresses the SENDs go to (round robin). Default 1000.</summary>
    public int Addresses { get; init; } = 1000;

    /// <summary>Connections, each authenticated with a peer token, as a sending service forwards over a few. Default 4.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>SENDs per phase, over all connections. Default 200,000.</summary>
    public int Sends { get; init; } = 200_000;

    /// <summary>SENDs a connection has unanswered at most. Default 512 (the relay reads 1024 ahead).</summary>
    public int InFlight { get; init; } = 512;

    /// <summary>Ciphertext bytes per SEND. Default 256.</summary>
    public int PayloadBytes { get; init; } = 256;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        Check(problems, "--addresses", Addresses, 1, 100_000);
        Check(problems, "--connections", Connections, 1, 256);
        Check(problems, "--sends", Sends, 1, 10_000_000);
        Check(problems, "--in-flight", InFlight, 1, 1024);
        Check(problems, "--payload", PayloadBytes, 1, 16 * 1024);
        return problems;
    }

    private static void Check(List<string> problems, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{name}: {value} is out of range [{min}, {max}].");
        }
    }
}

/// <summary>One phase's outcome: SENDs stored per second of wall time, and the relay's CPU over it.</summary>
internal sealed record FreshPhaseResult(string Phase, int Sent, int Stored, IReadOnlyDictionary<ErrorCode, int> Refused, TimeSpan Elapsed, TimeSpan? RelayCpu)
{
    public double SendsPerSecond => Stored / Elapsed.TotalSeconds;

    /// <summary>Cores the relay kept busy on average (its CPU time over the wall time).</summary>
    public double? RelayCores => RelayCpu is { } cpu ? cpu / Elapsed : null;
}

/// <summary>
/// The receiving side under a sending service's traffic: SENDs in which every ephemeral address is new to the
/// relay (each costs one HPKE open), from connections authenticated with a peer token, against the same run's
/// baseline of SENDs whose addresses the relay has cached. The relay runs in its own process with its default
/// options; frames are built before the clock starts (deriving an address costs the sender two X25519, more
/// than the relay's open, and would otherwise measure the generator) and written over raw sockets.
/// </summary>
internal static class FreshAddressRun
{
    private const uint FirstSendRequest = 100;

    public static async Task<FreshPhaseResult[]> RunAsync(FreshRunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        await using var relay = await RelayProcess.StartAsync(EdgeRelayTarget.StartedRelayOptions, cancellationToken);
        log($"edgerelay pid {relay.ProcessId} on {relay.EndPoint}, {Environment.ProcessorCount} cores");
        var access = new EdgeRelayOptions().Access;
        string token;
        using (var tokens = TokenStore.Open(access.ResolveTokensFile(relay.DataDir), access.DefaultLimits, TimeProvider.System))
        {
            token = tokens.Create("fresh-load", TokenRole.Peer).Secret;
        }

        var cards = await CreateAddressesAsync(relay.EndPoint, settings.Addresses, cancellationToken);
        var payload = new byte[settings.PayloadBytes];
        Random.Shared.NextBytes(payload);
        var validFor = TimeSpan.FromHours(1);

        // Baseline: one ephemeral address per long-term address, sent once before the clock starts, so every
        // measured SEND is a cache hit.
        var cached = Array.ConvertAll(cards, c => RelayClient.DeriveEphemeralAddress(c, validFor));
        await RunPhaseAsync(relay, token, settings, "prime", cached.Length, i => cached[i], payload, cancellationToken);
        log($"baseline: {settings.Sends} SENDs to {cards.Length} cached addresses");
        var baseline = await RunPhaseAsync(relay, token, settings, "cached", settings.Sends, i => cached[i % cached.Length], payload, cancellationToken);

        log($"deriving {settings.Sends} fresh addresses (not measured)");
        var fresh = new byte[settings.Sends][];
        Parallel.For(0, fresh.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => fresh[i] = RelayClient.DeriveEphemeralAddress(cards[i % cards.Length], validFor));
        log($"fresh: {settings.Sends} SENDs, every address new to the relay");
        var freshResult = await RunPhaseAsync(relay, token, settings, "fresh", settings.Sends, i => fresh[i], payload, cancellationToken);

        foreach (var line in await ResolutionMetricsAsync(relay, cancellationToken))
        {
            log(line);
        }

        return [baseline, freshResult];
    }

    private static async Task<FreshPhaseResult> RunPhaseAsync(PeerProcess relay, string token, FreshRunSettings settings, string phase, int sends, Func<int, byte[]> address, byte[] payload, CancellationToken cancellationToken)
    {
        // Connection c sends SENDs c, c + connections, ...: frames built now, the clock not yet started.
        var connections = Math.Min(settings.Connections, sends);
        var frames = new byte[connections][];
        var counts = new int[connections];
        for (var c = 0; c < connections; c++)
        {
            var writer = new ArrayBufferWriter<byte>();
            for (var i = c; i < sends; i += connections, counts[c]++)
            {
                FrameWriter.WriteSend(writer, FirstSendRequest + (uint)counts[c], address(i), payload);
            }

            frames[c] = writer.WrittenSpan.ToArray();
        }

        var streams = new NetworkStream[connections];
        for (var c = 0; c < connections; c++)
        {
            streams[c] = await HandshakeAsync(relay.EndPoint, token, cancellationToken);
        }

        try
        {
            var cpuBefore = relay.ProcessorTime();
            var clock = Stopwatch.StartNew();
            var results = await Task.WhenAll(Enumerable.Range(0, connections).Select(c => PumpAsync(streams[c], frames[c], counts[c], settings.InFlight, cancellationToken)));
            clock.Stop();
            var cpuAfter = relay.ProcessorTime();
            var refused = new Dictionary<ErrorCode, int>();
            foreach (var (_, errors) in results)
            {
                foreach (var (code, n) in errors)
                {
                    refused[code] = refused.GetValueOrDefault(code) + n;
                }
            }

            return new FreshPhaseResult(phase, sends, results.Sum(r => r.Stored), refused, clock.Elapsed, cpuAfter - cpuBefore);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>Writes the frames keeping at most <paramref name="inFlight"/> unanswered, reading replies as they come.</summary>
    private static async Task<(int Stored, Dictionary<ErrorCode, int> Errors)> PumpAsync(NetworkStream stream, byte[] frames, int count, int inFlight, CancellationToken cancellationToken)
    {
        var frameLength = frames.Length / count;
        using var window = new SemaphoreSlim(inFlight);
        var writing = Task.Run(
            async () =>
            {
                for (var next = 0; next < count;)
                {
                    // At least one slot, then as many as are free, in one write.
                    await window.WaitAsync(cancellationToken);
                    var batch = 1;
                    while (next + batch < count && window.Wait(0))
                    {
                        batch++;
                    }

                    await stream.WriteAsync(frames.AsMemory(next * frameLength, batch * frameLength), cancellationToken);
                    next += batch;
                }
            },
            cancellationToken);

        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var stored = 0;
        var errors = new Dictionary<ErrorCode, int>();
        var expected = FirstSendRequest;
        for (var replies = 0; replies < count;)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var released = 0;
            while (FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body) == FrameParseStatus.Complete)
            {
                if (header.RequestId != expected++)
                {
                    throw new LoadTestException($"reply to request {header.RequestId} where {expected - 1} was due: replies out of order");
                }

                if (header.Type == FrameType.Ok)
                {
                    stored++;
                }
                else if (BodyReader.TryReadError(body, out var error))
                {
                    errors[error.Code] = errors.GetValueOrDefault(error.Code) + 1;
                }

                replies++;
                released++;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (released > 0)
            {
                window.Release(released);
            }

            if (result.IsCompleted && replies < count)
            {
                throw new LoadTestException($"the relay closed the connection after {replies} of {count} replies");
            }
        }

        await writing;
        await reader.CompleteAsync();
        return (stored, errors);
    }

    private static async Task<NetworkStream> HandshakeAsync(IPEndPoint endPoint, string token, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, cancellationToken);
        var stream = new NetworkStream(socket, ownsSocket: true);
        var hello = new ArrayBufferWriter<byte>();
        FrameWriter.WriteHello(hello, 1);
        FrameWriter.WriteAuthToken(hello, 2, Encoding.ASCII.GetBytes(token));
        await stream.WriteAsync(hello.WrittenMemory, cancellationToken);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var types = new List<FrameType>();
        while (types.Count < 2)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (types.Count < 2 && FrameReader.TryRead(ref buffer, 1 << 20, out var header, out _) == FrameParseStatus.Complete)
            {
                types.Add(header.Type);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted && types.Count < 2)
            {
                throw new LoadTestException("the relay closed the connection during HELLO and AUTH_TOKEN");
            }
        }

        await reader.CompleteAsync();
        if (types[0] != FrameType.HelloReply || types[1] != FrameType.Ok)
        {
            throw new LoadTestException($"HELLO and AUTH_TOKEN answered {types[0]}, {types[1]}");
        }

        return stream;
    }

    private static async Task<AddressCard[]> CreateAddressesAsync(IPEndPoint endPoint, int count, CancellationToken cancellationToken)
    {
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        await using var client = await RelayClient.ConnectAsync(endPoint, new RelayClientOptions { MaxInFlight = 128 }, cancellationToken);
        var cards = new AddressCard[count];
        for (var start = 0; start < count; start += 128)
        {
            var batch = Enumerable.Range(start, Math.Min(128, count - start)).Select(_ => client.CreateAddressAsync(owner.PublicKey, TimeSpan.FromDays(1), cancellationToken)).ToArray();
            var created = await Task.WhenAll(batch);
            for (var i = 0; i < created.Length; i++)
            {
                cards[start + i] = created[i].Card;
            }
        }

        return cards;
    }

    /// <summary>The relay's own count of misses, by class and refusal: what it resolved for whom.</summary>
    private static async Task<string[]> ResolutionMetricsAsync(PeerProcess relay, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(RelayProcess.MetricsUrl(relay), cancellationToken);
        return [.. text.Split('\n').Where(l => l.StartsWith("edgerelay_resolve_misses", StringComparison.Ordinal))];
    }
}
