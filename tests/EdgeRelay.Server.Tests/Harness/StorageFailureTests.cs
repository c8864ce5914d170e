using EdgeRelay.Protocol;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// A storage that fails for good (as a full disk leaves the FASTER log): the relay notices at its next
/// watchdog tick, stops taking requests and signals the host to stop, so that a restart recovers. Sessions over
/// in-memory pipes with the clock in the test's hands; <c>DiskFullTests</c> does the same with a real disk.
/// </summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task A_storage_failure_is_noticed_within_a_second_and_stops_the_relay_without_acknowledging_anything_after_it()
    {
        await using var relay = await SessionHarness.StartAsync();
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        await using var connection = await relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(connection, owner);
        Assert.False(relay.Server.StorageFailed.IsCancellationRequested);

        relay.Storage.Break(new IOException("No space left on device"));

        // Nothing written now is promised: the SEND's commit fails, no OK comes for it, and the connection says
        // why (INTERNAL_ERROR, request id 0) before it closes.
        await connection.SendAsync(w => FrameWriter.WriteSend(w, 7, relay.Ephemeral(card), "lost"u8));
        var reply = await connection.ReadFrameAsync();
        Assert.Equal(FrameType.Error, reply.Header.Type);
        Assert.Equal(0u, reply.Header.RequestId);
        Assert.True(BodyReader.TryReadError(new System.Buffers.ReadOnlySequence<byte>(reply.Body), out var error));
        Assert.Equal(ErrorCode.InternalError, error.Code);
        await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReadFrameAsync());

        // Until the watchdog's next tick the relay has not acted; at it, it stops and tells the host.
        Assert.False(relay.Server.StorageFailed.IsCancellationRequested);
        relay.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(relay.Server.StorageFailed.IsCancellationRequested);
        Assert.True(relay.Server.IsShuttingDown);
    }
}
