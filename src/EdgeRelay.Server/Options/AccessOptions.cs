using EdgeRelay.Server.Access;

namespace EdgeRelay.Server;

/// <summary>Who may use the sending service, and the default limits of each access token (section "Access").</summary>
public sealed class AccessOptions
{
    /// <summary>The token file <c>edgerelay tokens</c> writes. Default: tokens.json in Storage:DataDir.</summary>
    public string? TokensFile { get; set; }

    /// <summary>Sending-service requests per second per token (every connection of the token together). Default 2,000.</summary>
    public int RequestsPerSecond { get; set; } = 2_000;

    /// <summary>Requests a token may make at once before its rate applies. Default 4,000.</summary>
    public int Burst { get; set; } = 4_000;

    /// <summary>Most messages per token in the outbound queue, not yet delivered or failed. Default 100,000.</summary>
    public long MaxQueuedMessages { get; set; } = 100_000;

    /// <summary>Most ciphertext bytes per token in the outbound queue. Default 1 GiB.</summary>
    public long MaxQueuedBytes { get; set; } = 1L << 30;

    /// <summary>Most attachment bytes per token, uploads in progress included. Default 10 GiB.</summary>
    public long MaxAttachmentBytes { get; set; } = 10L << 30;

    /// <summary>The token file's full path for a relay whose data folder is <paramref name="dataDir"/>.</summary>
    public string ResolveTokensFile(string dataDir) => Path.GetFullPath(TokensFile ?? Path.Combine(dataDir, "tokens.json"));

    /// <summary>The limits a token gets where its own are 0.</summary>
    public TokenLimits DefaultLimits => new()
    {
        RequestsPerSecond = RequestsPerSecond,
        Burst = Burst,
        MaxQueuedMessages = MaxQueuedMessages,
        MaxQueuedBytes = MaxQueuedBytes,
        MaxAttachmentBytes = MaxAttachmentBytes,
    };

    internal void Validate(List<string> problems)
    {
        if (TokensFile is not null && string.IsNullOrWhiteSpace(TokensFile))
        {
            problems.Add("Access:TokensFile: must name a file, or be left out for tokens.json in the data folder.");
        }

        RelayEndpointOptions.Range(problems, "Access:RequestsPerSecond", RequestsPerSecond, 1, 10_000_000);
        RelayEndpointOptions.Range(problems, "Access:Burst", Burst, 1, 10_000_000);
        RelayEndpointOptions.Range(problems, "Access:MaxQueuedMessages", MaxQueuedMessages, 1, 1_000_000_000);
        RelayEndpointOptions.Range(problems, "Access:MaxQueuedBytes", MaxQueuedBytes, 1, 1L << 50);
        RelayEndpointOptions.Range(problems, "Access:MaxAttachmentBytes", MaxAttachmentBytes, 1, 1L << 50);
    }
}
