using System.Collections.Concurrent;
using System.Net;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

public sealed class BackupTests
{
    private const string AdminToken = "backup-under-load-admin-token";

    [Fact]
    public async Task A_backup_under_load_restores_every_acknowledged_message_once_and_the_relay_keeps_serving()
    {
        using var owner = new Owner();
        using var copy = new TempDirectory();
        var acked = new ConcurrentDictionary<int, bool>();
        HashSet<int> ackedBeforeBackup;
        int ackedDuringBackup;
        AddressCard card;
        string commitPoint;
        await using (var relay = await TestRelay.StartAsync(o => o.Admin.Token = AdminToken))
        {
            await using var rm = await relay.ConnectAsync();
            card = (await owner.CreateAddressAsync(rm)).Card;
            await using var sender = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = 64 });
            var ephemeral = RelayClient.DeriveEphemeralAddress(card);
            var next = 0;
            using var stop = new CancellationTokenSource();
            async Task StreamAsync()
            {
                var payload = new byte[600];
                while (!stop.IsCancellationRequested)
                {
                    var sequence = Interlocked.Increment(ref next);
                    BitConverter.TryWriteBytes(payload, sequence);
                    await sender.SendAsync(ephemeral, payload.ToArray());
                    acked[sequence] = true;
                }
            }

            var streams = Enumerable.Range(0, 8).Select(_ => Task.Run(StreamAsync)).ToArray();
            await Eventually.TrueAsync(() => acked.Count >= 2000 || streams.Any(s => s.IsFaulted), "2000 acknowledged sends");

            // Everything acknowledged before the request is below the commit point the relay takes for it.
            ackedBeforeBackup = [.. acked.Keys];
            using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}/") };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
            using var response = await http.GetAsync("admin/backup", HttpCompletionOption.ResponseHeadersRead, Timeouts.Token());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            commitPoint = Assert.Single(response.Headers.GetValues(BackupArchive.CommitPointHeader));

            // The backup is open (maintenance held, files pinned) until its stream is read to the end: sends
            // must go on being acknowledged meanwhile.
            var countAtStart = acked.Count;
            await Eventually.TrueAsync(() => acked.Count >= countAtStart + 1000 || streams.Any(s => s.IsFaulted), "1000 sends acknowledged while the backup is open");
            await using (var body = await response.Content.ReadAsStreamAsync(Timeouts.Token()))
            {
                await BackupArchive.ExtractAsync(body, copy.Combine("backup"), null, Timeouts.Token());
            }

            ackedDuringBackup = acked.Count - countAtStart;
            await stop.CancelAsync();
            await Eventually.Within(Task.WhenAll(streams), "the senders to stop");
        }

        Assert.True(ackedDuringBackup >= 1000, $"{ackedDuringBackup} sends acknowledged during the backup");
        var restored = copy.Combine("data");
        var manifest = await BackupRestore.RestoreAsync(copy.Combine("backup"), restored, null, Timeouts.Token());
        Assert.Equal(commitPoint, manifest.CommitPoint.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(manifest.Files, f => f.Path == "service.key");
        Assert.Contains(manifest.Files, f => f.Path.StartsWith("outbound/", StringComparison.Ordinal));

        await using (var relay = await TestRelay.StartAsync(dataDir: restored))
        {
            await using var rm = await relay.ConnectAsync();
            await rm.AuthenticateAsync(card.Aid, owner.Key);
            var received = await Drain.AllAsync(rm, card.Aid);
            var delivered = received.ToHashSet();
            Assert.Equal(received.Count, delivered.Count); // none twice
            Assert.Subset(delivered, ackedBeforeBackup); // every send acknowledged before the backup is in it
            Assert.Subset(acked.Keys.ToHashSet(), delivered); // nothing that was never acknowledged (or torn)

            // The restored service key still opens the cards the original relay issued.
            await rm.SendAsync(card, BitConverter.GetBytes(-1));
            Assert.Equal([-1], await Drain.AllAsync(rm, card.Aid));
        }
    }

    private static class Timeouts
    {
        public static CancellationToken Token() => Eventually.Deadline(TimeSpan.FromSeconds(60));
    }
}
