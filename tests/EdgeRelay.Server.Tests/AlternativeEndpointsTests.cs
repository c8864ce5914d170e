using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Tests.Forwarding;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// Relay:AlternativeEndpoints: what the option accepts, that every card and HELLO_REPLY names them in order, and
/// that a SEND_VIA to a card naming one of them is a local delivery.
/// </summary>
public sealed class AlternativeEndpointsTests
{
    private static IReadOnlyList<string> Problems(params string[] alternatives)
    {
        var options = new EdgeRelayOptions { Relay = { Endpoint = "127.0.0.1:7400", PublicEndpoint = "relay-a.example:7400" } };
        options.Relay.AlternativeEndpoints.AddRange(alternatives);
        return options.Validate();
    }

    [Fact]
    public void Other_nodes_in_host_port_form_are_accepted()
    {
        Assert.Empty(Problems());
        Assert.Empty(Problems("relay-b.example:7400", "[2001:db8::2]:7400", "192.0.2.3:7400"));
        Assert.Empty(Problems([.. Enumerable.Range(1, 8).Select(i => $"relay-{i}.example:7400")]));
    }

    [Theory]
    [InlineData("relay-b.example", "Relay:AlternativeEndpoints:0: 'relay-b.example' is not an endpoint")]  // no port
    [InlineData("relay-b.example:0", "Relay:AlternativeEndpoints:0: 'relay-b.example:0' is not an endpoint")] // port 0
    [InlineData("", "Relay:AlternativeEndpoints:0: '' is not an endpoint")]
    [InlineData("relay-a.example:7400", "is this relay's own card endpoint")]
    [InlineData("RELAY-A.example:7400", "is this relay's own card endpoint")] // as local delivery compares: ignoring case
    public void A_bad_or_own_endpoint_is_named(string alternative, string problem) =>
        Assert.Contains(Problems(alternative), p => p.Contains(problem, StringComparison.Ordinal));

    [Fact]
    public void Duplicates_too_many_and_too_long_are_refused_with_the_option_named()
    {
        Assert.Equal(["Relay:AlternativeEndpoints:1: 'b.example:7400' is listed twice."], Problems("b.example:7400", "b.example:7400"));
        Assert.Equal(
            ["Relay:AlternativeEndpoints: 9 endpoints; a card names at most 8."],
            Problems([.. Enumerable.Range(1, 9).Select(i => $"relay-{i}.example:7400")]));
        Assert.Contains("is not an endpoint", Assert.Single(Problems(new string('b', 251) + ":7400")), StringComparison.Ordinal); // 256 bytes

        // Eight of 250 bytes are each valid, but no card holds them all.
        var problem = Assert.Single(Problems([.. Enumerable.Range(1, 8).Select(i => new string((char)('a' + i), 245) + ":7400")]));
        Assert.StartsWith("Relay:AlternativeEndpoints: with them a card would be longer than 2048 bytes", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_card_endpoint_compared_is_the_listener_without_a_public_endpoint()
    {
        var options = new EdgeRelayOptions { Relay = { Endpoint = "127.0.0.1:7400", AlternativeEndpoints = ["127.0.0.1:7400"] } };
        Assert.Contains(options.Validate(), p => p.Contains("own card endpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_list_is_read_from_indexed_keys_over_the_shipped_empty_array()
    {
        // The shipped file (beside the binary) holds "AlternativeEndpoints": []; the command line fills it by index.
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--Relay:AlternativeEndpoints:0=relay-b.example:7400", "--Relay:AlternativeEndpoints:1=relay-c");
        Assert.Equal(2, exitCode);
        Assert.Contains("Relay:AlternativeEndpoints:1: 'relay-c' is not an endpoint", stderr, StringComparison.Ordinal);

        var environment = new Dictionary<string, string>
        {
            ["EDGERELAY_Relay__AlternativeEndpoints__0"] = "relay-b.example:7400",
            ["EDGERELAY_Relay__AlternativeEndpoints__1"] = "relay-b.example:7400",
        };
        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync(environment, "check-config");
        Assert.Equal(2, exitCode);
        Assert.Contains("Relay:AlternativeEndpoints:1: 'relay-b.example:7400' is listed twice.", stderr, StringComparison.Ordinal);

        environment["EDGERELAY_Relay__AlternativeEndpoints__1"] = "[2001:db8::2]:7400";
        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync(environment, "check-config");
        Assert.True(exitCode == 0, stderr);

        // One value where a list belongs is named, not silently dropped.
        (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--Relay:AlternativeEndpoints=relay-b.example:7400");
        Assert.Equal(2, exitCode);
        Assert.Contains("Relay:AlternativeEndpoints: a list; give its entries as Relay:AlternativeEndpoints:0", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_compares_the_list_by_content_and_a_change_needs_a_restart()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.AlternativeEndpoints = ["relay-b.example:7400"]);
        var server = relay.Host.Server;
        EdgeRelayOptions Reloaded(params string[] alternatives)
        {
            var options = TestRelay.Options(relay.DataDir);
            options.Relay.Endpoint = server.Options.Relay.Endpoint;
            options.Http.Endpoint = server.Options.Http.Endpoint;
            options.Relay.AlternativeEndpoints = [.. alternatives]; // a new list, as a file read again gives
            return options;
        }

        var same = server.ApplyConfiguration(Reloaded("relay-b.example:7400"));
        Assert.Empty(same.NeedRestart);
        var changed = server.ApplyConfiguration(Reloaded("relay-b.example:7400", "relay-c.example:7400"));
        Assert.Equal(["Relay:AlternativeEndpoints"], changed.NeedRestart);
        Assert.Equal(["relay-b.example:7400"], server.AlternativeEndpoints); // left as it is until the restart
    }

    [Fact]
    public async Task Cards_and_hello_name_the_alternatives_in_order_and_a_send_via_to_one_is_local()
    {
        string[] alternatives = ["relay-b.example:7400", "[2001:db8::2]:7400"];
        await using var relay = await TestRelay.StartAsync(o => o.Relay.AlternativeEndpoints = [.. alternatives]);
        await using var client = await ForwardingTests.ConnectRmAsync(relay);
        Assert.Equal(alternatives, client.ServerInfo.AlternativeEndpoints);
        Assert.Equal(relay.Endpoint, client.ServerInfo.Endpoint);

        using var owner = new Owner();
        var created = await owner.CreateAddressAsync(client);
        Assert.Equal([relay.Endpoint, .. alternatives], created.Card.Endpoints);

        // The card as another node of the service issued it (its endpoint first): stored here, send id 0.
        var fromB = created.Card.StartingAt("relay-b.example:7400");
        Assert.Equal("relay-b.example:7400", fromB.Endpoint);
        var state = await client.SendViaAsync(fromB, new byte[] { 7 });
        Assert.Equal((0L, SendStateKind.Delivered), (state.SendId, state.State));
        var upper = await client.SendViaAsync("RELAY-B.EXAMPLE:7400", ReadOnlyMemory<byte>.Empty, RelayClient.DeriveEphemeralAddress(created.Card), new byte[] { 8 });
        Assert.Equal((0L, SendStateKind.Delivered), (upper.SendId, upper.State));

        await client.AuthenticateAsync(created.Id, owner.Key);
        var pulled = await client.PullAsync(created.Id);
        Assert.Equal([7, 8], pulled.Messages.Select(m => m.Ciphertext.Span[0]));

        // An endpoint of no node of this service is forwarded as before.
        var elsewhere = await client.SendViaAsync("relay-c.example:7400", ReadOnlyMemory<byte>.Empty, RelayClient.DeriveEphemeralAddress(created.Card), new byte[] { 9 });
        Assert.Equal(SendStateKind.Queued, elsewhere.State);
        Assert.True(elsewhere.SendId > 0);
    }
}
