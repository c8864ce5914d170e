using System.Net.Sockets;

namespace EdgeRelay.Client;

public sealed partial class RelayClient
{
    /// <summary>
    /// Completes, with the error that ended it, when the connection fails or is disposed: for owners of a
    /// connection (<see cref="RelaySubscriber"/>) that must notice its end with no request in flight.
    /// </summary>
    internal Task<Exception> Failed => _failed.Task;

    /// <summary>
    /// The keepalive rule: whenever this client has sent no frame for <paramref name="interval"/> it sends PING;
    /// a PING without PONG within <paramref name="timeout"/> fails the connection. Only the client's own
    /// sending counts as activity, because the relay's idle timer counts only the frames it receives
    /// (PROTOCOL.md section 3): a connection that receives DELIVERs all day but never sends is still idle to the relay.
    /// </summary>
    private async Task KeepAliveLoopAsync(TimeSpan interval, TimeSpan timeout)
    {
        await Task.Yield();
        var stop = _closed.Token;
        try
        {
            while (Volatile.Read(ref _failure) is null)
            {
                var quiet = _time.GetElapsedTime(Volatile.Read(ref _lastSent));
                if (quiet < interval)
                {
                    await Task.Delay(interval - quiet, _time, stop);
                    continue;
                }

                try
                {
                    await PingAsync(stop).WaitAsync(timeout, _time, stop);
                }
                catch (TimeoutException)
                {
                    Abort(new RelayException($"The relay did not answer a keepalive PING within {timeout.TotalSeconds:0.###} s; the connection is presumed dead."));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        catch (RelayException)
        {
            // The connection failed meanwhile; Fail has told every caller and subscription why.
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the PING.
        }
    }

    /// <summary>
    /// Gives up on a connection that is still open at the socket level: callers learn the reason at once, and
    /// closing the socket ends the loops, including a write blocked on a peer that stopped reading.
    /// </summary>
    private void Abort(RelayException reason)
    {
        Fail(reason);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset.
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }
}
