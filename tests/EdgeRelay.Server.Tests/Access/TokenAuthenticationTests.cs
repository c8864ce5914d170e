using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Access;

/// <summary>AUTH_TOKEN over a real relay: every outcome, its code, and that a refusal leaves the connection usable.</summary>
public sealed class TokenAuthenticationTests : IAsyncLifetime
{
    private TestRelay _relay = null!;

    private TokenStore Tokens => _relay.Host.Server.Tokens;

    public async Task InitializeAsync() => _relay = await TestRelay.StartAsync();

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    [Fact]
    public async Task An_issued_token_is_accepted_and_counted_by_role()
    {
        var rm = Tokens.Create("alice", TokenRole.Rm);
        var peer = Tokens.Create("relay-b", TokenRole.Peer);
        await using var first = await _relay.ConnectAsync();
        await using var second = await _relay.ConnectAsync();

        await first.AuthenticateTokenAsync(rm.Secret);
        await second.AuthenticateTokenAsync(peer.Secret);

        var metrics = await MetricsText();
        Assert.Contains("edgerelay_token_authentications_total{role=\"rm\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgerelay_token_authentications_total{role=\"peer\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_token_is_refused_and_the_connection_stays_usable()
    {
        var rm = Tokens.Create("alice", TokenRole.Rm);
        await using var client = await _relay.ConnectAsync();

        var ex = await Assert.ThrowsAsync<RelayException>(() => client.AuthenticateTokenAsync(rm.Secret[..^1] + (rm.Secret[^1] == 'A' ? 'B' : 'A')));
        Assert.Equal(ErrorCode.TokenUnknown, ex.Code);
        ex = await Assert.ThrowsAsync<RelayException>(() => client.AuthenticateTokenAsync("not-a-token"));
        Assert.Equal(ErrorCode.TokenUnknown, ex.Code);

        await client.AuthenticateTokenAsync(rm.Secret);
        await client.PingAsync();
    }

    [Fact]
    public async Task A_revoked_token_is_refused_with_its_own_code()
    {
        var rm = Tokens.Create("alice", TokenRole.Rm);
        Assert.True(Tokens.Revoke(rm.Token.Id));
        await using var client = await _relay.ConnectAsync();

        var ex = await Assert.ThrowsAsync<RelayException>(() => client.AuthenticateTokenAsync(rm.Secret));
        Assert.Equal(ErrorCode.TokenRevoked, ex.Code);
    }

    [Fact]
    public async Task A_token_the_cli_creates_while_the_relay_runs_works_at_once_and_its_revocation_reaches_the_relay()
    {
        // A second store on the same file stands for `edgerelay tokens` in another process.
        using var cli = TokenStore.Open(Tokens.Path, new EdgeRelayOptions().Access.DefaultLimits, TimeProvider.System);
        var issued = cli.Create("made-by-the-cli", TokenRole.Rm);
        await using var client = await _relay.ConnectAsync();
        await client.AuthenticateTokenAsync(issued.Secret);

        cli.Revoke(issued.Token.Id);
        await Eventually.TrueAsync(() => Tokens.List().Single(t => t.Id == issued.Token.Id).IsRevoked, "the relay saw the revocation through its file watcher");
        await using var later = await _relay.ConnectAsync();
        var ex = await Assert.ThrowsAsync<RelayException>(() => later.AuthenticateTokenAsync(issued.Secret));
        Assert.Equal(ErrorCode.TokenRevoked, ex.Code);
    }

    [Fact]
    public async Task Bodies_that_do_not_parse_get_their_codes_and_the_connection_stays_open()
    {
        using var raw = await RawConnection.ConnectAsync(_relay.Host.RelayEndPoint);

        await raw.SendRawAsync(Frame(1, [5, (byte)'a', (byte)'b'])); // declares 5, carries 2
        Assert.Equal(ErrorCode.MalformedFrame, await raw.ReadErrorAsync());
        await raw.SendRawAsync(Frame(2, [0])); // an empty token
        Assert.Equal(ErrorCode.InvalidArgument, await raw.ReadErrorAsync());
        await raw.SendRawAsync(Frame(3, [2, (byte)'a', 0x80])); // not printable ASCII
        Assert.Equal(ErrorCode.MalformedFrame, await raw.ReadErrorAsync());
        await raw.SendRawAsync(Frame(4, []));
        Assert.Equal(ErrorCode.MalformedFrame, await raw.ReadErrorAsync());

        var rm = Tokens.Create("alice", TokenRole.Rm);
        var secret = Encoding.ASCII.GetBytes(rm.Secret);
        await raw.SendRawAsync(Frame(5, [(byte)secret.Length, .. secret]));
        var (header, _) = await raw.ReadFrameAsync();
        Assert.Equal(FrameType.Ok, header.Type);
        Assert.Equal(5u, header.RequestId);
    }

    private static byte[] Frame(uint requestId, byte[] body)
    {
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        new FrameHeader(body.Length, FrameType.AuthToken, 0, requestId).Write(frame);
        body.CopyTo(frame, ProtocolConstants.HeaderLength);
        return frame;
    }

    private async Task<string> MetricsText()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://{_relay.Host.HttpEndPoint}/metrics");
    }
}
