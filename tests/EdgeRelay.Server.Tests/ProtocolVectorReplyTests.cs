using System.Security.Cryptography;
using System.Text;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The replies of docs/vectors/protocol-v1.txt that the relay's state alone decides, compared byte for byte
/// with what a running relay sends for the vectors' requests: a client checked against the file is checked
/// against the relay. The other replies carry a random id, the clock or the relay's capacity;
/// EdgeRelay.Protocol.Tests checks their layout against the codec.
/// </summary>
public sealed class ProtocolVectorReplyTests : IAsyncLifetime
{
    private readonly ProtocolVectors _vectors = ProtocolVectors.Load();
    private TestRelay _relay = null!;
    private BadInputWitness _witness = null!;

    public async Task InitializeAsync()
    {
        // An outbound queue of one byte cannot take the vector's 12-byte ciphertext: SEND_VIA is refused with
        // QUEUE_FULL before anything is queued, so nothing tries to reach the example endpoint. The batched mode
        // is off, as the vectors' MODE_UNAVAILABLE says.
        _relay = await TestRelay.StartAsync(o =>
        {
            o.Forwarding.MaxQueuedBytes = 1;
            o.Sending.BatchedDelay = TimeSpan.Zero;
        });
        _witness = await BadInputWitness.StoreAsync(_relay.Host.RelayEndPoint);
    }

    public async Task DisposeAsync()
    {
        await _witness.AssertSurvivesAsync(_relay.Host.RelayEndPoint);
        _witness.Dispose();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task A_connection_without_a_token_gets_the_vectors_refusals()
    {
        using var raw = await RawConnection.ConnectAsync(_relay.Host.RelayEndPoint);

        Assert.Equal(_vectors.Text("send_via.not_authorised_frame"), await ExchangeAsync(raw, "send_via.frame"));
        // This relay did not issue the vectors' token.
        Assert.Equal(_vectors.Text("auth_token.token_unknown_frame"), await ExchangeAsync(raw, "auth_token.frame"));
        await raw.AssertStillOpenAsync();
    }

    [Fact]
    public async Task With_the_vectors_token_issued_the_relay_answers_as_the_vectors_say()
    {
        IssueTheVectorsToken();
        using var raw = await RawConnection.ConnectAsync(_relay.Host.RelayEndPoint);

        Assert.Equal(_vectors.Text("auth_token.ok_frame"), await ExchangeAsync(raw, "auth_token.frame"));
        Assert.Equal(_vectors.Text("watch_sends.ok_frame"), await ExchangeAsync(raw, "watch_sends.frame"));
        Assert.Equal(_vectors.Text("send_via.queue_full_frame"), await ExchangeAsync(raw, "send_via.frame"));
        Assert.Equal(_vectors.Text("send_via_mode.mode_unavailable_frame"), await ExchangeAsync(raw, "send_via_mode.frame"));
        // No upload of that id is in progress here: what a commit gets once it has happened.
        Assert.Equal(_vectors.Text("upload.commit_unknown_frame"), await ExchangeAsync(raw, "upload.commit_frame"));

        Assert.Equal(0, _relay.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages);
        await raw.AssertStillOpenAsync();
    }

    /// <summary>Sends the vector <paramref name="request"/> as it is and returns the relay's reply, header and body, in hex.</summary>
    private async Task<string> ExchangeAsync(RawConnection raw, string request)
    {
        await raw.SendRawAsync(_vectors.Bytes(request));
        var (header, body) = await raw.ReadFrameAsync();
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        header.Write(frame);
        body.CopyTo(frame, ProtocolConstants.HeaderLength);
        return Convert.ToHexStringLower(frame);
    }

    /// <summary>
    /// Writes the vectors' example token into the relay's token file as an operator's tool would (its public
    /// id, the SHA-256 of the whole token), since no relay can be made to issue a token of a chosen value.
    /// </summary>
    private void IssueTheVectorsToken()
    {
        var token = _vectors.Text("auth_token.token");
        var tokens = _relay.Host.Server.Tokens;
        TokenFile.Update(tokens.Path, file => file.Tokens.Add(new TokenFile.Record
        {
            Id = token.Substring(TokenStore.Prefix.Length, 16),
            Name = "protocol-vectors",
            Role = "rm",
            Hash = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(token))),
        }));
        tokens.Reload();
    }
}
