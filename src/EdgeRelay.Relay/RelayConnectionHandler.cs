using Microsoft.AspNetCore.Connections;

namespace EdgeRelay.Relay;

/// <summary>
/// Kestrel's entry point for the binary protocol. One instance serves every connection of the endpoint,
/// so it holds nothing per connection: each gets a <see cref="RelaySession"/>.
/// </summary>
public sealed class RelayConnectionHandler(RelayService relay) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new RelaySession(relay, connection).RunAsync();
}
