using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRelay.Client;
using EdgeRelay.Server;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// Retention end to end over loopback: in a long run the log's disk use stays bounded although one address
/// is never consumed, nothing a sender had acknowledged is lost, and the forgotten messages survive both
/// compaction and a restart. (The TTL end to end is <see cref="RetentionTtlTests"/>.)
/// </summary>
/// <remarks>
/// The storage tests prove compaction and truncation against the store alone; this one drives them through
/// the whole relay (sessions, push pump, group commit, maintenance timer) at once, because the bound only
/// holds if every one of them lets go of old log addresses. Longer than most test files because it is one
/// soak, start to restart; the bookkeeping of its senders and consumers is in RetentionSoakTests.Flows.cs.
/// </remarks>
public sealed partial class RetentionSoakTests(ITestOutputHelper output) : IDisposable
{
    private const int SegmentBytes = 1 << 20;

    // 150 MiB of ciphertext through 1 MiB segments: the log rolls over well more than a hundred times,
    // so a leak of one segment per roll, or one pinned head, could not hide under the bound below.
    private const long PayloadBytesPerFlow = 75L << 20;
    private const int MinPayload = 1024;
    private const int MaxPayload = 4096;
    private const int SendBatch = 32;
    private const int SendersPerFlow = 2;

    // Senders stop when this many messages of an address are sent and not yet seen by its consumer. The
    // promise under test is about consumers that keep up; without this, a consumer falling behind the
    // senders would grow a legitimate backlog and the disk with it, which says nothing about retention.
    private const int BacklogWindow = 1024;
    private const int PushCredit = 512;
    private const int PullBatch = 256;

    // The bound on the log folder, with messages of at most 4 KiB (plus a record header) and truncation every
    // 250 ms (Maintenance):
    // - live backlog: two addresses × 1024 messages × ~4 KiB ≈ 8 MiB at worst (2.5 KiB on average), and the
    //   head can sit at the oldest of them;
    // - rounding: truncation frees whole segments, so the head's segment and the tail's are partly used,
    //   and compaction leaves alone the segment before the tail's (2-3 MiB);
    // - what arrives between two maintenance passes, plus the commit that must persist the new head before
    //   FASTER deletes the files, twice over in case one pass runs late: this term grows with the rate the
    //   relay reaches on the machine, so it is computed from the rate the run measured (16-23 MiB/s once,
    //   ~55 MiB/s after the commit path got faster), never less than the 24 MiB first chosen in total;
    // - the forgotten address' three messages cost nothing once compaction copies them forward.
    // With compaction off the head stays at the first segment and the folder grows to the whole ~155 MiB
    // that flowed through it (checked once by hand), far past the bound at any of these rates.
    private const long FixedLogDirBytes = 11L << 20;
    private const long MinLogDirBound = 24L << 20;
    private static readonly TimeSpan Maintenance = TimeSpan.FromMilliseconds(250);

    private static long MaxLogDirBytes(double bytesPerSecond) =>
        Math.Max(MinLogDirBound, FixedLogDirBytes + (long)(2 * bytesPerSecond * Maintenance.TotalSeconds));

    // Once traffic stops and the backlog is drained, only the forgotten messages are live: the tail's
    // segment, the one before it, and one more the last pass may not have freed yet.
    private const int MaxSegmentsAtRest = 3;

    // The folder is measured after every batch a sender completes (and at rest), so measurements follow
    // the traffic whatever the machine's load; this many bytes acknowledged without one would mean the
    // measuring had stopped. Four senders with a batch each in flight stay well below it.
    private const long MaxAckedBytesBetweenSamples = 1L << 20;

    private static readonly TimeSpan FlowDeadline = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Disk_use_stays_bounded_past_a_forgotten_address_and_nothing_acknowledged_is_lost_or_forgotten_across_a_restart()
    {
        var clock = Stopwatch.StartNew();
        using var owner = new Owner();
        var logDir = Path.Combine(_temp.Path, "log");
        CreatedAddress forgotten;
        Flow pushed, pulled;
        LogUsage usage;
        ReceivedMessage[] forgottenAtStart, forgottenBeforeRestart;
        long logBytesWritten, messagesMoved;
        TimeSpan sendsDone;

        await using (var relay = await TestRelay.StartAsync(SmallSegments, dataDir: _temp.Path))
        {
            await using var setup = await relay.ConnectAsync();
            forgotten = await owner.CreateAddressAsync(setup);
            pushed = new Flow(1, await owner.CreateAddressAsync(setup));
            pulled = new Flow(2, await owner.CreateAddressAsync(setup));
            usage = new LogUsage(logDir, relay.Host.Server.Storage, clock, [pushed, pulled]);

            for (var i = 0; i < 3; i++)
            {
                await setup.SendAsync(forgotten.Card, ForgottenPayload(i));
            }

            // Read once, never acked: the reference for what must come back, same ids, same bytes.
            await setup.AuthenticateAsync(forgotten.Id, owner.Key);
            forgottenAtStart = [.. (await setup.PullAsync(forgotten.Id)).Messages];
            Assert.Equal(3, forgottenAtStart.Length);

            using var deadline = new CancellationTokenSource(FlowDeadline);
            using var stopConsumers = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            usage.Sample();
            var consumers = new[]
            {
                ConsumeByPushAsync(relay, owner, pushed, stopConsumers.Token),
                ConsumeByPullAsync(relay, owner, pulled, stopConsumers.Token),
            };
            var senders = new List<Task>();
            foreach (var flow in new[] { pushed, pulled })
            {
                for (var i = 0; i < SendersPerFlow; i++)
                {
                    senders.Add(SendLoopAsync(relay, flow, usage, deadline.Token));
                }
            }

            try
            {
                await WhileRunningAsync(Task.WhenAll(senders), consumers, "the senders");
                sendsDone = clock.Elapsed;

                // Every acknowledged send must reach its consumer; a consumer that faults fails the wait at once.
                await Eventually.TrueAsync(
                    () =>
                    {
                        ThrowIfFaulted(consumers);
                        return pushed.AllAckedReceived() && pulled.AllAckedReceived();
                    },
                    () => $"every acknowledged send to reach its consumer (not yet: push {string.Join(", ", pushed.Missing())}; pull {string.Join(", ", pulled.Missing())})");
                await stopConsumers.CancelAsync();
                await Task.WhenAll(consumers);
                output.WriteLine($"sends done after {sendsDone.TotalSeconds:F1} s, all received after {clock.Elapsed.TotalSeconds:F1} s");

                // At rest, maintenance frees the drained segments and keeps the forgotten messages near the tail.
                await Eventually.TrueAsync(
                    () => usage.Sample().Segments <= MaxSegmentsAtRest,
                    () => $"the log folder to come down to {MaxSegmentsAtRest} segment files once the backlog is drained ({usage.Last.Segments} now)",
                    SettleDeadline);
            }
            finally
            {
                await deadline.CancelAsync();
                await QuietlyAsync([.. consumers, .. senders]);
            }

            var stats = relay.Host.Server.Storage.GetStatistics();
            logBytesWritten = stats.LogTailAddress;
            messagesMoved = stats.MessagesMoved;
            forgottenBeforeRestart = [.. (await setup.PullAsync(forgotten.Id)).Messages];
        }

        var samples = usage.Samples;
        var atRest = MeasureLog(logDir);
        var acknowledged = pushed.AckedBytes + pulled.AckedBytes;
        var progress = samples.Select(x => x.AckedBytes).Order().ToList(); // senders add theirs concurrently
        var widestGap = progress.Zip(progress.Skip(1), (a, b) => b - a).DefaultIfEmpty().Max();
        output.WriteLine(
            $"acknowledged {acknowledged >> 20} MiB of ciphertext in {pushed.Acked.Count + pulled.Acked.Count} messages; " +
            $"log written {logBytesWritten >> 20} MiB ({logBytesWritten / SegmentBytes} segments)");
        output.WriteLine(
            $"log folder: max {samples.Max(x => x.Bytes) / (double)(1 << 20):F1} MiB, max {samples.Max(x => x.Segments)} segment files over {samples.Count} samples " +
            $"(at most {widestGap >> 10} KiB acknowledged between two); " +
            $"at rest {atRest.Bytes / (double)(1 << 20):F1} MiB in {atRest.Segments} segment files; {messagesMoved} messages moved by compaction");
        output.WriteLine(
            $"deliveries: push {pushed.Deliveries} for {pushed.Received.Count} distinct, pull {pulled.Deliveries} for {pulled.Received.Count} distinct; " +
            $"{clock.Elapsed.TotalSeconds:F1} s before the restart");

        Assert.Empty(pushed.Problems);
        Assert.Empty(pulled.Problems);
        Assert.True(acknowledged >= 2 * PayloadBytesPerFlow, $"only {acknowledged >> 20} MiB were acknowledged");
        Assert.Empty(pushed.Missing());
        Assert.Empty(pulled.Missing());

        // The measurements span the whole run, densely: from before the first send to after the last
        // acknowledgement, never more than MaxAckedBytesBetweenSamples of traffic apart, and each of them
        // found the log's segments where it looked.
        Assert.Equal(0, progress[0]);
        Assert.Equal(acknowledged, samples[^1].AckedBytes);
        Assert.True(widestGap <= MaxAckedBytesBetweenSamples, $"{widestGap >> 10} KiB were acknowledged between two measurements of the log folder");
        Assert.All(samples, x => Assert.True(x.Segments >= 1, $"no segment file in the log folder at {x.At.TotalSeconds:F2} s"));

        // Under the bound at every measurement, not only at its peak or at the end.
        var rate = logBytesWritten / sendsDone.TotalSeconds;
        var bound = MaxLogDirBytes(rate);
        var over = samples.Where(x => x.Bytes > bound).ToList();
        Assert.True(
            over.Count == 0,
            $"the log folder was over its bound of {bound >> 20} MiB ({rate / (1 << 20):F0} MiB/s) in {over.Count} of {samples.Count} measurements while {logBytesWritten >> 20} MiB flowed through it, first: " +
            string.Join("; ", over.Take(5).Select(x => $"{x.Bytes >> 20} MiB in {x.Segments} segments at {x.At.TotalSeconds:F2} s (log tail at {x.LogTail >> 20} MiB)")));
        Assert.True(atRest.Segments <= MaxSegmentsAtRest, $"{atRest.Segments} segment files remain once the backlog is drained");
        Assert.True(messagesMoved >= 3, "compaction never moved the forgotten messages, so something else freed their segments");
        AssertSameMessages(forgottenAtStart, forgottenBeforeRestart);

        await using (var relay = await TestRelay.StartAsync(SmallSegments, dataDir: _temp.Path))
        {
            await using var rm = await relay.ConnectAsync();
            await rm.AuthenticateAsync([(forgotten.Id, owner.Key), (pushed.Address.Id, owner.Key), (pulled.Address.Id, owner.Key)]);
            AssertSameMessages(forgottenAtStart, [.. (await rm.PullAsync(forgotten.Id)).Messages]);
            Assert.Empty((await rm.PullAsync(pushed.Address.Id)).Messages);
            Assert.Empty((await rm.PullAsync(pulled.Address.Id)).Messages);
        }

        output.WriteLine($"restart checked; {clock.Elapsed.TotalSeconds:F1} s in all");
    }

    private static void SmallSegments(EdgeRelayOptions o)
    {
        o.Storage.PageSizeBits = 16;
        o.Storage.MemorySizeBits = 20;
        o.Storage.SegmentSizeBits = 20;
        o.Storage.MaintenanceInterval = Maintenance;

        // The soak sends as fast as the relay takes it, which a busy machine may keep above the default SEND rate.
        o.Limits.SendsPerSecondPerConnection = 0;
    }

    internal static byte[] ForgottenPayload(int index)
    {
        var payload = new byte[100 + index];
        Random.Shared.NextBytes(payload);
        return payload;
    }

    private static void AssertSameMessages(ReceivedMessage[] expected, ReceivedMessage[] actual)
    {
        Assert.Equal(expected.Select(m => m.Id), actual.Select(m => m.Id));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].Ciphertext.Span.SequenceEqual(actual[i].Ciphertext.Span), $"message {expected[i].Id} came back with other bytes");
        }
    }

    /// <summary>Sends one address' share of the budget, <see cref="SendBatch"/> at a time, each within the backlog window.</summary>
    private static async Task SendLoopAsync(TestRelay relay, Flow flow, LogUsage usage, CancellationToken cancellationToken)
    {
        await using var client = await relay.ConnectAsync();

        // One ephemeral address per sender, as a real sender caches it: deriving one per message would make
        // every SEND a resolution miss, and the relay rate-limits those per connection.
        var ephemeral = RelayClient.DeriveEphemeralAddress(flow.Address.Card);
        var sends = new List<Task>(SendBatch);
        while (true)
        {
            sends.Clear();
            for (var i = 0; i < SendBatch; i++)
            {
                await flow.Window.WaitAsync(cancellationToken);
                if (!flow.TryReserve(out var sequence, out var length))
                {
                    flow.Window.Release();
                    break;
                }

                sends.Add(SendOneAsync(client, ephemeral, flow, sequence, length, cancellationToken));
            }

            await Task.WhenAll(sends);
            usage.Sample();
            if (sends.Count < SendBatch)
            {
                return;
            }
        }

        static async Task SendOneAsync(RelayClient client, byte[] ephemeral, Flow flow, int sequence, int length, CancellationToken cancellationToken)
        {
            var payload = new byte[length];
            Flow.Fill(flow.Tag, sequence, payload);
            await client.SendAsync(ephemeral, payload, cancellationToken);
            flow.OnAcked(sequence, length);
        }
    }

    /// <summary>Consumes by push, acking everything a read finds at once; the ack re-grants the credit it used.</summary>
    private static async Task ConsumeByPushAsync(TestRelay relay, Owner owner, Flow flow, CancellationToken stop)
    {
        await using var client = await relay.ConnectAsync();
        await client.AuthenticateAsync(flow.Address.Id, owner.Key, stop);
        await using var subscription = await client.SubscribeAsync(flow.Address.Id, PushCredit, stop);
        var ids = new List<long>();
        while (true)
        {
            ReceivedMessage[] batch;
            try
            {
                batch = await subscription.Deliveries.ReadAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            ids.Clear();
            while (true)
            {
                foreach (var message in batch)
                {
                    flow.OnReceived(message);
                    ids.Add(message.Id);
                }

                if (!subscription.Deliveries.TryRead(out var next))
                {
                    break;
                }

                batch = next;
            }

            // Not cancelled by stop: an ack cut short would leave the message pending for the restart check.
            await subscription.AckAsync(ids.ToArray(), CancellationToken.None);
        }
    }

    /// <summary>Consumes by PULL then ACK, one round of each at a time, as an app polling its queue does.</summary>
    private static async Task ConsumeByPullAsync(TestRelay relay, Owner owner, Flow flow, CancellationToken stop)
    {
        await using var client = await relay.ConnectAsync();
        await client.AuthenticateAsync(flow.Address.Id, owner.Key, stop);
        while (true)
        {
            var result = await client.PullAsync(flow.Address.Id, PullBatch, CancellationToken.None);
            if (result.Messages.Count == 0)
            {
                // A polling app's pause on an empty queue: nothing is concluded from it, and however long
                // it lasts the consumer only falls behind, which the backlog window absorbs.
                try
                {
                    await Task.Delay(2, stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            var ids = new long[result.Messages.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                flow.OnReceived(result.Messages[i]);
                ids[i] = result.Messages[i].Id;
            }

            await client.AckAsync(flow.Address.Id, ids, CancellationToken.None);
        }
    }

    /// <summary>Sizes of every file under the log folder (segments and FASTER's commit files), read while FASTER deletes some.</summary>
    private static (long Bytes, int Segments) MeasureLog(string logDir)
    {
        long bytes = 0;
        var segments = 0;
        foreach (var file in new DirectoryInfo(logDir).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            try
            {
                bytes += file.Length;
            }
            catch (FileNotFoundException)
            {
                continue; // truncated between listing and sizing: freed, which is what is being measured
            }

            if (file.Name.StartsWith("relay.log.", StringComparison.Ordinal))
            {
                segments++;
            }
        }

        return (bytes, segments);
    }

    /// <summary>Awaits <paramref name="work"/>, failing at once if a helper task faults (a consumer's error says more than a timeout).</summary>
    private static async Task WhileRunningAsync(Task work, Task[] helpers, string what)
    {
        var limit = Task.Delay(FlowDeadline);
        while (!work.IsCompleted)
        {
            var finished = await Task.WhenAny([work, limit, .. helpers]);
            if (finished == limit)
            {
                Assert.Fail($"{what} did not finish within {FlowDeadline.TotalSeconds} s");
            }

            if (finished != work)
            {
                await finished; // a helper ended early: rethrow its error, or fail for its silence
                Assert.Fail($"a consumer stopped while {what} were still running");
            }
        }

        await work;
    }

    /// <summary>Rethrows the error of a helper that faulted: a consumer's error says more than a timeout.</summary>
    private static void ThrowIfFaulted(Task[] helpers)
    {
        foreach (var helper in helpers)
        {
            if (helper.IsFaulted)
            {
                helper.GetAwaiter().GetResult();
            }
        }
    }

    /// <summary>Lets background tasks end after a failure without hiding the failure that matters.</summary>
    private static async Task QuietlyAsync(Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Already reported by the test's own await, or a consequence of the failure that was.
        }
    }
}
