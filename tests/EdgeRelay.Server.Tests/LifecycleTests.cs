using System.Collections.Concurrent;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

public sealed class LifecycleTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <remarks>
    /// On a fake clock: the relay's watchdog runs on its <see cref="TimeProvider"/> and the fake one runs timer
    /// callbacks inside <c>Advance</c>, so once <c>Advance</c> returns every check due by then has been made,
    /// and the idle-timeout counter says whether it closed anything. That is how the test knows nothing was
    /// closed too early, without waiting.
    /// </remarks>
    [Fact]
    public async Task An_idle_connection_is_closed_once_the_idle_timeout_has_passed_and_a_busy_one_stays_open()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(o => o.Relay.IdleTimeout = timeout, clock);
        var idleTimeouts = relay.Host.Server.Metrics.IdleTimeouts;
        using var idle = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        using var busy = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint);
        var closed = idle.IsClosedByPeerAsync(Eventually.DefaultDeadline);

        // Both said HELLO at the clock's start; the watchdog checks every second. Up to the timeout itself
        // (idle for exactly 2 s) nothing is closed.
        for (var second = 1; second <= timeout.TotalSeconds; second++)
        {
            await busy.AssertStillOpenAsync();
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(0, idleTimeouts.Value);
        }

        Assert.False(closed.IsCompleted);

        // The next check finds the idle one past its timeout; the busy one, which keeps pinging, never is.
        for (var second = 3; second <= 8; second++)
        {
            await busy.AssertStillOpenAsync();
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(1, idleTimeouts.Value);
        }

        Assert.True(await closed, "the idle connection was counted as timed out but its socket stayed open");
        await busy.AssertStillOpenAsync();

        // The idle one's session ends after its socket is closed, not with it.
        await Eventually.TrueAsync(
            () => relay.Host.Server.ConnectionCount == 1,
            () => $"the idle connection's session to end ({relay.Host.Server.ConnectionCount} sessions open)");
    }

    [Fact]
    public async Task A_client_that_never_reads_its_replies_then_leaves_frees_its_session()
    {
        const int outbox = 16;
        await using var relay = await TestRelay.StartAsync(o => o.Relay.MaxInFlightPerConnection = outbox);
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

            // The reader counts a frame as received before it queues its reply, and the writer counts a reply
            // as sent when it takes it out of the outbox; so more pings received than pongs sent plus the
            // outbox's capacity can only be counted once the outbox has filled and the reader has to wait for
            // room: the back-pressure this test is about, reached before the client leaves.
            var registry = relay.Host.Server.Metrics.Registry;
            await Eventually.TrueAsync(
                async () => await ReadCounterAsync(registry, "edgerelay_frames_received_total{command=\"ping\"}")
                    - await ReadCounterAsync(registry, "edgerelay_frames_sent_total{type=\"pong\"}") > outbox,
                "the relay's outbox to fill up behind a client that reads nothing");
            Assert.Equal(1, relay.Host.Server.ConnectionCount);

            // Closing the socket cuts the pending send short; that error is the test's own doing.
            _ = send.ContinueWith(static t => t.Exception, TaskScheduler.Default);
        }

        // The client is gone: the session must end, not wait forever for room in its outbox.
        await Eventually.TrueAsync(
            () => relay.Host.Server.ConnectionCount == 0,
            () => $"the session to end once its client left ({relay.Host.Server.ConnectionCount} still open)");
    }

    [Fact]
    public async Task A_connection_that_never_says_hello_is_closed_once_the_handshake_timeout_has_passed()
    {
        var timeout = TimeSpan.FromSeconds(1);
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(o => o.Relay.HandshakeTimeout = timeout, clock);
        var handshakeTimeouts = relay.Host.Server.Metrics.HandshakeTimeouts;
        using var silent = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint, hello: false);

        // The session starts its handshake clock when Kestrel hands it the connection; the clock must not
        // move before that, or the session would start late and the steps below would not line up.
        await Eventually.TrueAsync(() => relay.Host.Server.ConnectionCount == 1, "the relay to accept the connection");
        var closed = silent.IsClosedByPeerAsync(Eventually.DefaultDeadline);

        // At the timeout itself the watchdog's check leaves it open (the fake clock runs the check inside
        // Advance); one second later it closes it.
        clock.Advance(timeout);
        Assert.Equal(0, handshakeTimeouts.Value);
        Assert.False(closed.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, handshakeTimeouts.Value);
        Assert.True(await closed, "the connection was counted as timed out but its socket stayed open");
    }

    [Fact]
    public async Task Stopping_under_load_acknowledges_only_what_is_durable()
    {
        using var owner = new Owner();
        var acked = new ConcurrentDictionary<int, bool>();
        var refusals = new ConcurrentBag<ErrorCode>();
        Addressing.AddressCard card;

        // The host's own stop timeout out of the way: the relay must drain by itself, and if it does not,
        // the deadline below fails the test instead of the host aborting the connections for it.
        await using (var relay = await TestRelay.StartAsync(o => o.Relay.ShutdownTimeout = TimeSpan.FromMinutes(5), dataDir: _temp.Path))
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

            await Eventually.TrueAsync(
                () =>
                {
                    foreach (var stream in streams.Where(s => s.IsCompleted))
                    {
                        stream.GetAwaiter().GetResult(); // a stream's own error says why
                        Assert.Fail($"a stream ended before the stop, refused with {string.Join(", ", refusals)}");
                    }

                    return acked.Count >= 2000;
                },
                () => $"2000 acknowledged sends before the stop ({acked.Count} so far)");

            await Eventually.Within(relay.Host.StopAsync(), "the relay to drain and stop while 16 streams keep sending");
            await Eventually.Within(Task.WhenAll(streams), "every stream to end once the relay stopped");
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
    public async Task Check_config_checks_the_keys_of_a_section_inside_a_section()
    {
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync(
            "check-config", "--Storage:Backend=jetstream", "--Storage:JetStream:Replicaz=3", "--Storage:JetStream:Replicas=2");

        Assert.Equal(2, exitCode);
        Assert.Contains("Storage:JetStream:Replicaz: unknown option (the Storage:JetStream options are", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:JetStream:Replicas: 2 must be 1, 3 or 5.", stderr, StringComparison.Ordinal);
        Assert.Contains("Storage:JetStream:Url: required when Storage:Backend is \"jetstream\"", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_reports_every_problem_of_a_file_at_once()
    {
        var file = Path.Combine(_temp.Path, "bad.json");
        await File.WriteAllTextAsync(file, """
            {
              // comments are allowed, as in config/edgerelay.json
              "Relay": { "Endpoint": "nowhere", "IdleTimeout": "soon", "MaxCiphertxtBytes": 1 },
              "Storage": { "PageSizeBits": "big", "SegmentSizeBits": 12 },
              "Relya": { "Endpoint": "127.0.0.1:7400" }
            }
            """);

        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("7 problem(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("Relya: unknown section (the sections are Relay, Http,", stderr, StringComparison.Ordinal);
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
    public async Task Variables_of_the_relationship_managers_command_line_are_not_taken_for_unknown_sections()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "edgerelay.json");
        var environment = new Dictionary<string, string> { ["EDGERELAY_RM_HOME"] = _temp.Path, ["EDGERELAY_RM_PASSPHRASE"] = "x" };
        var (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync(environment, "check-config", "--config", shipped);
        Assert.True(exitCode == 0, stderr);

        environment["EDGERELAY_Relya__Endpoint"] = "127.0.0.1:7400";
        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync(environment, "check-config", "--config", shipped);
        Assert.Equal(2, exitCode);
        Assert.Contains("Relya: unknown section", stderr, StringComparison.Ordinal);
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

    /// <summary>The value of one counter series, as <c>/metrics</c> would show it.</summary>
    private static async Task<double> ReadCounterAsync(Prometheus.CollectorRegistry registry, string series)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var prefix = series + " ";
        foreach (var line in System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0; // a series not yet touched is not exported
    }
}
