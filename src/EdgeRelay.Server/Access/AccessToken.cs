namespace EdgeRelay.Server.Access;

/// <summary>What a token lets its holder do.</summary>
public enum TokenRole
{
    /// <summary>One of the operator's relationship managers: may use the sending service (SEND_VIA, uploads).</summary>
    Rm = 1,

    /// <summary>Another relay forwarding to this one: gets the larger budget for fresh ephemeral addresses.</summary>
    Peer = 2,
}

/// <summary>The limits of one token; 0 in a field means "the relay's default" (section Access).</summary>
public sealed record TokenLimits
{
    /// <summary>Sending-service requests per second, across every connection of the token.</summary>
    public int RequestsPerSecond { get; init; }

    /// <summary>Requests that may arrive at once before the rate applies.</summary>
    public int Burst { get; init; }

    /// <summary>Most messages the token may have in the outbound queue, not yet delivered or failed.</summary>
    public long MaxQueuedMessages { get; init; }

    /// <summary>Most ciphertext bytes the token may have in the outbound queue.</summary>
    public long MaxQueuedBytes { get; init; }

    /// <summary>Most attachment bytes the token may have stored (uploads in progress included).</summary>
    public long MaxAttachmentBytes { get; init; }

    /// <summary>These limits with each 0 replaced by the relay's default.</summary>
    public TokenLimits OrDefaults(TokenLimits defaults) => new()
    {
        RequestsPerSecond = RequestsPerSecond > 0 ? RequestsPerSecond : defaults.RequestsPerSecond,
        Burst = Burst > 0 ? Burst : defaults.Burst,
        MaxQueuedMessages = MaxQueuedMessages > 0 ? MaxQueuedMessages : defaults.MaxQueuedMessages,
        MaxQueuedBytes = MaxQueuedBytes > 0 ? MaxQueuedBytes : defaults.MaxQueuedBytes,
        MaxAttachmentBytes = MaxAttachmentBytes > 0 ? MaxAttachmentBytes : defaults.MaxAttachmentBytes,
    };
}

/// <summary>
/// A token the operator issued, as the running relay knows it: who it is, what it may do, and what it uses
/// now (its request rate and its quotas, shared by every connection that presented it).
/// </summary>
/// <remarks>
/// One instance per token for the relay's lifetime: a reload of the token file updates it in place, so a
/// session holding it sees a revocation on its next request without looking the token up again.
/// </remarks>
public sealed class AccessToken
{
    private readonly Lock _rateLock = new();
    private double _rateTokens;
    private long _rateStamp;
    private long _queuedMessages;
    private long _queuedBytes;
    private long _attachmentBytes;
    private volatile TokenLimits _limits;
    private long _revokedAt;

    internal AccessToken(string id, string name, TokenRole role, long createdAt, TokenLimits limits)
    {
        Id = id;
        Name = name;
        Role = role;
        CreatedAt = createdAt;
        _limits = limits;
        _rateTokens = limits.Burst;
        _rateStamp = long.MinValue;
    }

    /// <summary>The public part of the token (printed by <c>tokens list</c>, used by <c>tokens revoke</c>).</summary>
    public string Id { get; }

    public string Name { get; }

    public TokenRole Role { get; }

    /// <summary>Unix seconds.</summary>
    public long CreatedAt { get; }

    /// <summary>The effective limits (defaults applied).</summary>
    public TokenLimits Limits => _limits;

    /// <summary>Unix seconds of the revocation; 0 while the token is valid.</summary>
    public long RevokedAt => Volatile.Read(ref _revokedAt);

    public bool IsRevoked => RevokedAt != 0;

    public long QueuedMessages => Volatile.Read(ref _queuedMessages);

    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    public long AttachmentBytes => Volatile.Read(ref _attachmentBytes);

    internal void Update(TokenLimits limits, long revokedAt)
    {
        _limits = limits;
        if (revokedAt != 0)
        {
            Interlocked.CompareExchange(ref _revokedAt, revokedAt, 0);
        }
    }

    /// <summary>
    /// Takes one request from the token's bucket (refilled at <see cref="TokenLimits.RequestsPerSecond"/>, holding
    /// at most <see cref="TokenLimits.Burst"/>); false when it is empty: TOKEN_RATE_LIMITED.
    /// </summary>
    /// <remarks>A lock rather than a lock-free bucket: the connections of one token are few, and the sending service's requests each cost a queue append anyway.</remarks>
    public bool TryTakeRequest(long timestamp, long frequency)
    {
        var limits = _limits;
        lock (_rateLock)
        {
            if (_rateStamp != long.MinValue && timestamp > _rateStamp)
            {
                _rateTokens = Math.Min(limits.Burst, _rateTokens + ((double)(timestamp - _rateStamp) * limits.RequestsPerSecond / frequency));
            }

            if (_rateStamp == long.MinValue || timestamp > _rateStamp)
            {
                _rateStamp = timestamp;
            }

            if (_rateTokens < 1)
            {
                return false;
            }

            _rateTokens--;
            return true;
        }
    }

    /// <summary>Reserves room in the outbound queue for one message of <paramref name="bytes"/>; false (QUOTA_TOKEN) when it would exceed a limit. Pair with <see cref="ReleaseQueued"/>.</summary>
    public bool TryReserveQueued(long bytes)
    {
        var limits = _limits;
        if (Interlocked.Increment(ref _queuedMessages) > limits.MaxQueuedMessages)
        {
            Interlocked.Decrement(ref _queuedMessages);
            return false;
        }

        if (Interlocked.Add(ref _queuedBytes, bytes) > limits.MaxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -bytes);
            Interlocked.Decrement(ref _queuedMessages);
            return false;
        }

        return true;
    }

    /// <summary>Counts a message that is already in the outbound queue (recovered after a restart), limits or not.</summary>
    public void AddQueued(long bytes)
    {
        Interlocked.Increment(ref _queuedMessages);
        Interlocked.Add(ref _queuedBytes, bytes);
    }

    /// <summary>A queued message left the queue (delivered or failed).</summary>
    public void ReleaseQueued(long bytes)
    {
        Interlocked.Decrement(ref _queuedMessages);
        Interlocked.Add(ref _queuedBytes, -bytes);
    }

    /// <summary>Reserves attachment space; false (QUOTA_TOKEN) beyond <see cref="TokenLimits.MaxAttachmentBytes"/>. Pair with <see cref="ReleaseAttachment"/>.</summary>
    public bool TryReserveAttachment(long bytes)
    {
        if (Interlocked.Add(ref _attachmentBytes, bytes) > _limits.MaxAttachmentBytes)
        {
            Interlocked.Add(ref _attachmentBytes, -bytes);
            return false;
        }

        return true;
    }

    /// <summary>Counts attachment bytes already stored (recovered after a restart), limits or not.</summary>
    public void AddAttachment(long bytes) => Interlocked.Add(ref _attachmentBytes, bytes);

    public void ReleaseAttachment(long bytes) => Interlocked.Add(ref _attachmentBytes, -bytes);
}
