using System.Collections.Concurrent;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>An ack means durable: proved by restarting and killing the real executable.</summary>
public sealed class DurabilityTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Restart_keeps_unacked_messages_and_never_returns_acked_ones()
    {
        using var owner = new Owner();
        AddressCard card;
        AddressId aid;
        long firstId;
        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            var created = await owner.CreateAddressAsync(rm);
            (card, aid) = (created.Card, created.Id);
            for (byte i = 1; i <= 3; i++)
            {
                await rm.SendAsync(card, new[] { i });
            }

            await rm.AuthenticateAsync(aid, owner.Key);
            firstId = (await rm.PullAsync(aid, 1)).Messages[0].Id;
            await rm.AckAsync(aid, [firstId]);
            Assert.Equal(0, await server.TerminateAsync());
        }

        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            await rm.AuthenticateAsync(aid, owner.Key);
            var pending = (await rm.PullAsync(aid)).Messages;
            Assert.Equal(new byte[] { 2, 3 }, pending.Select(m => m.Ciphertext.Span[0]).ToArray());
            Assert.DoesNotContain(pending, m => m.Id == firstId);

            // The card issued before the restart still works: the service key was persisted.
            await rm.SendAsync(card, new byte[] { 4 });
            await rm.AckAsync(aid, pending.Select(m => m.Id).ToArray());
            Assert.Equal(0, await server.TerminateAsync());
        }

        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            await rm.AuthenticateAsync(aid, owner.Key);
            var pending = (await rm.PullAsync(aid)).Messages;
            Assert.Equal(new byte[] { 4 }, pending.Select(m => m.Ciphertext.Span[0]).ToArray());
        }
    }

    [Fact]
    public async Task Sigkill_while_streaming_loses_no_acknowledged_send_and_repeats_no_acknowledged_delivery()
    {
        using var owner = new Owner();
        var acked = new ConcurrentDictionary<int, bool>();
        AddressCard card;
        // One connection streams as fast as it can: the SEND rate limit would refuse most of it.
        await using (var server = await ServerProcess.StartAsync(_temp.Path, "--Limits:SendsPerSecondPerConnection=0"))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            card = (await owner.CreateAddressAsync(rm)).Card;
            await using var sender = await RelayClient.ConnectAsync(server.RelayEndPoint, new RelayClientOptions { MaxInFlight = 128 });
            var ephemeral = RelayClient.DeriveEphemeralAddress(card);
            int next = 0;
            var killed = 0;
            using var stop = new CancellationTokenSource();

            async Task StreamAsync()
            {
                var payload = new byte[512];
                while (!stop.IsCancellationRequested)
                {
                    int sequence = Interlocked.Increment(ref next);
                    BitConverter.TryWriteBytes(payload, sequence);
                    try
                    {
                        await sender.SendAsync(ephemeral, payload.ToArray());
                    }
                    catch (RelayException ex) when (Volatile.Read(ref killed) == 1 && ex.Code == ErrorCode.None && ex.ConnectionClosed)
                    {
                        // The connection was lost because the test killed the relay: this send was never
                        // acknowledged. Any other error, or this one before the kill, fails the test.
                        return;
                    }

                    acked[sequence] = true;
                }
            }

            var streams = Enumerable.Range(0, 32).Select(_ => Task.Run(StreamAsync)).ToArray();
            await Eventually.TrueAsync(
                () =>
                {
                    foreach (var stream in streams.Where(s => s.IsFaulted))
                    {
                        stream.GetAwaiter().GetResult(); // a send failed before the kill: its error says why
                    }

                    return acked.Count >= 5000;
                },
                () => $"5000 acknowledged sends before the kill ({acked.Count} so far)");

            Volatile.Write(ref killed, 1);
            await server.KillAsync(); // mid-stream: SENDs are in flight, some written but not committed
            await stop.CancelAsync();
            await Eventually.Within(Task.WhenAll(streams), "every stream to end once the relay was killed");
        }

        Assert.True(acked.Count >= 5000, $"only {acked.Count} sends were acknowledged before the kill");
        var ackedBeforeKill = acked.Keys.ToHashSet();
        HashSet<int> delivered;
        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            await rm.AuthenticateAsync(card.Aid, owner.Key);
            var received = await Drain.AllAsync(rm, card.Aid);
            delivered = received.ToHashSet();
            Assert.Equal(received.Count, delivered.Count); // nothing delivered twice
            await server.KillAsync(); // right after the ACKs were answered
        }

        Assert.Subset(delivered, ackedBeforeKill); // every acknowledged send came back after the restart

        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            await using var rm = await RelayClient.ConnectAsync(server.RelayEndPoint);
            await rm.AuthenticateAsync(card.Aid, owner.Key);
            Assert.Empty((await rm.PullAsync(card.Aid, 1000)).Messages);
        }
    }
}
