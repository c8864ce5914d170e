using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Client;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// Senders for the kill test: workers that each hold a connection and send numbered, unique payloads until the
/// count is reached. Only a SEND answered OK counts as acknowledged; a failed one is not retried (its payload may
/// or may not have been stored) and its worker connects again, to the first endpoint that answers.
/// </summary>
internal sealed class KillSender(IReadOnlyList<IPEndPoint> endpoints, AddressCard card, int total, int workers)
{
    /// <summary>Longer than a stream's leader election and the relay's own NATS reconnect; shorter than the test's budget.</summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(20);

    private readonly ConcurrentDictionary<string, long> _acknowledged = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private int _next = -1;
    private int _failed;

    /// <summary>Acknowledged payloads, each with the timestamp (Stopwatch) its OK came back.</summary>
    public IReadOnlyDictionary<string, long> Acknowledged => _acknowledged;

    public int Acks => _acknowledged.Count;

    public int Failed => Volatile.Read(ref _failed);

    public IEnumerable<string> FirstErrors => _errors.Take(5);

    public static string Payload(int i) => "m" + i.ToString("D7", CultureInfo.InvariantCulture);

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(ct), ct)));

    private async Task WorkAsync(CancellationToken ct)
    {
        RelayClient? client = null;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next)) < total)
            {
                client ??= (await KillConnections.ConnectAsync(endpoints, ct)).Client;
                var payload = Payload(i);
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(SendTimeout);
                    await client.SendAsync(card, Encoding.ASCII.GetBytes(payload), cancellationToken: timeout.Token);
                    _acknowledged[payload] = Stopwatch.GetTimestamp();
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failed);
                    if (_errors.Count < 20)
                    {
                        _errors.Enqueue(ex.GetType().Name + ": " + ex.Message);
                    }

                    await client.DisposeAsync();
                    client = null;
                }
            }
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }
    }
}

/// <summary>
/// The owner for the kill test: subscribed on the first endpoint that answers, it acks every delivery and, when its
/// connection ends, connects again (to the next endpoint that answers), authenticates and subscribes again. It
/// records what it received and which ids the relay confirmed acked; an id delivered after its ack was confirmed
/// is a violation.
/// </summary>
internal sealed class KillOwner(IReadOnlyList<IPEndPoint> endpoints, AddressId address, Owner owner)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _payloads = [];
    private readonly HashSet<long> _seen = [];
    private readonly HashSet<long> _acked = [];
    private readonly List<string> _violations = [];
    private readonly List<(long At, IPEndPoint EndPoint)> _subscribed = [];
    private readonly List<long> _deliveredAt = [];
    private int _deliveries;
    private int _duplicates;
    private int _failedAcks;

    public int Deliveries => Volatile.Read(ref _deliveries);

    /// <summary>Deliveries of an id already delivered whose ack was not confirmed: at-least-once, allowed.</summary>
    public int Duplicates => Volatile.Read(ref _duplicates);

    public int FailedAcks => Volatile.Read(ref _failedAcks);

    public int AckedCount
    {
        get
        {
            lock (_lock)
            {
                return _acked.Count;
            }
        }
    }

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_lock)
            {
                return [.. _violations];
            }
        }
    }

    public IReadOnlyList<(long At, IPEndPoint EndPoint)> Subscriptions
    {
        get
        {
            lock (_lock)
            {
                return [.. _subscribed];
            }
        }
    }

    /// <summary>Timestamps (Stopwatch) of each delivery frame.</summary>
    public IReadOnlyList<long> DeliveredAt
    {
        get
        {
            lock (_lock)
            {
                return [.. _deliveredAt];
            }
        }
    }

    public bool HasReceived(string payload)
    {
        lock (_lock)
        {
            return _payloads.Contains(payload);
        }
    }

    public bool WasAcked(long id)
    {
        lock (_lock)
        {
            return _acked.Contains(id);
        }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var (client, endpoint) = await KillConnections.ConnectAsync(endpoints, ct);
                await using var connection = client;
                await client.AuthenticateAsync(address, owner.Key, ct);
                await using var subscription = await client.SubscribeAsync(address, credit: 256, ct);
                lock (_lock)
                {
                    _subscribed.Add((Stopwatch.GetTimestamp(), endpoint));
                }

                await foreach (var batch in subscription.Deliveries.ReadAllAsync(ct))
                {
                    Record(batch);
                    try
                    {
                        await subscription.AckAsync([.. batch.Select(m => m.Id)], ct);
                    }
                    catch (Exception) when (!ct.IsCancellationRequested)
                    {
                        // Not confirmed: the relay may or may not have taken it, so these may come again.
                        Interlocked.Increment(ref _failedAcks);
                        break;
                    }

                    lock (_lock)
                    {
                        _acked.UnionWith(batch.Select(m => m.Id));
                    }
                }
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The node went away (or is not up yet): connect again.
                await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
            }
        }
    }

    private void Record(ReceivedMessage[] batch)
    {
        lock (_lock)
        {
            _deliveredAt.Add(Stopwatch.GetTimestamp());
            foreach (var message in batch)
            {
                _deliveries++;
                var payload = Encoding.ASCII.GetString(message.Ciphertext.Span);
                if (_acked.Contains(message.Id))
                {
                    _violations.Add($"message {message.Id} ({payload}) was delivered again after its ack was confirmed");
                }
                else if (!_seen.Add(message.Id))
                {
                    _duplicates++;
                }

                _payloads.Add(payload);
            }
        }
    }
}

internal static class KillConnections
{
    /// <summary>A connection to the first of <paramref name="endpoints"/> that answers.</summary>
    public static async Task<(RelayClient Client, IPEndPoint EndPoint)> ConnectAsync(IReadOnlyList<IPEndPoint> endpoints, CancellationToken ct)
    {
        var options = new RelayClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };
        Exception? last = null;
        foreach (var endpoint in endpoints)
        {
            try
            {
                return (await RelayClient.ConnectAsync(endpoint, options, ct), endpoint);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                last = ex;
            }
        }

        throw new IOException("No relay node answered.", last);
    }
}
