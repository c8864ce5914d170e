using System.Collections.Concurrent;
using System.Net.Http.Headers;
using EdgeRelay.Server.Admin;
using EdgeRelay.Testing;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary>Every admin action leaves an audit line naming its actor by fingerprint; no line ever holds the token.</summary>
public sealed class AdminAuditTests
{
    [Fact]
    public async Task Actions_and_refusals_are_logged_with_the_actor_and_never_with_the_token_and_are_counted()
    {
        using var folder = new TempDirectory();
        var lines = new ConcurrentQueue<(string Category, string Message)>();
        var options = TestRelay.Options(folder.Path);
        options.Admin.Token = AdminAuthenticationTests.Token;
        await using var host = await RelayHost.StartAsync(options, logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(new CapturingLoggerProvider(lines));
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host.HttpEndPoint}") };

        using (await http.GetAsync("/admin/stats"))
        {
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminAuthenticationTests.Token);
        using (await http.PostAsync("/admin/drain", null))
        {
        }

        using (await http.PostAsync($"/admin/addresses/{AddressId.NewRandom()}/purge", null))
        {
        }

        var fingerprint = AdminAuthentication.FingerprintOf(AdminAuthenticationTests.Token);
        var audit = lines.Where(l => l.Category == AdminLog.Category).Select(l => l.Message).ToList();
        Assert.Contains(audit, l => l.Contains("refused: no bearer token", StringComparison.Ordinal) && l.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.Contains(audit, l => l.Contains("Admin drain of relay by 127.0.0.1 (token " + fingerprint + "): draining", StringComparison.Ordinal));
        Assert.Contains(audit, l => l.Contains("Admin purge of ", StringComparison.Ordinal) && l.Contains("unknown_address", StringComparison.Ordinal));
        Assert.Equal(8, fingerprint.Length);
        Assert.All(lines, l => Assert.DoesNotContain(AdminAuthenticationTests.Token, l.Message, StringComparison.Ordinal));

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("edgerelay_admin_actions_total{action=\"drain\",outcome=\"ok\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgerelay_admin_actions_total{action=\"authenticate\",outcome=\"refused\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgerelay_admin_actions_total{action=\"purge\",outcome=\"not_found\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fingerprint_is_the_first_eight_hex_digits_of_the_tokens_sha256()
    {
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("admin-token-0123456789abcdef"u8))[..8];

        Assert.Equal(expected, AdminAuthentication.FingerprintOf(AdminAuthenticationTests.Token));
    }
}
