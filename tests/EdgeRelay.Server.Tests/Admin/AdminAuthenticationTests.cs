using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary>The admin API is off without a token, and refuses any request that does not carry it.</summary>
public sealed class AdminAuthenticationTests
{
    internal const string Token = "admin-token-0123456789abcdef";

    [Theory]
    [InlineData("GET", "/admin/stats")]
    [InlineData("POST", "/admin/stats")]
    [InlineData("POST", "/admin/drain")]
    [InlineData("GET", "/admin/addresses")]
    [InlineData("GET", "/admin")]
    public async Task Without_a_configured_token_every_admin_path_answers_404_even_with_a_token(string method, string path)
    {
        await using var relay = await TestRelay.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_request_without_a_token_is_refused_with_401()
    {
        await using var relay = await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };

        using var response = await http.GetAsync("/admin/stats");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("Bearer", "admin-token-0123456789abcdeX")]
    [InlineData("Bearer", "admin-token-0123456789abcde")]
    [InlineData("Bearer", "admin-token-0123456789abcdef0")]
    [InlineData("Basic", Token)]
    public async Task A_wrong_token_or_scheme_is_refused_with_401(string scheme, string token)
    {
        await using var relay = await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, token);

        using var response = await http.GetAsync("/admin/stats");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_right_token_gets_the_stats()
    {
        await using var relay = await StartAsync();
        using var http = Client(relay);

        using var response = await http.GetAsync("/admin/stats");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stats = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), AdminJson.Default.AdminStats)!;
        Assert.Equal(Metrics.RelayMetrics.Version, stats.Version);
        Assert.Equal("accepting", stats.Availability);
        Assert.Equal(["receiving", "sending"], stats.Roles);
        Assert.Equal(0, stats.QueueDepth);
        Assert.Equal(relay.Host.Server.Options.Storage.MaxDiskBytes, stats.DiskBudgetBytes);
        Assert.True(stats.DiskHeadroomBytes > 0);
    }

    [Fact]
    public async Task The_token_may_come_from_a_file_which_wins_over_the_option()
    {
        using var folder = new Testing.TempDirectory();
        var file = Path.Combine(folder.Path, "admin.token");
        await File.WriteAllTextAsync(file, "from-the-file-0123456789\n");
        await using var relay = await TestRelay.StartAsync(o =>
        {
            o.Admin.Token = Token;
            o.Admin.TokenFile = file;
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var refused = await http.GetAsync("/admin/stats");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "from-the-file-0123456789");
        using var accepted = await http.GetAsync("/admin/stats");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Theory]
    [InlineData("short", "at least 16 characters")]
    [InlineData("has a space in the middle", "white space")]
    public void A_weak_token_is_a_configuration_problem_that_does_not_quote_it(string token, string expected)
    {
        var options = new EdgeRelayOptions { Admin = { Token = token } };

        var problem = Assert.Single(options.Validate());

        Assert.StartsWith("Admin:Token:", problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain(token, problem, StringComparison.Ordinal);
    }

    internal static Task<TestRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, TimeProvider? time = null) =>
        TestRelay.StartAsync(
            o =>
            {
                o.Admin.Token = Token;
                configure?.Invoke(o);
            },
            time);

    internal static HttpClient Client(TestRelay relay)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{relay.Host.HttpEndPoint}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }
}
