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
/// </remarks>
public sealed class RelayClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly Pipe _outgoing = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: 64 * 1024, useSynchronizationContext: false));
    private readonly Lock _sync = new();
    private readonly Queue<(uint Id, TaskCompletionSource<Reply> Completion)> _inFlight = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AddressId, PushSubscription> _subscriptions = new();
    private SemaphoreSlim _window;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private int _maxReplyBody = 16 * 1024 * 1024;
    private uint _nextRequestId;
    private int _disposed;
    private Exception? _failure;

    private RelayClient(Socket socket, Stream stream, int window)
    {
        _socket = socket;
        _stream = stream;
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
            client = new RelayClient(socket, stream, options.MaxInFlight);
            client._readLoop = client.ReadLoopAsync();
            client._writeLoop = client.WriteLoopAsync();
            var reply = await client.RequestAsync(static (w, id, _) => FrameWriter.WriteHello(w, id), 0, timeout.Token);
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
        var ssl = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false, tls.Validate);
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
        catch (System.Security.Authentication.AuthenticationException ex)
        {
            await ssl.DisposeAsync();
            throw new RelayException("TLS with the relay failed: " + ex.Message + (tls.PinnedPublicKeySha256.IsEmpty ? "" : " (the certificate's key does not match the pin)"), ex);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>Asks the relay for a new long-term address owned by <paramref name="owner"/> (an Ed25519 public key).</summary>
    public async Task<CreatedAddress> CreateAddressAsync(PublicKey owner, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        var ownerKey = owner.Export(KeyBlobFormat.RawPublicKey);
        uint seconds = lifetime is null ? 0 : checked((uint)Math.Ceiling(lifetime.Value.TotalSeconds));
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteCreateAddress(w, id, s.ownerKey, s.seconds), (ownerKey, seconds), cancellationToken);
        if (reply.Type != FrameType.AddressCreated || !BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(reply.Body), out var created))
        {
            throw Unexpected(reply);
        }

        var card = AddressCard.Decode(created.Card.Span);
        return new CreatedAddress(card, DateTimeOffset.FromUnixTimeSeconds(created.ExpiresAtUnixSeconds));
    }

    /// <summary>Revokes an address; signed by its owner key. Revoking twice is not an error.</summary>
    public async Task RevokeAddressAsync(AddressId address, Key owner, CancellationToken cancellationToken = default)
    {
        var data = new byte[SignaturePayloads.RevokeLength];
        SignaturePayloads.WriteRevoke(data, address);
        var signature = SignatureAlgorithm.Ed25519.Sign(owner, data);
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteRevokeAddress(w, id, s.address, s.signature), (address, signature), cancellationToken));
    }

    /// <summary>
    /// Sends a ciphertext to an ephemeral address. Completes when the relay has made it durable;
    /// many sends may be in flight at once (up to the window).
    /// </summary>
    public async Task SendAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken = default)
    {
        if (ephemeralAddress.Length != EphemeralAddress.Length)
        {
            throw new ArgumentException($"An ephemeral address is {EphemeralAddress.Length} bytes.", nameof(ephemeralAddress));
        }

        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSend(w, id, s.ephemeralAddress.Span, s.ciphertext.Span), (ephemeralAddress, ciphertext), cancellationToken));
    }

    /// <summary>Sends to a card through a freshly derived ephemeral address (valid for <paramref name="validFor"/>, default 1 hour).</summary>
    public Task SendAsync(AddressCard card, ReadOnlyMemory<byte> ciphertext, TimeSpan? validFor = null, CancellationToken cancellationToken = default) =>
        SendAsync(DeriveEphemeralAddress(card, validFor), ciphertext, cancellationToken);

    /// <summary>
    /// Derives a fresh ephemeral address for a card, locally: no call to anyone. Each result looks random
    /// to everyone but the relay that issued the card.
    /// </summary>
    public static byte[] DeriveEphemeralAddress(AddressCard card, TimeSpan? validFor = null)
    {
        var notAfter = DateTimeOffset.UtcNow.Add(validFor ?? TimeSpan.FromHours(1)).ToUnixTimeSeconds();
        notAfter = Math.Min(notAfter, card.ExpiresAtUnixSeconds);
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(card, notAfter, address);
        return address;
    }

    /// <summary>Proves ownership of addresses by signing this connection's challenge; all or nothing.</summary>
    public async Task AuthenticateAsync(IEnumerable<(AddressId Address, Key Owner)> claims, CancellationToken cancellationToken = default)
    {
        var nonce = ServerInfo.AuthNonce.ToArray();
        var data = new byte[SignaturePayloads.AuthLength];
        var list = new List<AuthClaim>();
        foreach (var (address, owner) in claims)
        {
            SignaturePayloads.WriteAuth(data, nonce, address);
            list.Add(new AuthClaim(address, SignatureAlgorithm.Ed25519.Sign(owner, data)));
        }

        var array = list.ToArray();
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteAuth(w, id, s), array, cancellationToken));
    }

    public Task AuthenticateAsync(AddressId address, Key owner, CancellationToken cancellationToken = default) =>
        AuthenticateAsync([(address, owner)], cancellationToken);

    /// <summary>Fetches up to <paramref name="maxCount"/> pending messages, oldest first. They stay pending until acknowledged.</summary>
    public async Task<PullResult> PullAsync(AddressId address, int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCount, ProtocolLimits.MaxPullCount);
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WritePull(w, id, s.address, (ushort)s.maxCount), (address, maxCount), cancellationToken);
        if (reply.Type != FrameType.Messages || !BodyReader.TryReadMessages(new ReadOnlySequence<byte>(reply.Body), out var messages, out var more))
        {
            throw Unexpected(reply);
        }

        return new PullResult(ToReceived(messages), more);
    }

    /// <summary>Acknowledges stored messages; the relay removes them durably before it answers.</summary>
    public async Task AckAsync(AddressId address, IReadOnlyCollection<long> messageIds, CancellationToken cancellationToken = default)
    {
        var ids = messageIds.ToArray();
        for (int offset = 0; offset < ids.Length; offset += ProtocolLimits.MaxAckIds)
        {
            var chunk = ids.AsMemory(offset, Math.Min(ProtocolLimits.MaxAckIds, ids.Length - offset));
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteAck(w, id, s.address, s.chunk.Span), (address, chunk), cancellationToken));
        }
    }

    /// <summary>
    /// Subscribes to pushed messages of an authenticated address, granting <paramref name="credit"/>
    /// messages up front. The backlog is pushed at once (subject to the address' policy).
    /// </summary>
    /// <exception cref="InvalidOperationException">This connection already subscribed to the address.</exception>
    public async Task<PushSubscription> SubscribeAsync(AddressId address, int credit = 256, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(credit);
        var subscription = new PushSubscription(this, address);

        // Registered before the request: the first DELIVER may overtake the OK.
        if (!_subscriptions.TryAdd(address, subscription))
        {
            throw new InvalidOperationException($"This connection is already subscribed to {address}.");
        }

        try
        {
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteCredit(w, FrameType.Subscribe, id, s.address, s.credit), (address, credit: (uint)credit), cancellationToken));
            return subscription;
        }
        catch
        {
            _subscriptions.TryRemove(new KeyValuePair<AddressId, PushSubscription>(address, subscription));
            subscription.Complete();
            throw;
        }
    }

    internal async Task GrantAsync(AddressId address, int credit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(credit);
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteCredit(w, FrameType.Credit, id, s.address, s.credit), (address, credit: (uint)credit), cancellationToken));
    }

    internal async Task UnsubscribeAsync(PushSubscription subscription)
    {
        try
        {
            ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteUnsubscribe(w, id, s), subscription.Address, CancellationToken.None));
        }
        finally
        {
            _subscriptions.TryRemove(new KeyValuePair<AddressId, PushSubscription>(subscription.Address, subscription));
        }
    }

    /// <summary>Sets how the relay delivers this (authenticated) address' messages; persisted by the relay.</summary>
    public async Task SetPolicyAsync(AddressId address, DeliveryPolicy policy, CancellationToken cancellationToken = default)
    {
        if (!policy.IsValid)
        {
            throw new ArgumentException($"Not a valid delivery policy: {policy}.", nameof(policy));
        }

        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSetPolicy(w, id, s.address, s.policy), (address, policy), cancellationToken));
    }

    /// <summary>
    /// Registers where the relay sends a content-free wake-up when a message arrives and no connection of
    /// the owner is subscribed (a UnifiedPush endpoint, for instance); null clears it.
    /// </summary>
    public async Task SetNotifyEndpointAsync(AddressId address, string? endpoint, CancellationToken cancellationToken = default) =>
        ExpectOk(await RequestAsync(static (w, id, s) => FrameWriter.WriteSetNotify(w, id, s.address, s.endpoint), (address, endpoint), cancellationToken));

    /// <summary>
    /// Extends an (authenticated, live) address to <paramref name="lifetime"/> from now (default: the
    /// relay's default) and returns a fresh card carrying the new expiry. Cards handed out earlier keep
    /// working until their own expiry. To rotate instead, create a new address and revoke this one later.
    /// </summary>
    public async Task<CreatedAddress> RenewAddressAsync(AddressId address, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        uint seconds = lifetime is null ? 0 : checked((uint)Math.Ceiling(lifetime.Value.TotalSeconds));
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteRenewAddress(w, id, s.address, s.seconds), (address, seconds), cancellationToken);
        if (reply.Type != FrameType.AddressCreated || !BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(reply.Body), out var created))
        {
            throw Unexpected(reply);
        }

        return new CreatedAddress(AddressCard.Decode(created.Card.Span), DateTimeOffset.FromUnixTimeSeconds(created.ExpiresAtUnixSeconds));
    }

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(static (w, id, _) => FrameWriter.WriteEmpty(w, FrameType.Ping, id), 0, cancellationToken);
        if (reply.Type != FrameType.Pong)
        {
            throw Unexpected(reply);
        }
    }

    private async Task<Reply> RequestAsync<TState>(Action<IBufferWriter<byte>, uint, TState> write, TState state, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ThrowIfFailed();
        await _window.WaitAsync(cancellationToken);
        var window = _window;
        bool releaseSlot = true;
        try
        {
            var completion = new TaskCompletionSource<Reply>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_sync)
            {
                // Checked under the lock that Fail drains the queue under: no request is queued after a failure.
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                ThrowIfFailed();
                uint id = ++_nextRequestId == 0 ? ++_nextRequestId : _nextRequestId; // 0 is the server's "no request"
                write(_outgoing.Writer, id, state);
                _inFlight.Enqueue((id, completion));
                Publish(_outgoing.Writer.FlushAsync(CancellationToken.None));
            }

            Reply reply;
            try
            {
                reply = await completion.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (!completion.Task.IsCompleted)
            {
                // The caller stops waiting, but the request is on the wire and still unanswered: it keeps its
                // window slot until its reply (or the connection's end) completes it. Released now, repeated
                // cancellations would put ever more unanswered requests on the wire than the window allows,
                // and the window is all that bounds the outgoing pipe.
                releaseSlot = false;
                _ = completion.Task.ContinueWith(
                    static (task, slot) =>
                    {
                        _ = task.Exception; // nobody awaits it any more: observed here so that it is not reported as unobserved
                        ((SemaphoreSlim)slot!).Release();
                    },
                    window,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                throw;
            }

            if (reply.Type == FrameType.Error)
            {
                throw ToException(reply);
            }

            return reply;
        }
        finally
        {
            if (releaseSlot)
            {
                window.Release();
            }
        }
    }

    /// <summary>The outgoing pipe has no pause threshold (the window bounds it), so its flush never waits.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012", Justification = "Completed synchronously: the pipe never applies back-pressure.")]
    private static void Publish(ValueTask<FlushResult> flush)
    {
        if (!flush.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The outgoing pipe applied back-pressure, which it is configured never to do.");
        }
    }

    /// <summary>Moves whatever callers have written to the socket: one write per batch, not per request.</summary>
    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await _stream.WriteAsync(segment);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            // The socket is gone: every caller gets the same clear exception, whichever noticed first.
            Fail(new RelayException("The connection to the relay failed: " + ex.Message, ex));
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(_closed.Token);
                var buffer = result.Buffer;
                try
                {
                    while (true)
                    {
                        var status = FrameReader.TryRead(ref buffer, _maxReplyBody, out var header, out var body);
                        if (status == FrameParseStatus.Incomplete)
                        {
                            break;
                        }

                        if (status != FrameParseStatus.Complete)
                        {
                            throw new RelayException(ErrorCode.MalformedFrame, "the server sent a frame this client cannot read");
                        }

                        if (header.Type == FrameType.Deliver)
                        {
                            Dispatch(body);
                            continue;
                        }

                        var reply = new Reply(header.Type, header.Type == FrameType.Ok ? [] : body.ToArray());
                        TaskCompletionSource<Reply>? completion = null;
                        lock (_sync)
                        {
                            if (_inFlight.TryPeek(out var head) && head.Id == header.RequestId)
                            {
                                completion = _inFlight.Dequeue().Completion;
                            }
                        }

                        if (completion is not null)
                        {
                            completion.TrySetResult(reply);
                        }
                        else if (header.Type == FrameType.Error && header.RequestId == 0)
                        {
                            // Request id 0: a connection-level error, e.g. SHUTTING_DOWN. An ERROR for any other id
                            // that is not the oldest unanswered request is out of order like any other reply: its
                            // code belongs to another request and must not reach the callers of the pending ones.
                            Fail(ToException(reply));
                        }
                        else
                        {
                            throw new RelayException(ErrorCode.MalformedFrame, "the server answered out of order");
                        }
                    }

                    if (result.IsCompleted || result.IsCanceled)
                    {
                        Fail(new RelayException("The relay closed the connection."));
                        return;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex is RelayException or OperationCanceledException ? ex : new RelayException("The connection to the relay failed: " + ex.Message, ex));
        }
    }

    /// <summary>A DELIVER push: to its subscription, or dropped if there is none any more (the relay redelivers what is not acked).</summary>
    private void Dispatch(in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadDeliver(body, out var address, out var messages))
        {
            throw new RelayException(ErrorCode.MalformedFrame, "the server's DELIVER frame does not parse");
        }

        if (_subscriptions.TryGetValue(address, out var subscription))
        {
            subscription.Deliver(ToReceived(messages));
        }
    }

    private static ReceivedMessage[] ToReceived(DeliveredMessage[] messages) =>
        Array.ConvertAll(messages, m => new ReceivedMessage(m.Id, DateTimeOffset.FromUnixTimeMilliseconds(m.ReceivedAtUnixMs), m.Ciphertext));

    private void Fail(Exception error)
    {
        if (error is RelayException { ConnectionClosed: false } relay)
        {
            // A code after which the relay would keep the connection open (MALFORMED_FRAME for a reply this client
            // cannot trust, say): this client gives up on the connection anyway, and its callers must be told.
            error = new RelayException(relay.Code, relay.Reason, relay.InnerException, connectionFailed: true);
        }

        Interlocked.CompareExchange(ref _failure, error, null);
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Complete(error);
        }

        lock (_sync)
        {
            while (_inFlight.TryDequeue(out var pending))
            {
                pending.Completion.TrySetException(_failure!);
            }
        }
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw failure is RelayException relay ? new RelayException(relay.Code, relay.Reason, relay.InnerException, connectionFailed: true) : new RelayException("The connection to the relay failed.", failure);
        }
    }

    private static RelayException ToException(in Reply reply) =>
        BodyReader.TryReadError(new ReadOnlySequence<byte>(reply.Body), out var error)
            ? new RelayException(error.Code, error.Reason)
            : new RelayException(ErrorCode.MalformedFrame, "the server's ERROR frame does not parse");

    private static void ExpectOk(in Reply reply)
    {
        if (reply.Type != FrameType.Ok)
        {
            throw Unexpected(reply);
        }
    }

    private static RelayException Unexpected(in Reply reply) =>
        new(ErrorCode.MalformedFrame, $"unexpected reply type 0x{(byte)reply.Type:x2}");

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

        await _writeLoop;

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
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
        _closed.Dispose();
    }

    private readonly record struct Reply(FrameType Type, byte[] Body);
}
