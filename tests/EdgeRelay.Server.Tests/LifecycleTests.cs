using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

public sealed class LifecycleTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_idle_timeout()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.IdleTimeout = TimeSpan.FromSeconds(2));
        using var idle = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        using var busy = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);

        // The busy one pings every 500 ms and must survive; the idle one must not.
        var closed = idle.IsClosedByPeerAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < 8; i++)
        {
            await busy.AssertStillOpenAsync();
            await Task.Delay(500);
        }

        Assert.True(await closed);
        await busy.AssertStillOpenAsync();
    }

    [Fact]
    public async Task A_client_that_never_reads_its_replies_then_leaves_frees_its_session()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.MaxInFlightPerConnection = 16);
        using (var greedy = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint))
        {
            // Far more pipelined requests than the outbox holds, and never a read: the relay's socket
            // buffer fills, its writer blocks, its outbox fills, and its reader stops (back-pressure).
            var pings = new System.Buffers.ArrayBufferWriter<byte>();
            for (uint i = 0; i < 3_000_000; i++)
            {
                Protocol.FrameWriter.WriteEmpty(pings, Protocol.FrameType.Ping, i + 10);
            }

            var send = greedy.SendRawAsync(pings.WrittenSpan.ToArray());
            await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(2)));
            Assert.Equal(1, relay.Host.Server.ConnectionCount);
        }

        // The client is gone: the session must end, not wait forever for room in its outbox.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (relay.Host.Server.ConnectionCount > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, relay.Host.Server.ConnectionCount);
    }

    [Fact]
    public async Task A_connection_that_never_says_hello_is_closed_after_the_handshake_timeout()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.HandshakeTimeout = TimeSpan.FromSeconds(1));
        using var silent = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint, hello: false);
        Assert.True(await silent.IsClosedByPeerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stopping_under_load_acknowledges_only_what_is_durable()
    {
        using var owner = new Owner();
        var acked = new ConcurrentDictionary<int, bool>();
        var refusals = new ConcurrentBag<ErrorCode>();
        Addressing.AddressCard card;
        await using (var relay = await TestRelay.StartAsync(dataDir: _temp.Path))
        {
            await using var rm = await relay.ConnectAsync();
            card = (await owner.CreateAddressAsync(rm)).Card;
            await using var sender = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = 256 });
            var ephemeral = RelayClient.DeriveEphemeralAddress(card);
            int next = 0;
            var streams = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                while (true)
                {
                    int sequence = Interlocked.Increment(ref next);
                    try
                    {
                        await sender.SendAsync(ephemeral, BitConverter.GetBytes(sequence));
                        acked[sequence] = true;
                    }
                    catch (RelayException ex)
                    {
                        refusals.Add(ex.Code);
                        return;
                    }
                }
            })).ToArray();

            while (acked.Count < 2000)
            {
                await Task.Delay(5);
            }

            var stopwatch = Stopwatch.StartNew();
            await relay.Host.StopAsync(); // graceful: drain while 16 streams keep sending
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"drain took {stopwatch.Elapsed}");
            await Task.WhenAll(streams);
        }

        // Either the going-away frame or the closed connection ended every stream; none was acked twice.
        Assert.All(refusals, code => Assert.True(code is ErrorCode.ShuttingDown or ErrorCode.InternalError or ErrorCode.None));

        await using (var relay = await TestRelay.StartAsync(dataDir: _temp.Path))
        {
            await using var rm = await relay.ConnectAsync();
            await rm.AuthenticateAsync(card.Aid, owner.Key);
            var stored = (await Drain.AllAsync(rm, card.Aid)).ToHashSet();
            Assert.Subset(stored, acked.Keys.ToHashSet());
        }
    }

    [Fact]
    public async Task Sigterm_drains_and_exits_cleanly()
    {
        await using var server = await ServerProcess.StartAsync(_temp.Path);
        await using (var client = await RelayClient.ConnectAsync(server.RelayEndPoint))
        {
            await client.PingAsync();
        }

        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("EdgeRelay stopped", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_options_are_all_named_and_the_relay_does_not_start()
    {
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync(
            "--Relay:Endpoint=nowhere", "--Relay:MaxCiphertextBytes=0", "--Storage:SegmentSizeBits=12", "--Storage:DataDir=" + _temp.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("Relay:Endpoint", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:MaxCiphertextBytes", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:SegmentSizeBits", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path)); // nothing was created
    }

    [Theory]
    [InlineData(0, true)] // off
    [InlineData(23, true)] // the smallest: two 4 MiB pages
    [InlineData(30, true)]
    [InlineData(22, false)] // one page: a record could wrap around the mirror
    [InlineData(31, false)]
    public void The_read_cache_size_is_off_or_more_than_a_page_and_is_named_when_not(int bits, bool valid)
    {
        var problems = new EdgeRelayOptions { Storage = { ReadCacheSizeBits = bits } }.Validate();
        Assert.Equal(valid, !problems.Any(p => p.StartsWith("Storage:ReadCacheSizeBits", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Json_logs_are_one_object_per_line_with_stable_event_ids()
    {
        await using var server = await ServerProcess.StartAsync(_temp.Path, "--Log:Format=json");
        var events = server.Output.Split('\n')
            .Where(line => line.StartsWith('{'))
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
            .ToList();
        Assert.Contains(events, e => e.GetProperty("EventId").GetInt32() == 3001
            && e.GetProperty("Message").GetString()!.Contains(server.RelayEndPoint.ToString(), StringComparison.Ordinal));
        Assert.Contains(events, e => e.GetProperty("EventId").GetInt32() == 2000); // the store opened
    }

    [Fact]
    public async Task Check_config_reports_every_problem_of_a_file_at_once()
    {
        var file = Path.Combine(_temp.Path, "bad.json");
        await File.WriteAllTextAsync(file, """
            {
              // comments are allowed, as in config/edgerelay.json
              "Relay": { "Endpoint": "nowhere", "IdleTimeout": "soon", "MaxCiphertxtBytes": 1 },
              "Storage": { "PageSizeBits": "big", "SegmentSizeBits": 12 }
            }
            """);

        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("6 problem(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:Endpoint", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:IdleTimeout: 'soon' is not a duration", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:MaxCiphertxtBytes: unknown option", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:PageSizeBits: 'big' is not a whole number", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:SegmentSizeBits", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_accepts_the_shipped_configuration()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "edgerelay.json");
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", shipped);
        Assert.True(exitCode == 0, stderr);
    }

    [Fact]
    public void The_shipped_configuration_documents_every_option_of_every_section()
    {
        var shipped = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "edgerelay.json"));
        var options = new EdgeRelay.Server.EdgeRelayOptions();
        foreach (var section in typeof(EdgeRelay.Server.EdgeRelayOptions).GetProperties())
        {
            Assert.Contains($"\"{section.Name}\": {{", shipped, StringComparison.Ordinal);
            foreach (var option in section.PropertyType.GetProperties().Where(p => p.CanWrite))
            {
                Assert.True(shipped.Contains($"\"{option.Name}\":", StringComparison.Ordinal), $"config/edgerelay.json does not show {section.Name}:{option.Name}");
            }
        }
    }

    [Theory]
    [InlineData("--Relay:IdleTimeout=soon", "IdleTimeout")]
    [InlineData("--Relay:Endpiont=127.0.0.1:1", "Endpiont")]
    public async Task A_bad_value_or_unknown_key_names_its_option(string argument, string named)
    {
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync(argument);

        Assert.Equal(2, exitCode);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
    }
}
