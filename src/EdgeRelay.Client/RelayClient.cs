using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client;

/// <summary>
/// One connection to a relay. Thread-safe: any number of callers may issue requests at once; they are
/// pipelined on the connection, and replies are matched to requests by id.
/// </summary>
/// <remarks>
/// Callers write their frame into an in-memory pipe under a short lock and a single writer task moves
/// whatever has accumulated to the socket, so a burst of SENDs from many callers goes out in few
/// syscalls. The relay answers a connection's requests in order, so replies are matched to requests by
/// a FIFO queue filled under the same lock (the request id is checked, not looked up). The number of
/// unanswered requests is bounded by a window (the smaller of <see cref="RelayClientOptions.MaxInFlight"/>
/// and the server's advertised limit).
/// <para>Files: this one connects and disposes; <c>RelayClient.Commands.cs</c> has one method per command;
/// <c>RelayClient.Connection.cs</c> the request pipeline, the read and write loops and failure handling;
/// <c>RelayClient.KeepAlive.cs</c> the PING sent when the connection has been quiet, and the dead-peer check.</para>
/// </remarks>
public sealed partial class RelayClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly Pipe _outgoing = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: 64 * 1024, useSynchronizationContext: false));
    private readonly Lock _sync = new();
    private readonly Queue<(uint Id, TaskCompletionSource<Reply> Completion)> _inFlight = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AddressId, PushSubscription> _subscriptions = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly TimeSpan _deadPeerTimeout;
    private SemaphoreSlim _window;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private Task _keepAlive = Task.CompletedTask;
    private long _lastSent;
    private int _maxReplyBody = 16 * 1024 * 1024;
    private uint _nextRequestId;
    private int _disposed;
    private Exception? _failure;

    private RelayClient(Socket socket, Stream stream, int window, TimeProvider time, TimeSpan deadPeerTimeout)
    {
        _socket = socket;
        _stream = stream;
        _time = time;
        _deadPeerTimeout = deadPeerTimeout;
        _lastSent = time.GetTimestamp();
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
        _window = new SemaphoreSlim(window, window);
    }

    /// <summary>What the server said about itself in HELLO: version, limits, service key, AUTH challenge.</summary>
    public ServerInfo ServerInfo { get; private set; } = new();

    /// <summary>Connects to "host:port", does the HELLO handshake, and returns a ready client.</summary>
    public static async Task<RelayClient> ConnectAsync(string endpoint, RelayClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (host, port) = SplitEndpoint(endpoint);
        var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        return await ConnectAsync(new IPEndPoint(addresses[0], port), options, host, cancellationToken);
    }

    public static Task<RelayClient> ConnectAsync(IPEndPoint endPoint, RelayClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(endPoint, options, endPoint.Address.ToString(), cancellationToken);

    private static async Task<RelayClient> ConnectAsync(IPEndPoint endPoint, RelayClientOptions? options, string host, CancellationToken cancellationToken)
    {
        options ??= new RelayClientOptions();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RelayClient? client = null;
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token);
            var stream = options.Tls is null
                ? new NetworkStream(socket, ownsSocket: true)
                : await AuthenticateTlsAsync(socket, options.Tls, host, timeout.Token);
            client = new RelayClient(socket, stream, options.MaxInFlight, options.TimeProvider, options.KeepAliveTimeout);
            client._readLoop = client.ReadLoopAsync();
            client._writeLoop = client.WriteLoopAsync();
            var reply = await HelloAsync(client, options, timeout.Token);
            if (!BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(reply.Body), out var info))
            {
                throw new RelayException(ErrorCode.MalformedFrame, "the server's HELLO reply does not parse");
            }

            client.ServerInfo = info;
            client._maxReplyBody = Math.Max(info.MaxReplyBody, 64 * 1024);
            int window = Math.Max(1, Math.Min(options.MaxInFlight, info.MaxInFlight));
            if (window < options.MaxInFlight)
            {
                // Shrink the window to what the server allows; only HELLO has been sent, so nothing is held.
                client._window = new SemaphoreSlim(window, window);
            }

            if (options.KeepsAlive)
            {
                client._keepAlive = client.KeepAliveLoopAsync(options.KeepAliveInterval!.Value, options.KeepAliveTimeout);
            }

            return client;
        }
        catch
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static async Task<Stream> AuthenticateTlsAsync(Socket socket, RelayTlsOptions tls, string host, CancellationToken cancellationToken)
    {
        // Whether the relay got as far as presenting a certificate: if not, it does not speak TLS on this port.
        var certificateSeen = false;
        var ssl = new System.Net.Security.SslStream(
            new NetworkStream(socket, ownsSocket: true),
            leaveInnerStreamOpen: false,
            (sender, certificate, chain, errors) =>
            {
                certificateSeen = true;
                return tls.Validate(sender, certificate, chain, errors);
            });
        try
        {
            await ssl.AuthenticateAsClientAsync(
                new System.Net.Security.SslClientAuthenticationOptions
                {
                    TargetHost = tls.TargetHost ?? host,
                    EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                },
                cancellationToken);
            return ssl;
        }
        catch (System.Security.Authentication.AuthenticationException ex) when (certificateSeen)
        {
            await ssl.DisposeAsync();
            throw new RelayException("TLS with the relay failed: " + ex.Message + (tls.PinnedPublicKeySha256.IsEmpty ? "" : " (the certificate's key does not match the pin)"), ex)
            {
                CertificateRejected = true,
            };
        }
        catch (Exception ex) when (!certificateSeen && ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            // A relay without TLS answers a ClientHello with a protocol ERROR frame or a close: no certificate at all.
            await ssl.DisposeAsync();
            throw new RelayException("TLS with the relay failed: it does not speak TLS on this port (connect without a pin), or it is not an EdgeRelay relay. " + ex.Message, ex);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// HELLO, the first exchange. A relay that speaks TLS drops a plain connection without a word (its TLS layer
    /// reads our frame as a broken handshake), so a close before the answer says what it most likely means.
    /// </summary>
    private static async Task<Reply> HelloAsync(RelayClient client, RelayClientOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await client.RequestAsync(static (w, id, _) => FrameWriter.WriteHello(w, id), 0, cancellationToken);
        }
        catch (Exception e) when (options.Tls is null && (e is IOException || e is RelayException { ConnectionClosed: true, Code: ErrorCode.None }))
        {
            throw new RelayException(
                "The relay closed the connection before answering HELLO: it most likely requires TLS (connect with its pin, as in its cards: RelayClientOptions.ForPin or ForCard), or it is not an EdgeRelay relay.",
                e);
        }
    }

    private static (string Host, int Port) SplitEndpoint(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            throw new ArgumentException($"'{endpoint}' is not host:port.", nameof(endpoint));
        }

        return (endpoint[..colon].Trim('[', ']'), port);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_sync)
        {
            _outgoing.Writer.Complete();
        }

        // What was written goes out before the close, but a relay that stopped reading (or a path that drops
        // everything) leaves the write blocked behind full socket buffers for as long as that lasts: after the
        // dead-peer timeout the socket is closed under it. Keepalive cannot do that here, as it stops at disposal.
        try
        {
            await _writeLoop.WaitAsync(_deadPeerTimeout, _time);
        }
        catch (TimeoutException)
        {
            Abort(new RelayException($"The relay took none of the bytes still to be sent for {_deadPeerTimeout.TotalSeconds:0.###} s after the connection was disposed; it was closed without them."));
            await _writeLoop;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        catch (ObjectDisposedException)
        {
        }

        await _closed.CancelAsync();
        await _readLoop;
        await _keepAlive;
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
        _closed.Dispose();
    }
}
