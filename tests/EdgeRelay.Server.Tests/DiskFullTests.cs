using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// A real full disk: the relay's data folder on a small tmpfs, filled by SENDs until the file system refuses a
/// write. No SEND that got an OK may be lost; the relay must stop (exit code 8) rather than stay up saying it is
/// ready while nothing can be stored; and once space is back a restart recovers every acknowledged message.
/// </summary>
/// <remarks>Mounting needs root (or CAP_SYS_ADMIN); elsewhere the test is skipped and says why.</remarks>
public sealed class DiskFullTests
{
    [SkippableFact]
    public async Task A_full_disk_loses_no_acknowledged_send_stops_the_relay_with_exit_8_and_a_restart_with_space_recovers_everything()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs is Linux's");
        using var dir = new TempDirectory();
        var mount = Path.Combine(dir.Path, "small");
        Directory.CreateDirectory(mount);
        Skip.IfNot(await RunAsync("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount) == 0, "mounting a tmpfs needs root or CAP_SYS_ADMIN");
        try
        {
            var data = Path.Combine(mount, "data");
            string[] settings = ["--Storage:MaxDiskBytes=0", "--Storage:SegmentSizeBits=22", "--Limits:SendsPerSecondPerConnection=0"];
            using var owner = new Owner();
            var acked = new ConcurrentDictionary<int, bool>();
            var refusals = new ConcurrentBag<ErrorCode>();
            AddressCard card;
            await using (var relay = await ServerProcess.StartAsync(data, settings))
            {
                await using var rm = await RelayClient.ConnectAsync(relay.RelayEndPoint);
                card = (await owner.CreateAddressAsync(rm)).Card;
                var ephemeral = RelayClient.DeriveEphemeralAddress(card);
                var next = 0;

                // 16 senders of 4 KiB until the relay stops answering: 24 MiB is full after a few thousand.
                async Task SendUntilRefusedAsync()
                {
                    await using var sender = await RelayClient.ConnectAsync(relay.RelayEndPoint);
                    var payload = new byte[4096];
                    while (true)
                    {
                        var sequence = Interlocked.Increment(ref next);
                        BitConverter.TryWriteBytes(payload, sequence);
                        try
                        {
                            await sender.SendAsync(ephemeral, payload.ToArray());
                        }
                        catch (RelayException refused)
                        {
                            refusals.Add(refused.Code);
                            return; // refused or cut off: never acknowledged, so the test expects nothing of it
                        }

                        acked[sequence] = true;
                    }
                }

                await Eventually.Within(Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(SendUntilRefusedAsync))), "the senders to be refused once the disk is full");
                Assert.True(acked.Count > 1000, $"only {acked.Count} sends were acknowledged before the disk was full");

                // Each sender learns why: INTERNAL_ERROR with request id 0 on every connection the relay still had,
                // or a closed connection for one that raced the relay's exit; never a refusal that says "retry here".
                Assert.Contains(ErrorCode.InternalError, refusals);
                Assert.All(refusals, code => Assert.True(code is ErrorCode.InternalError or ErrorCode.ShuttingDown or ErrorCode.None, $"refused with {code}"));

                // Nothing more can be made durable: the relay stops by itself, with the code that says so.
                Assert.Equal(8, await relay.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("storage failed", relay.Output, StringComparison.Ordinal);
            }

            // Space returns; a restart recovers every acknowledged SEND, each once.
            Assert.Equal(0, await RunAsync("mount", "-o", "remount,size=256m", mount));
            await using (var relay = await ServerProcess.StartAsync(data, settings))
            {
                await using var rm = await RelayClient.ConnectAsync(relay.RelayEndPoint);
                await rm.AuthenticateAsync(card.Aid, owner.Key);
                var received = await Drain.AllAsync(rm, card.Aid);
                Assert.Equal(received.Count, received.Distinct().Count());
                var missing = acked.Keys.Except(received).Order().Take(10).ToArray();
                Assert.True(missing.Length == 0, $"acknowledged sends lost after the disk filled: {string.Join(", ", missing)}");

                // And it takes new messages again.
                await rm.SendAsync(card, BitConverter.GetBytes(-1));
                Assert.Equal([-1], await Drain.AllAsync(rm, card.Aid));
            }
        }
        finally
        {
            await RunAsync("umount", "-l", mount);
        }
    }

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no such program
        }
    }
}
