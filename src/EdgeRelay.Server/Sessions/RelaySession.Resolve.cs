using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // Address resolution of the SEND path. A cache hit is answered here, on the read loop, without
    // allocating. A miss starts a round: this SEND and every later SEND of the same read whose address the
    // cache lacks are charged to the budgets and handed to the server's ResolutionPool together, so that
    // all cores open them at once; the read loop waits for the round, then goes on handling the frames in
    // order, taking each one's verdict from the batch. Appends, message ids and replies therefore stay in
    // request order: nothing is appended before the round is resolved.

    private MissClass _missClass = MissClass.Anonymous;

    // The batch of the current round; rented at the round's start, returned once every verdict is taken.
    private MissBatch? _misses;

    // Frames read on this connection so far (the current one included): how a verdict names its request.
    private long _frameNumber;

    // The rest of the current read after the frame being handled: what a round looks ahead into.
    private ReadOnlySequence<byte> _unread;

    /// <summary>
    /// The class this connection's misses are charged to from now on: peer while it holds a valid peer token
    /// (AUTH_TOKEN), anonymous otherwise (none, an RM token, or a peer token since revoked). A change of
    /// class starts the connection on that class' full budget.
    /// </summary>
    private void RefreshMissClass()
    {
        var missClass = _token is { Role: TokenRole.Peer, IsRevoked: false } ? MissClass.Peer : MissClass.Anonymous;
        if (missClass != _missClass)
        {
            _missClass = missClass;
            _missLimiter = _server.Resolver.CreateLimiter(missClass, _server.Time.TimestampFrequency, _server.Time.GetTimestamp());
        }
    }

    /// <summary>
    /// The verdict for the SEND being handled: from the current round, or from the cache. False on a miss
    /// that needs a round of its own.
    /// </summary>
    private bool TryResolve(ReadOnlySpan<byte> ephemeral, long nowUnixSeconds, out ResolveStatus status, out AddressId aid)
    {
        var batch = _misses;
        if (batch is null)
        {
            return _server.Resolver.TryResolveCached(ephemeral, nowUnixSeconds, out status, out aid);
        }

        var taken = batch.TryTake(_frameNumber, nowUnixSeconds, out status, out aid);
        if (!batch.HasUntaken)
        {
            _misses = null;
            _server.Resolution.Return(batch);
        }

        if (taken || _server.Resolver.TryResolveCached(ephemeral, nowUnixSeconds, out status, out aid))
        {
            return true;
        }

        if (_misses is null)
        {
            return false;
        }

        // The round looked at this address and found it cached, and it was evicted since (a full cache under
        // churn): opened here rather than in a round of its own, which would drop the later verdicts.
        RefreshMissClass();
        status = _server.Resolution.ResolveInline(_missClass, ref _missLimiter, _server.Time.GetTimestamp(), ephemeral, nowUnixSeconds, out aid);
        return true;
    }

    /// <summary>
    /// A miss: resolves it, and the misses of the SENDs after it in this read, on the pool; then handles the
    /// SEND again, which now finds its verdict in the batch.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ResolveRoundAsync(uint requestId, ReadOnlySequence<byte> body)
    {
        var batch = CollectMisses(body);
        _misses = batch;
        await _server.Resolution.ResolveAsync(batch);
        await HandleSendAsync(requestId, body);
    }

    private MissBatch CollectMisses(in ReadOnlySequence<byte> firstBody)
    {
        RefreshMissClass();
        var now = _server.Time.GetTimestamp();
        var batch = _server.Resolution.Rent(_missClass);
        Span<byte> ephemeral = stackalloc byte[ProtocolConstants.EphemeralAddressLength];
        firstBody.Slice(0, ProtocolConstants.EphemeralAddressLength).CopyTo(ephemeral);
        Charge(batch, _frameNumber, ephemeral, now);

        var rest = _unread;
        var frame = _frameNumber;
        var maxBody = _server.MaxRequestBody;
        var maxCiphertext = _server.Options.Relay.MaxCiphertextBytes;
        while (!batch.IsFull && FrameReader.TryRead(ref rest, maxBody, out var header, out var body) == FrameParseStatus.Complete)
        {
            frame++;
            if (header.Type == FrameType.AuthToken)
            {
                // It may change this connection's class: the SENDs after it are charged once it is handled.
                break;
            }

            var ciphertextLength = body.Length - ProtocolConstants.EphemeralAddressLength;
            if (header.Type != FrameType.Send || ciphertextLength < 1 || ciphertextLength > maxCiphertext)
            {
                continue; // refused without resolving when its turn comes
            }

            body.Slice(0, ProtocolConstants.EphemeralAddressLength).CopyTo(ephemeral);
            if (EphemeralAddress.IsWellFormed(ephemeral) && !_server.Resolver.Cache.Contains(ephemeral))
            {
                Charge(batch, frame, ephemeral, now);
            }
        }

        return batch;
    }

    private void Charge(MissBatch batch, long frame, ReadOnlySpan<byte> ephemeral, long now) =>
        batch.Add(frame, ephemeral, _server.Resolution, ref _missLimiter, now);

    /// <summary>The session is ending: a round's batch goes back (its resolution has completed: the read loop waited for it).</summary>
    private void ReturnMisses()
    {
        if (_misses is { } batch)
        {
            _misses = null;
            _server.Resolution.Return(batch);
        }
    }
}
