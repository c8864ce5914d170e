using System.Net;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// Injected device faults under a whole relay (the FASTER log on a device that fails where the test says, and the
/// protocol over loopback): a write error and a read error. Neither may produce a wrong acknowledgement or lose one
/// that was given. <c>DiskFullTests</c> does the same with a real full file system.
/// </summary>
public sealed class DeviceFaultTests
{
    private static readonly Func<int, ulong, uint, bool> Never = (_, _, _) => false;

    [Fact]
    public async Task A_write_error_acknowledges_nothing_after_it_stops_the_relay_and_a_restart_keeps_everything_acknowledged_before()
    {
        using var dir = new TempDirectory();
        using var owner = new Owner();
        var failWrites = false;
        var options = TestRelay.Options(dir.Path);
        var storageOptions = StorageBackends.FasterOptions(options, dir.Path);
        storageOptions.CreateLogDevice = prefix => new FaultyDevice(FasterLogSetup.CreateDeviceAt(prefix), Never, (_, _, _) => Volatile.Read(ref failWrites));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // the watchdog's tick, in the test's hands
        AddressCard card;
        await using (var storage = await FasterStorage.OpenAsync(storageOptions, time))
        await using (var host = await RelayHost.StartAsync(options, time: time, storage: storage))
        {
            await using var rm = await RelayClient.ConnectAsync(host.RelayEndPoint);
            card = (await owner.CreateAddressAsync(rm)).Card;
            var ephemeral = RelayClient.DeriveEphemeralAddress(card); // one address: a fresh one per SEND would spend the miss budget
            for (var i = 0; i < 50; i++)
            {
                await rm.SendAsync(ephemeral, BitConverter.GetBytes(i));
            }

            // The disk now refuses every write: the next SEND's commit fails, and the relay says so instead of OK.
            Volatile.Write(ref failWrites, true);
            await using var sender = await RelayClient.ConnectAsync(host.RelayEndPoint);
            var refused = await Assert.ThrowsAsync<RelayException>(() => sender.SendAsync(ephemeral, BitConverter.GetBytes(50)));
            Assert.Equal(ErrorCode.InternalError, refused.Code);
            Assert.True(refused.ConnectionClosed);

            // From the failure on, the relay is neither ready nor healthy, so no balancer sends it more.
            using var http = new HttpClient { BaseAddress = new Uri($"http://{host.HttpEndPoint}") };
            foreach (var probe in new[] { "/readyz", "/healthz" })
            {
                using var answer = await http.GetAsync(new Uri(probe, UriKind.Relative));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
                Assert.Equal("storage failed\n", await answer.Content.ReadAsStringAsync());
            }

            // At the watchdog's next tick, and not before, it gives up: shutting down, and its host told to stop.
            Assert.False(host.Server.HasStorageFailed);
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(host.Server.HasStorageFailed);
            Assert.True(host.Server.IsShuttingDown);
        }

        // The device works again (a new start, the disk replaced or freed): every acknowledged SEND is there, once.
        await using var again = await TestRelay.StartAsync(dataDir: dir.Path);
        await using var client = await again.ConnectAsync();
        await client.AuthenticateAsync(card.Aid, owner.Key);
        var received = await Drain.AllAsync(client, card.Aid);
        Assert.Equal(Enumerable.Range(0, 50), received.Where(i => i < 50).Order());
        Assert.Equal(received.Count, received.Distinct().Count());
    }

    [Fact]
    public async Task A_read_error_fails_the_pull_without_losing_or_acknowledging_anything_and_the_messages_are_read_once_the_device_reads_again()
    {
        using var dir = new TempDirectory();
        using var owner = new Owner();
        var failReads = false;

        // Two 64 KiB pages in memory and no read cache: the first messages of 2 MiB sent are only on the device.
        var options = TestRelay.Options(dir.Path);
        options.Storage.PageSizeBits = 16;
        options.Storage.MemorySizeBits = 17;
        options.Storage.ReadCacheSizeBits = 0;
        var storageOptions = StorageBackends.FasterOptions(options, dir.Path);
        FaultyDevice? device = null;
        storageOptions.CreateLogDevice = prefix => device = new FaultyDevice(FasterLogSetup.CreateDeviceAt(prefix), (_, _, _) => Volatile.Read(ref failReads));
        await using var storage = await FasterStorage.OpenAsync(storageOptions, TimeProvider.System);
        await using var host = await RelayHost.StartAsync(options, storage: storage);
        await using var rm = await RelayClient.ConnectAsync(host.RelayEndPoint);
        var card = (await owner.CreateAddressAsync(rm)).Card;
        await rm.AuthenticateAsync(card.Aid, owner.Key);
        var ephemeral = RelayClient.DeriveEphemeralAddress(card); // one address: a fresh one per SEND would spend the miss budget
        var payload = new byte[8 * 1024];
        for (var i = 0; i < 256; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            await rm.SendAsync(ephemeral, payload);
        }

        // The sectors holding the oldest messages cannot be read: the PULL fails, and acknowledges nothing.
        Volatile.Write(ref failReads, true);
        await using (var reader = await RelayClient.ConnectAsync(host.RelayEndPoint))
        {
            await reader.AuthenticateAsync(card.Aid, owner.Key);
            var failed = await Assert.ThrowsAsync<RelayException>(() => reader.PullAsync(card.Aid, 10));
            Assert.Equal(ErrorCode.InternalError, failed.Code);
            Assert.True(device!.Faults > 0);
        }

        // The device reads again: every message is there, once, and the relay kept serving throughout.
        Volatile.Write(ref failReads, false);
        Assert.False(host.Server.HasStorageFailed);
        await using var later = await RelayClient.ConnectAsync(host.RelayEndPoint);
        await later.AuthenticateAsync(card.Aid, owner.Key);
        Assert.Equal(Enumerable.Range(0, 256), await Drain.AllAsync(later, card.Aid));
    }
}
