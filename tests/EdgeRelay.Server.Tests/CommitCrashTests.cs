using System.Collections.Concurrent;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The commit path on the store's own device (segments zero-filled ahead of the log, writes made durable with
/// fdatasync), crashed for real: the relay process is killed at random moments of a load that turns over
/// segments, restarted on the same folder each time, and every acknowledged SEND must come back.
/// </summary>
public sealed class CommitCrashTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public async Task Sigkill_at_random_moments_over_preallocated_segments_loses_no_acknowledged_send(int seed)
    {
        // Small pages and segments (256 KiB) so each round crosses several segment files while the zero-filler
        // prepares the next, and a kill can land in a write, a flush, or a zero-fill.
        string[] settings = ["--Limits:SendsPerSecondPerConnection=0", "--Storage:PageSizeBits=16", "--Storage:MemorySizeBits=18", "--Storage:SegmentSizeBits=18"];
        var random = new Random(seed);
        using var owner = new Owner();
        var acked = new ConcurrentDictionary<int, bool>();
        AddressCard? card = null;
        var next = 0;
        const int rounds = 4;
        for (var round = 0; round < rounds; round++)
        {
            // Starting is itself the check of the previous crash: the relay refuses a log its verifier finds damaged.
            await using var server = await ServerProcess.StartAsync(_temp.Path, settings);
            if (card is null)
            {
                await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
                card = (await owner.CreateAddressAsync(rm)).Card;
            }

            await using var sender = await RelayClient.ConnectAsync(server.RelayEndPoint, new RelayClientOptions { MaxInFlight = 128 });
            var ephemeral = RelayClient.DeriveEphemeralAddress(card);
            var killed = 0;
            using var stop = new CancellationTokenSource();
            var payloadLength = random.Next(64, 2048);

            async Task StreamAsync()
            {
                var payload = new byte[payloadLength];
                while (!stop.IsCancellationRequested)
                {
                    var sequence = Interlocked.Increment(ref next);
                    BitConverter.TryWriteBytes(payload, sequence);
                    try
                    {
                        await sender.SendAsync(ephemeral, payload.ToArray());
                    }
                    catch (RelayException ex) when (Volatile.Read(ref killed) == 1 && ex.Code == ErrorCode.None && ex.ConnectionClosed)
                    {
                        return; // lost with the process: never acknowledged
                    }

                    acked[sequence] = true;
                }
            }

            var target = acked.Count + random.Next(300, 3000);
            var streams = Enumerable.Range(0, 16).Select(_ => Task.Run(StreamAsync)).ToArray();
            await Eventually.TrueAsync(
                () =>
                {
                    foreach (var stream in streams.Where(s => s.IsFaulted))
                    {
                        stream.GetAwaiter().GetResult();
                    }

                    return acked.Count >= target;
                },
                () => $"round {round} (seed {seed}): {target} acknowledged sends before the kill ({acked.Count} so far)");

            Volatile.Write(ref killed, 1);
            await server.KillAsync();
            await stop.CancelAsync();
            await Eventually.Within(Task.WhenAll(streams), "every stream to end once the relay was killed");
        }

        await using (var server = await ServerProcess.StartAsync(_temp.Path, settings))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            await rm.AuthenticateAsync(card!.Aid, owner.Key);
            var received = await Drain.AllAsync(rm, card.Aid);
            var delivered = received.ToHashSet();
            Assert.Equal(received.Count, delivered.Count); // nothing twice
            var lost = acked.Keys.Where(k => !delivered.Contains(k)).Take(10).ToArray();
            Assert.True(lost.Length == 0, $"seed {seed}: acknowledged sends missing after {rounds} kills: {string.Join(", ", lost)} (of {acked.Count})");
        }
    }
}
