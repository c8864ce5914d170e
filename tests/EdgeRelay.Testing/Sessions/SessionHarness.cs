using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Storage;
using EdgeRelay.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using NSec.Cryptography;

namespace EdgeRelay.Testing.Sessions;

/// <summary>
/// A relay without sockets: a <see cref="RelayServer"/> over the in-memory storage and a fake clock, and
/// sessions over in-memory pipes (<see cref="HarnessConnection"/>). Fast, and with every source of timing
/// in the test's hands: the storage's durability (<see cref="InMemoryStorage.HoldFlushes"/>) and the clock.
/// </summary>
public sealed class SessionHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly List<HarnessConnection> _connections = [];

    private SessionHarness(TempDirectory directory, ObservableClock time, InMemoryStorage storage, RelayServer server)
    {
        _directory = directory;
        Time = time;
        Storage = storage;
        Server = server;
    }

    public ObservableClock Time { get; }

    public InMemoryStorage Storage { get; }

    public RelayServer Server { get; }

    /// <summary>Starts a relay with the default options (changed by <paramref name="configure"/>) over a fresh in-memory storage.</summary>
    public static async Task<SessionHarness> StartAsync(Action<EdgeRelayOptions>? configure = null)
    {
        var directory = new TempDirectory("edgerelay-harness"); // the service key only
        try
        {
            var time = new ObservableClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var options = new EdgeRelayOptions
            {
                Relay = { Endpoint = "127.0.0.1:0", PublicEndpoint = "relay.test:7400" },
                Http = { Endpoint = "127.0.0.1:0" },
                Storage = { DataDir = directory.Path },
            };
            configure?.Invoke(options);
            var limits = new StorageLimits
            {
                MaxPayloadBytes = options.Relay.MaxCiphertextBytes,
                MessageTtl = options.Storage.MessageTtl,
                MaxPendingMessagesPerAddress = options.Storage.MaxPendingMessagesPerAddress,
                MaxPendingBytesPerAddress = options.Storage.MaxPendingBytesPerAddress,
            };
            var storage = InMemoryStorage.Open(time: time, limits: limits);
            var server = await RelayServer.StartAsync(options, time, NullLoggerFactory.Instance, notifier: null, storage: storage);
            return new SessionHarness(directory, time, storage, server);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>A new connection with its own session; by default the HELLO is done.</summary>
    public async Task<HarnessConnection> ConnectAsync(bool hello = true)
    {
        var connection = new HarnessConnection(Server, Storage);
        _connections.Add(connection);
        if (hello)
        {
            await connection.SendAsync(w => FrameWriter.WriteHello(w, 1));
            var reply = await connection.ReadFrameAsync();
            Assert.Equal(FrameType.HelloReply, reply.Header.Type);
            Assert.True(BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(reply.Body), out var info));
            connection.ServerInfo = info;
        }

        return connection;
    }

    /// <summary>Creates an address owned by <paramref name="owner"/> over <paramref name="connection"/> and returns its card.</summary>
    public static async Task<AddressCard> CreateAddressAsync(HarnessConnection connection, Key owner, uint requestId = 2)
    {
        await connection.SendAsync(w => FrameWriter.WriteCreateAddress(w, requestId, owner.PublicKey.Export(KeyBlobFormat.RawPublicKey), 0));
        var reply = await connection.ReadFrameAsync();
        Assert.Equal(FrameType.AddressCreated, reply.Header.Type);
        Assert.True(BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(reply.Body), out var created));
        return AddressCard.Decode(created.Card.Span);
    }

    /// <summary>Proves ownership of <paramref name="aid"/> on <paramref name="connection"/> (AUTH over its nonce).</summary>
    public static async Task AuthenticateAsync(HarnessConnection connection, Key owner, AddressId aid, uint requestId = 3)
    {
        Span<byte> payload = stackalloc byte[SignaturePayloads.AuthLength];
        SignaturePayloads.WriteAuth(payload, connection.ServerInfo.AuthNonce.Span, aid);
        var signature = SignatureAlgorithm.Ed25519.Sign(owner, payload);
        await connection.SendAsync(w => FrameWriter.WriteAuth(w, requestId, [new AuthClaim(aid, signature)]));
        var reply = await connection.ReadFrameAsync();
        Assert.Equal(FrameType.Ok, reply.Header.Type);
    }

    /// <summary>A fresh ephemeral address for <paramref name="card"/>, valid for ten minutes of the harness' clock.</summary>
    public byte[] Ephemeral(AddressCard card)
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(card, Time.GetUtcNow().AddMinutes(10).ToUnixTimeSeconds(), address);
        return address;
    }

    public async ValueTask DisposeAsync()
    {
        Storage.ReleaseFlushes();
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await Server.DisposeAsync();
        await Storage.DisposeAsync();
        _directory.Dispose();
    }
}
