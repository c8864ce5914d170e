namespace EdgeRelay.Server.Tests;

/// <summary>A relay listening on every interface must be told what its cards name: the listener is no one's address.</summary>
public sealed class PublicEndpointOptionsTests
{
    [Theory]
    [InlineData("0.0.0.0:7400", null, false)]
    [InlineData("[::]:7400", null, false)]
    [InlineData("0.0.0.0:7400", "relay.example.org:7400", true)]
    [InlineData("[::]:7400", "relay.example.org:7400", true)]
    [InlineData("127.0.0.1:7400", null, true)]
    [InlineData("192.0.2.10:7400", null, true)]
    public void A_wildcard_listener_needs_a_public_endpoint(string endpoint, string? publicEndpoint, bool valid)
    {
        var options = new EdgeRelayOptions { Relay = { Endpoint = endpoint, PublicEndpoint = publicEndpoint } };

        var problems = options.Validate();

        Assert.Equal(valid, !problems.Any(p => p.StartsWith("Relay:PublicEndpoint: required", StringComparison.Ordinal)));
        Assert.Equal(valid, problems.Count == 0);
    }
}
