using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

public class EndToEndTests
{
    [Fact]
    public async Task Create_derive_send_pull_ack_over_loopback()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);

        // A correspondent holding only the card derives two ephemeral addresses, locally.
        var first = RelayClient.DeriveEphemeralAddress(created.Card);
        var second = RelayClient.DeriveEphemeralAddress(created.Card);
        Assert.NotEqual(first, second);
        AssertLookUnrelated(first, second);

        await using var sender = await relay.ConnectAsync();
        await sender.SendAsync(first, Encoding.UTF8.GetBytes("one"));
        await sender.SendAsync(second, Encoding.UTF8.GetBytes("two"));

        await rm.AuthenticateAsync(created.Id, owner.Key);
        var pulled = await rm.PullAsync(created.Id);
        Assert.Equal(["one", "two"], pulled.Messages.Select(m => Encoding.UTF8.GetString(m.Ciphertext.Span)));
        Assert.False(pulled.More);
        Assert.True(pulled.Messages[0].Id < pulled.Messages[1].Id);

        await rm.AckAsync(created.Id, pulled.Messages.Select(m => m.Id).ToArray());
        Assert.Empty((await rm.PullAsync(created.Id)).Messages);
    }

    [Fact]
    public async Task Pipelined_sends_are_all_acknowledged_and_delivered_in_order()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        const int inFlight = 64;
        await using var sender = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = inFlight });

        // Send i is issued only while the client's window has room, so it goes on the wire when it is
        // issued and the order on the wire is 0, 1, 2...: a send that had to wait for the window could be
        // written after one issued later, and then no order could be expected. Up to 64 are in flight.
        const int count = 2000;
        var address = RelayClient.DeriveEphemeralAddress(created.Card);
        var sends = new Queue<Task>(inFlight);
        for (var i = 0; i < count; i++)
        {
            if (sends.Count == inFlight)
            {
                await sends.Dequeue().Within();
            }

            sends.Enqueue(sender.SendAsync(address, BitConverter.GetBytes(i)));
        }

        await Task.WhenAll(sends).Within();

        await rm.AuthenticateAsync(created.Id, owner.Key);
        var received = new List<int>();
        var ids = new List<long>();
        while (true)
        {
            var batch = await rm.PullAsync(created.Id, 256);
            if (batch.Messages.Count == 0)
            {
                break;
            }

            received.AddRange(batch.Messages.Select(m => BitConverter.ToInt32(m.Ciphertext.Span)));
            ids.AddRange(batch.Messages.Select(m => m.Id));
            await rm.AckAsync(created.Id, batch.Messages.Select(m => m.Id).ToArray());
        }

        // Exactly the sequence sent, in the order sent (which also rules out losses and duplicates), and
        // ids that increase with it across pulls.
        Assert.Equal(Enumerable.Range(0, count), received);
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(count, ids.Distinct().Count());
    }

    [Fact]
    public async Task Messages_larger_than_one_reply_come_in_several_pulls()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.MaxReplyBytes = 64 * 1024);
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        for (int i = 0; i < 10; i++)
        {
            await rm.SendAsync(created.Card, new byte[16 * 1024]);
        }

        await rm.AuthenticateAsync(created.Id, owner.Key);
        var first = await rm.PullAsync(created.Id, 100);
        Assert.InRange(first.Messages.Count, 1, 4);
        Assert.True(first.More);
    }

    [Fact]
    public async Task Health_and_readiness_answer_on_the_http_endpoint()
    {
        await using var relay = await TestRelay.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };
        Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        Assert.Equal("ready\n", await http.GetStringAsync("/readyz"));
    }

    /// <summary>Two derivations share nothing visible: different encapsulated keys and ciphertexts, about half the bits apart.</summary>
    private static void AssertLookUnrelated(byte[] a, byte[] b)
    {
        Assert.Equal(a[0], b[0]); // the format version byte is the only constant
        Assert.NotEqual(a.AsSpan(1, 32).ToArray(), b.AsSpan(1, 32).ToArray());
        Assert.NotEqual(a.AsSpan(33).ToArray(), b.AsSpan(33).ToArray());
        int differingBits = 0;
        for (int i = 1; i < a.Length; i++)
        {
            differingBits += System.Numerics.BitOperations.PopCount((uint)(a[i] ^ b[i]));
        }

        // 576 random bits: the expected distance is 288; under 200 would be a 1-in-10^10 event.
        Assert.InRange(differingBits, 200, 376);
    }
}
