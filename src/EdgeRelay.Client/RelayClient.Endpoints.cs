using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

/// <summary>A service on several nodes: connecting to the first of its endpoints that answers.</summary>
public sealed partial class RelayClient
{
    /// <summary>
    /// Connects to the first of <paramref name="endpoints"/> (a card's <c>Endpoints</c>: its main endpoint, then
    /// its alternatives) that can be reached, in their order, and does the HELLO handshake. The next endpoint is
    /// tried only when one is unreachable (<see cref="IsUnreachable"/>); any other failure, such as a certificate
    /// that does not match the pin, is thrown at once.
    /// </summary>
    /// <exception cref="ArgumentException">No endpoint given.</exception>
    public static async Task<RelayClient> ConnectAnyAsync(IReadOnlyList<string> endpoints, RelayClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("No endpoint to connect to.", nameof(endpoints));
        }

        for (var i = 0; ; i++)
        {
            try
            {
                return await ConnectAsync(endpoints[i], options, cancellationToken);
            }
            catch (Exception e) when (i + 1 < endpoints.Count && !cancellationToken.IsCancellationRequested && IsUnreachable(e))
            {
                // Down, or not there: the next node of the service may answer.
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="error"/>, from connecting or from a connection, means the relay could not be reached
    /// (refused, unreachable, unknown host, timed out, closed before answering, shutting down), so that another
    /// endpoint of its service may be tried. A certificate that does not match the pin is not: something other than
    /// the service answers there, which is reported rather than hidden behind the next node. Nor is a refusal the
    /// relay sent (an ERROR frame): that is the service's answer, which another node would give too.
    /// </summary>
    /// <remarks>A cancellation is counted as a connect timeout: callers check their own token first.</remarks>
    public static bool IsUnreachable(Exception error) => error switch
    {
        RelayException relay => !relay.CertificateRejected && relay.Code is ErrorCode.None or ErrorCode.ShuttingDown,
        SocketException or IOException or TimeoutException or OperationCanceledException => true,
        _ => false,
    };
}
