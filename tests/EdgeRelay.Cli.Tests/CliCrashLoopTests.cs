using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace EdgeRelay.Cli.Tests;

/// <summary>
/// edgerelay-rm killed with SIGKILL again and again, at random moments: the sender's <c>send</c> runs in the middle
/// of sending, the receiver's <c>inbox</c> and <c>inbox --follow</c> in the middle of receiving and showing. After
/// every kill the killed RM's SQLite state must pass <c>PRAGMA integrity_check</c>, and its next run must work;
/// at the end every message whose send succeeded has been shown, and no message has been shown twice.
/// </summary>
/// <remarks>
/// The seed decides what is killed and when; it is printed, and <c>RM_CRASHLOOP_SEED</c> replays it.
/// <c>RM_CRASHLOOP_ROUNDS</c> sets the number of rounds (3 by default; each kills the receiver once and
/// the sender once on average).
/// </remarks>
public sealed class CliCrashLoopTests(ITestOutputHelper output)
{
    private const int MessagesPerRound = 3;

    [Fact]
    public async Task Killed_mid_send_and_mid_receive_the_RM_keeps_a_sound_state_and_shows_every_message_once()
    {
        var seed = Setting("RM_CRASHLOOP_SEED") ?? 20261203;
        var rounds = Setting("RM_CRASHLOOP_ROUNDS") ?? 3;
        output.WriteLine($"seed {seed}, {rounds} rounds");
        var random = new Random(seed);
        await using var relay = await LoopbackRelay.StartAsync();
        using var alice = new RmCli("alice");
        using var bob = new RmCli("bob");
        await CliConversationTests.IntroduceAsync(relay, alice, bob);

        var sent = new Dictionary<string, string>(); // text → id, of every send that said it was sent
        var attempted = new HashSet<string>(); // every text a send was started for, killed or not
        var shown = new List<JsonElement>();
        var (sendKills, receiveKills) = (0, 0);
        var sendTakes = TimeSpan.FromSeconds(2);
        for (var round = 0; round < rounds; round++)
        {
            // The receiver runs while the sender sends (following), or once after the sends (a plain inbox).
            var following = random.Next(2) == 0;
            var inbox = following ? alice.Follow("inbox", "--follow") : null;
            for (var i = 0; i < MessagesPerRound; i++)
            {
                var text = $"round {round} message {i}";
                attempted.Add(text);

                // The first send of a round is left to finish, so that the receiver has something to show; the
                // others are killed half the time, at a moment within what a send has been taking on this machine.
                var killAfter = i > 0 && random.Next(2) == 0 ? sendTakes * (0.2 + random.NextDouble()) : Timeout.InfiniteTimeSpan;
                var started = Stopwatch.GetTimestamp();
                var (killed, result) = await bob.RunKilledAfterAsync(["send", "alice", text, "--json"], killAfter);
                if (killed)
                {
                    sendKills++;
                    output.WriteLine($"round {round}: send of '{text}' killed after {killAfter.TotalMilliseconds:F0} ms");
                    AssertSound(bob); // and the next send must work on it
                    continue;
                }

                sendTakes = killAfter == Timeout.InfiniteTimeSpan ? Stopwatch.GetElapsedTime(started) : sendTakes;
                Assert.True(result.ExitCode == 0, $"send exited {result.ExitCode}: {result.Stderr}");
                sent.Add(text, Assert.Single(result.JsonLines()).GetProperty("id").GetString()!);
            }

            // Killed in the middle of receiving: a moment after it showed its first message, while it stores,
            // acknowledges, shows and records the rest.
            inbox ??= alice.Follow("inbox");
            shown.Add(await inbox.NextAsync("message"));
            var receiveKillAfter = TimeSpan.FromMilliseconds(random.Next(0, 400));
            await Task.Delay(receiveKillAfter); // the kill moment, not a wait for anything
            shown.AddRange(await inbox.KillAsync("message"));
            await inbox.DisposeAsync();
            receiveKills++;
            output.WriteLine($"round {round}: receiver ({(following ? "inbox --follow" : "inbox")}) killed {receiveKillAfter.TotalMilliseconds:F0} ms after it showed a message; {shown.Count} shown so far");
            AssertSound(alice); // and the next inbox must work on it
        }

        // The end: the sender's queued envelopes go out with its next run, the receiver collects until everything
        // the sender was told was sent has been shown.
        await Eventually.TrueAsync(
            async () =>
            {
                await bob.JsonAsync("inbox");
                shown.AddRange((await alice.JsonAsync("inbox")).Where(IsMessage));
                return sent.Keys.All(text => shown.Any(m => m.GetProperty("text").GetString() == text));
            },
            "every message whose send succeeded to be shown",
            TimeSpan.FromSeconds(120),
            TimeSpan.FromMilliseconds(200));

        // A run killed between showing a message and recording it shown leaves it to the next run, which shows it
        // marked "again"; a message shown twice without that mark is a duplicate the user cannot tell from a new one.
        var times = shown.GroupBy(m => m.GetProperty("text").GetString()!).ToDictionary(g => g.Key, g => (All: g.Count(), Unmarked: g.Count(m => !IsMarkedAgain(m))));
        var duplicates = times.Where(t => t.Value.Unmarked > 1).ToList();
        var lost = sent.Keys.Where(t => !times.ContainsKey(t)).ToList();
        output.WriteLine(
            $"seed {seed}: {sendKills} sends and {receiveKills} receiving runs killed; {attempted.Count} sends started, {sent.Count} succeeded; " +
            $"{times.Count} messages shown, {shown.Count} times: {duplicates.Count} shown more than once unmarked, {shown.Count(IsMarkedAgain)} shown again marked \"again\"; {lost.Count} lost");
        Assert.All(times.Keys, text => Assert.Contains(text, attempted));
        Assert.All(shown, m => Assert.True(!sent.TryGetValue(m.GetProperty("text").GetString()!, out var id) || id == m.GetProperty("id").GetString(), $"shown under another id: {m}"));
        Assert.True(duplicates.Count == 0, $"seed {seed}: shown more than once without the mark: {string.Join(", ", duplicates.Select(d => $"'{d.Key}' ×{d.Value.Unmarked}"))}");
        Assert.Empty(lost);
    }

    private static bool IsMessage(JsonElement e) => e.GetProperty("type").GetString() == "message";

    private static bool IsMarkedAgain(JsonElement message) => message.TryGetProperty("again", out var again) && again.GetBoolean();

    private static int? Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;

    /// <summary>The killed RM's database is whole: SQLite's own check, and no foreign key pointing nowhere.</summary>
    private static void AssertSound(RmCli rm)
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = Path.Combine(rm.Home, "state.db"), Pooling = false };
        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", (string?)check.ExecuteScalar());
        check.CommandText = "PRAGMA foreign_key_check";
        using var reader = check.ExecuteReader();
        Assert.False(reader.Read(), $"{rm.Name}'s state has rows whose foreign keys point nowhere");
    }
}
