using System.Globalization;
using EdgeRelay.LoadTest.Scenarios;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// Push: a durable push consumer per receiver, acked in batches as the relay's push receivers ack (see
/// <see cref="ConsumingReceiver"/>). Receivers are dealt queues as for the relay (<see cref="DeliveryScenario.PushReceivers"/>):
/// one per sending connection, each one connection with one consumer over every queue it is dealt. One consumer
/// and one connection per queue did not scale to 10,000 queues: at R3 each consumer is a RAFT group of its own,
/// created at a few per second here, so setting up took about an hour (loadtest/README.md, "nats").
/// </summary>
internal sealed partial class NatsTarget
{
    /// <summary>Unacknowledged messages a push consumer may have out: the relay's push credit (EdgeRelayTarget.Push.cs).</summary>
    private const int PushAckWindow = 1024;

    public Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken) =>
        StartPushReceiverAsync([queue], sink, cancellationToken);

    /// <summary>
    /// One connection and one durable push consumer for the queues dealt to one receiver, as the relay's push
    /// receiver is one connection subscribed to every address it is dealt. The consumer's filter is the one subject
    /// those queues share a prefix under (<see cref="PushSubjects"/>): nats-server 2.9.10 takes a single filter
    /// subject per consumer (several arrived in 2.10).
    /// </summary>
    public async Task<IAsyncDisposable> StartPushReceiverAsync(IReadOnlyList<int> queues, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var (name, filter) = PushConsumerOf(queues, _subjects, _pushReceivers);
        var connection = await ConnectNatsAsync(name, cancellationToken);
        try
        {
            var js = CreateContext(connection);
            var consumer = await js.CreateOrUpdatePushConsumerAsync(StreamName, new NatsJSPushConsumerOpts
            {
                DurableName = name,
                DeliverSubject = js.NewBaseInbox(),
                FilterSubject = filter,

                // Acknowledged as the relay's push receivers do: everything read so far in one ack (AckPolicy.All
                // acks a message and all before it), with as much outstanding as the relay's push credit.
                AckPolicy = ConsumerConfigAckPolicy.All,
                MaxAckPending = PushAckWindow,
            }, cancellationToken);
            return new ConsumingReceiver(connection, consumer, sink, batchedAcks: true);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The subjects of a push run: queue q under its receiver's prefix, <c>edgerelay-loadtest.R.q</c> with R =
    /// q mod receivers (<see cref="DeliveryScenario.PushReceiverOf"/>), so that one filter, <c>edgerelay-loadtest.R.&gt;</c>,
    /// is every queue of receiver R and no other.
    /// </summary>
    internal static string[] PushSubjects(int queues, int receivers)
    {
        var subjects = new string[queues];
        for (int q = 0; q < queues; q++)
        {
            subjects[q] = string.Create(CultureInfo.InvariantCulture, $"{SubjectPrefix}{DeliveryScenario.PushReceiverOf(q, receivers)}.{q}");
        }

        return subjects;
    }

    /// <summary>
    /// The durable name and filter subject of the consumer for <paramref name="queues"/>: a single queue's own subject
    /// (one consumer per queue, as when there are no more queues than connections), or its receiver's prefix when
    /// the queues are exactly what <see cref="DeliveryScenario"/> deals that receiver. Any other set has no single
    /// filter on 2.9.10, and is refused rather than given a consumer that would take another receiver's messages.
    /// </summary>
    internal static (string Name, string Filter) PushConsumerOf(IReadOnlyList<int> queues, string[] subjects, int receivers)
    {
        var c = CultureInfo.InvariantCulture;
        if (queues.Count == 1)
        {
            return (string.Create(c, $"push-{queues[0]}"), subjects[queues[0]]);
        }

        int receiver = queues.Count == 0 || receivers < 1 ? -1 : DeliveryScenario.PushReceiverOf(queues[0], receivers);
        if (receiver < 0 || !queues.SequenceEqual(DeliveryScenario.PushQueuesOf(receiver, receivers, subjects.Length)))
        {
            throw new ArgumentException($"nats push: one consumer takes one receiver's whole share of the {subjects.Length} queues (queue q to receiver q mod {receivers}).", nameof(queues));
        }

        return (string.Create(c, $"push-r{receiver}"), string.Create(c, $"{SubjectPrefix}{receiver}.>"));
    }
}
