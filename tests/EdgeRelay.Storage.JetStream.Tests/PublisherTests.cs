using System.Reflection;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
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

    [Fact]
    public async Task A_publish_nobody_answers_fails_the_store_when_the_retry_window_closes_and_the_publisher_still_stops()
    {
        // With every server gone the client neither answers nor throws: it waits to reconnect. The window must
        // still close, or the write's waiter (and a store being closed) would wait for ever.
        var time = new FakeTimeProvider();
        var js = DispatchProxy.Create<INatsJSContext, SilentContext>();
        var options = new JetStreamStorageOptions { Url = "nats://127.0.0.1:1", PublishRetryWindow = TimeSpan.FromSeconds(5) };
        using var publisher = new Publisher(js, options, writer: 1, (_, _) => Task.CompletedTask, static _ => { }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, time);
        publisher.Start();

        var ticket = publisher.Enqueue("S", "s.msg.0", [1, 2, 3]);
        var durable = publisher.WaitDurableAsync(ticket, CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => ((SilentContext)(object)js).Waiting == 1, "the publish waits for an answer");
        time.Advance(options.PublishRetryWindow - TimeSpan.FromMilliseconds(1));
        Assert.Null(publisher.Failure);
        Assert.False(durable.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var error = await Assert.ThrowsAsync<IOException>(() => durable.WaitAsync(Eventually.Deadline()));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("publish retry window", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.Same(error.InnerException, publisher.Failure);
        Assert.False(publisher.IsDurable(ticket));
        await publisher.StopAsync().WaitAsync(Eventually.Deadline());
    }

    [Fact]
    public async Task A_stored_write_this_node_never_reads_back_fails_the_store_when_the_retry_window_closes()
    {
        var time = new FakeTimeProvider();
        var js = DispatchProxy.Create<INatsJSContext, StoringContext>();
        var options = new JetStreamStorageOptions { Url = "nats://127.0.0.1:1", PublishRetryWindow = TimeSpan.FromSeconds(5) };
        var neverApplied = new TaskCompletionSource();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var publisher = new Publisher(js, options, writer: 1, (_, _) =>
        {
            asked.TrySetResult();
            return neverApplied.Task;
        }, static _ => { }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, time);
        publisher.Start();

        var ticket = publisher.Enqueue("S", "s.msg.0", [1, 2, 3]);
        var durable = publisher.WaitDurableAsync(ticket, CancellationToken.None).AsTask();
        await Eventually.Within(asked.Task, "the publisher to wait for this node to apply the record");

        // The wait's deadline is set just after it is asked for, so it cannot have passed a moment early; a whole
        // window later it has, wherever it started.
        time.Advance(options.PublishRetryWindow - TimeSpan.FromMilliseconds(1));
        Assert.Null(publisher.Failure);
        time.Advance(options.PublishRetryWindow);
        var error = await Assert.ThrowsAsync<IOException>(() => durable.WaitAsync(Eventually.Deadline()));
        Assert.Contains("did not read it back", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.False(publisher.IsDurable(ticket));
        await publisher.StopAsync().WaitAsync(Eventually.Deadline());
    }

    /// <summary>A context that stores every publish at sequence 7 at once.</summary>
    public class StoringContext : DispatchProxy
    {
#pragma warning disable CA2012
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(INatsJSContext.PublishAsync)
                ? ValueTask.FromResult(new PubAckResponse { Stream = "S", Seq = 7 })
                : throw new NotSupportedException(targetMethod?.Name);
#pragma warning restore CA2012
    }

    /// <summary>A context whose publishes never answer, as the client does while it waits to reconnect; only cancellation ends them.</summary>
    public class SilentContext : DispatchProxy
    {
        private int _waiting;

        public int Waiting => Volatile.Read(ref _waiting);

#pragma warning disable CA2012
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(INatsJSContext.PublishAsync))
            {
                throw new NotSupportedException(targetMethod?.Name);
            }

            var ct = args!.OfType<CancellationToken>().Single();
            Interlocked.Increment(ref _waiting);
            var answer = new TaskCompletionSource<PubAckResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            ct.Register(() => answer.TrySetCanceled(ct));
            return new ValueTask<PubAckResponse>(answer.Task);
        }
#pragma warning restore CA2012
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
