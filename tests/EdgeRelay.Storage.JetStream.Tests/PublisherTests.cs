using System.Reflection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>The publisher's retries, against a JetStream context that answers as a cluster in an election does.</summary>
public sealed class PublisherTests
{
    [Fact]
    public async Task A_retry_answered_duplicate_is_the_stored_record_and_makes_its_ticket_durable()
    {
        // The first attempt was stored at sequence 7 but its ack was lost with the leader; the retry (same Msg-Id)
        // is dropped by JetStream as a duplicate, which answers with the stored record's sequence.
        var js = DispatchProxy.Create<INatsJSContext, ElectionContext>();
        var options = new JetStreamStorageOptions { Url = "nats://127.0.0.1:1", PublishRetryWindow = TimeSpan.FromSeconds(2) };
        var applied = new List<(string Stream, ulong Seq)>();
        using var publisher = new Publisher(js, options, writer: 1, (stream, seq) =>
        {
            lock (applied)
            {
                applied.Add((stream, seq));
            }

            return Task.CompletedTask;
        }, static _ => { }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        publisher.Start();

        var ticket = publisher.Enqueue("S", "s.msg.0", [1, 2, 3]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await publisher.WaitDurableAsync(ticket, timeout.Token);

        Assert.Null(publisher.Failure);
        Assert.Equal([("S", 7UL)], applied);
        Assert.Equal(2, ((ElectionContext)(object)js).Attempts);
        await publisher.StopAsync();
    }

    /// <summary>Times out the first publish (as a lost ack does), then answers every retry as a duplicate of sequence 7.</summary>
    public class ElectionContext : DispatchProxy
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        // A proxy can only hand the call's ValueTask back boxed; the publisher awaits it once.
#pragma warning disable CA2012
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(INatsJSContext.PublishAsync))
            {
                throw new NotSupportedException(targetMethod?.Name);
            }

            if (Interlocked.Increment(ref _attempts) == 1)
            {
                return ValueTask.FromException<PubAckResponse>(new NatsException("No response received from the server"));
            }

            return ValueTask.FromResult(new PubAckResponse { Stream = "S", Seq = 7, Duplicate = true });
        }
#pragma warning restore CA2012
    }
}
