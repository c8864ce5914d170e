using EdgeRelay.Client;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests;

/// <summary>A test relay for attachments: RM connections that may upload, and an HTTP client on its endpoint.</summary>
internal sealed class AttachmentRelay : IAsyncDisposable
{
    private AttachmentRelay(TestRelay relay, ObservableClock? clock)
    {
        Relay = relay;
        RmToken = relay.Host.Server.Tokens.Create("rm", TokenRole.Rm).Secret;
        Clock = clock;
        Http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public TestRelay Relay { get; }

    /// <summary>The relay's clock when the test moves time; null on the system clock.</summary>
    public ObservableClock? Clock { get; }

    public HttpClient Http { get; }

    /// <summary>An RM token of this relay: what a connection presents to upload.</summary>
    public string RmToken { get; }

    public RelayServer Server => Relay.Host.Server;

    public static async Task<AttachmentRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, bool fakeClock = false)
    {
        var clock = fakeClock ? new ObservableClock(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds())) : null;
        var relay = await TestRelay.StartAsync(
            o =>
            {
                o.Relay.IdleTimeout = TimeSpan.FromDays(7); // a fake clock moves by hours: connections must stay open
                configure?.Invoke(o);
            },
            clock);
        return new AttachmentRelay(relay, clock);
    }

    public static byte[] Content(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Sha256(byte[] bytes) => HashAlgorithm.Sha256.Hash(bytes);

    /// <summary>A connection authorised to upload: it presented <paramref name="token"/> (by default <see cref="RmToken"/>).</summary>
    public async Task<RelayClient> ConnectRmAsync(string? token = null)
    {
        var client = await Relay.ConnectAsync();
        await client.AuthenticateTokenAsync(token ?? RmToken);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Relay.DisposeAsync();
    }
}
