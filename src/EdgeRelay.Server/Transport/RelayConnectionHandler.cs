using System.Net;
using EdgeRelay.Protocol;
using Microsoft.AspNetCore.Connections;

namespace EdgeRelay.Server;

/// <summary>
/// Kestrel's entry point for the binary protocol. One instance serves every connection of the endpoint,
/// so it holds nothing per connection: each gets a <see cref="RelaySession"/>, once the connection limits
/// (<see cref="LimitsOptions"/>, counted by the server's <see cref="ConnectionLimiter"/>) admit it.
/// </summary>
public sealed class RelayConnectionHandler(RelayServer server) : ConnectionHandler
{
    // A refused client that neither reads nor closes must not hold its socket for long.
    private static readonly TimeSpan RefusalLinger = TimeSpan.FromSeconds(2);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        var refusal = server.Connections.TryAdmit(address, server.Limits);
        if (refusal != ConnectionRefusal.None)
        {
            await RefuseAsync(connection, refusal);
            return;
        }

        try
        {
            await new RelaySession(server, connection).RunAsync();
        }
        finally
        {
            server.Connections.Release(address);
        }
    }

    /// <summary>
    /// One ERROR CONNECTION_LIMIT with request id 0, before anything the client sent is read (its HELLO is never
    /// processed), then the close. The client's bytes are read and dropped until it closes or a short linger
    /// passes: closing a socket with unread input makes the kernel reset it, and a reset can discard the
    /// ERROR frame before the client reads it.
    /// </summary>
    private async Task RefuseAsync(ConnectionContext connection, ConnectionRefusal refusal)
    {
        server.Metrics.ConnectionRefused(refusal);
        server.Metrics.Refused(ErrorCode.ConnectionLimit);
        RelayLog.ConnectionRefused(server.Logger, connection.RemoteEndPoint?.ToString() ?? "?", refusal == ConnectionRefusal.Total ? "total" : "per_ip");
        var reason = refusal == ConnectionRefusal.Total
            ? "the relay holds as many connections as it allows; retry later"
            : "too many connections from this address; retry later";
        using var linger = new CancellationTokenSource(RefusalLinger, server.Time);
        try
        {
            FrameWriter.WriteError(connection.Transport.Output, 0, ErrorCode.ConnectionLimit, reason);
            await connection.Transport.Output.FlushAsync(linger.Token);
            await connection.Transport.Output.CompleteAsync();
            var input = connection.Transport.Input;
            while (true)
            {
                var read = await input.ReadAsync(linger.Token);
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            // Gone, or lingering too long: the close below is all that is left to do.
        }
        finally
        {
            await connection.Transport.Input.CompleteAsync();
        }
    }
}
