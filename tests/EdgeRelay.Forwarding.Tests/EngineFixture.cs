using System.Collections.Concurrent;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>An engine over the in-memory outbound queue, fake peers and a fake clock; records every settle it reports.</summary>
internal sealed class EngineFixture : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <param name="wrap">Stands between the engine and <see cref="Flaky"/> (another test double), when given.</param>
    public EngineFixture(Action<ForwardingOptions>? configure = null, InMemoryOutboundQueue.Place? place = null, OutboundLimits? limits = null, Func<IOutboundQueue, IOutboundQueue>? wrap = null)
    {
        configure?.Invoke(Options);
        Queue = new InMemoryOutboundQueue(place, limits, Clock);
        Flaky = new FlakyQueue(Queue);
        Engine = new ForwardingEngine(wrap is null ? Flaky : wrap(Flaky), Peers, Options, Clock, NullLogger.Instance, s => Told.Enqueue(s));
    }

    public ObservableClock Clock { get; } = new(Start);

    public FakePeers Peers { get; } = new();

    public ForwardingOptions Options { get; } = new();

    public InMemoryOutboundQueue Queue { get; }

    /// <summary>What the engine writes through: <see cref="Queue"/>, with settles that can be made to fail.</summary>
    public FlakyQueue Flaky { get; }

    public ForwardingEngine Engine { get; }

    public ConcurrentQueue<SendSettled> Told { get; } = new();

    /// <param name="batchMs">The batch interval (the batched sending mode), 0 for a message forwarded at once.</param>
    public static OutboundRequest Request(int seed, string endpoint = "b.test:7400", string owner = "rm-1", byte[]? pin = null, long batchMs = 0)
    {
        var ephemeral = new byte[OutboundRequest.EphemeralAddressLength];
        ephemeral[0] = 1;
        return new OutboundRequest(owner, endpoint, pin ?? ReadOnlyMemory<byte>.Empty, ephemeral, BitConverter.GetBytes(seed), batchMs);
    }

    public async Task<long> SubmitAsync(int seed, string endpoint = "b.test:7400", long batchMs = 0)
    {
        var result = await Engine.SubmitAsync(Request(seed, endpoint, batchMs: batchMs));
        Assert.Equal(OutboundEnqueueStatus.Queued, result.Status);
        return result.SendId;
    }

    public SendSettled[] ToldAbout(long sendId) => Told.Where(s => s.SendId == sendId).ToArray();

    public Task UntilToldAsync(int count) => Eventually.TrueAsync(() => Told.Count >= count, () => $"{count} settled sends reported ({Told.Count} so far)");

    public static int Seed(byte[] ciphertext) => BitConverter.ToInt32(ciphertext);

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await Queue.DisposeAsync();
    }
}
