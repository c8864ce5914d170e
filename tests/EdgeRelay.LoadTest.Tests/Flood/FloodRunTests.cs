using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests.Flood;

/// <summary>
/// <c>flood --kind all</c> end to end, short: one relay in its own process with its default limits. What is
/// asserted is behaviour, not timing: the bystander saw no error in any phase, and every flood met the limit it
/// is aimed at at least once. Latencies on a shared machine are not asserted; the long run is the figure.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class FloodRunTests
{
    [Fact]
    public async Task Every_flood_is_refused_by_its_limit_and_the_bystander_sees_no_error()
    {
        using var dir = new TempDirectory("flood-run");
        var json = dir.Combine("flood.json");

        int exit = await LoadTestCommandLine.InvokeAsync(["flood", "--kind", "all", "--phase", "1s", "--json", json]).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        Assert.False(root.GetProperty("bystander_errors").GetBoolean());
        var kinds = root.GetProperty("kinds").EnumerateArray().ToDictionary(k => k.GetProperty("kind").GetString()!);
        Assert.Equal(["connections", "fresh-addresses", "auth", "huge-frames"], kinds.Keys);

        // The code each flood must meet: its limit (or, for AUTH, the check it pays for until the budget runs out).
        AssertRefused(kinds["connections"], "CONNECTION_LIMIT");
        AssertRefused(kinds["fresh-addresses"], "RATE_LIMITED", "ADDRESS_INVALID");
        AssertRefused(kinds["auth"], "VERIFY_RATE_LIMITED", "BAD_SIGNATURE");
        AssertRefused(kinds["huge-frames"], "FRAME_TOO_LARGE");
        Assert.True(kinds["huge-frames"].GetProperty("flood").GetProperty("other").GetProperty("closed").GetInt64() > 0);

        foreach (var kind in kinds.Values)
        {
            foreach (var phase in new[] { "before", "during" })
            {
                var p = kind.GetProperty(phase);
                Assert.True(p.GetProperty("sends").GetInt64() > 0, $"{kind.GetProperty("kind")} {phase}: the bystander sent nothing");
                Assert.Empty(p.GetProperty("errors").EnumerateObject());
                Assert.True(p.GetProperty("relay_cpu_s").GetDouble() > 0, $"{kind.GetProperty("kind")} {phase}: no relay CPU read");
            }
        }
    }

    /// <summary>At least one of <paramref name="codes"/> was counted, and the relay let none of the flood's requests through (but held connections).</summary>
    private static void AssertRefused(JsonElement kind, params string[] codes)
    {
        var flood = kind.GetProperty("flood");
        var refusals = flood.GetProperty("refusals").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.True(codes.Any(c => refusals.GetValueOrDefault(c) > 0), $"{kind.GetProperty("kind")}: none of {string.Join(", ", codes)} in {string.Join(", ", refusals)}");
        if (kind.GetProperty("kind").GetString() != "connections")
        {
            Assert.Equal(0, flood.GetProperty("accepted").GetInt64());
        }
    }
}
