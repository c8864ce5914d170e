using Microsoft.AspNetCore.Connections;

namespace EdgeRelay.Server;

/// <summary>
/// Kestrel's entry point for the binary protocol. One instance serves every connection of the endpoint,
/// so it holds nothing per connection: each gets a <see cref="RelaySession"/>.
/// </summary>
public sealed class RelayConnectionHandler(RelayServer server) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new RelaySession(server, connection).RunAsync();
}
