using System.Net;
using EdgeRelay.Server.Webhooks;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The endpoint check a client's registration passes (<see cref="WebhookNotifier.TryValidateEndpoint"/>) and
/// the internal-address test the guarded connect applies to every resolved address. Pure functions: no receiver.
/// </summary>
public sealed class WebhookEndpointsTests
{
    /// <summary>Part of an endpoint path: a refusal's reason must never repeat it.</summary>
    private const string Secret = "s3cr3t-capability";

    [Theory]
    [InlineData("https://127.0.0.1/up")]
    [InlineData("https://127.8.9.10:8443/up")]
    [InlineData("https://[::1]/up")]
    [InlineData("https://[::ffff:127.0.0.1]/up")]
    [InlineData("https://0.0.0.0/up")]
    [InlineData("https://10.1.2.3/up")]
    [InlineData("https://172.16.0.9/up")]
    [InlineData("https://192.168.1.1/up")]
    [InlineData("https://100.64.0.1/up")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://[fe80::1]/up")]
    [InlineData("https://[fd12:3456::1]/up")]
    [InlineData("https://224.0.0.1/up")]
    [InlineData("https://[ff02::1]/up")]
    public void Internal_ip_literals_are_refused_unless_private_networks_are_allowed(string url)
    {
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions(), out var problem));
        Assert.Contains("internal", problem, StringComparison.Ordinal);
        Assert.True(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowPrivateNetworks = true }, out problem), problem);
    }

    [Theory]
    [InlineData("8.8.8.8", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("2002:808:808::1", false)]
    [InlineData("2002:7f00:1::1", true)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("::7f00:1", true)]
    [InlineData("::", true)]
    [InlineData("255.255.255.255", true)]
    public void Internal_addresses_are_recognised_in_every_form(string address, bool isInternal) =>
        Assert.Equal(isInternal, WebhookEndpoints.IsInternal(IPAddress.Parse(address)));

    [Fact]
    public void Http_is_refused_unless_allowed()
    {
        const string url = "http://push.example.org/up/" + Secret;
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions(), out var problem));
        Assert.Contains("https", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
        Assert.True(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowHttp = true }, out problem), problem);
        Assert.True(WebhookNotifier.TryValidateEndpoint("https://push.example.org/up/" + Secret, new NotifyOptions(), out problem), problem);
    }

    [Fact]
    public void User_info_is_refused()
    {
        Assert.False(WebhookNotifier.TryValidateEndpoint("https://user:" + Secret + "@push.example.org/up", new NotifyOptions(), out var problem));
        Assert.Contains("user info", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_over_long_endpoint_is_refused()
    {
        var options = new NotifyOptions { MaxEndpointLength = 100 };
        const string prefix = "https://push.example.org/";
        var longest = prefix + new string('a', 100 - prefix.Length);
        Assert.True(WebhookNotifier.TryValidateEndpoint(longest, options, out var problem), problem);
        Assert.False(WebhookNotifier.TryValidateEndpoint(longest + "a", options, out problem));
        Assert.Contains("longer than 100", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/up/relative")]
    [InlineData("push.example.org/up")]
    [InlineData("ftp://push.example.org/up")]
    [InlineData("file:///etc/passwd")]
    public void Anything_but_an_absolute_web_url_is_refused(string url) =>
        Assert.False(WebhookNotifier.TryValidateEndpoint(url, new NotifyOptions { AllowHttp = true }, out _));
}
