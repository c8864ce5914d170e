using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // Access tokens: AUTH_TOKEN once per connection, then every sending-service request asks TryAuthorise.
    // Receiving (SEND to a local address, the owner commands) never needs a token.
    private AccessToken? _token;

    /// <summary>The token this connection presented, if any (a peer relay's token raises its resolution budget).</summary>
    internal AccessToken? Token => _token;

    private ValueTask HandleAuthToken(uint requestId, in ReadOnlySequence<byte> body)
    {
        Span<byte> presented = stackalloc byte[AuthTokenRequest.MaxTokenBytes];
        var status = BodyReader.ReadAuthToken(body, presented, out var length);
        if (status != BodyStatus.Ok)
        {
            return FailBody(requestId, status, "AUTH_TOKEN body is token_len then that many printable ASCII bytes", "AUTH_TOKEN token_len must be 1 to 255");
        }

        switch (_server.Tokens.Authenticate(presented[..length], out var token))
        {
            case TokenCheck.Valid:
                // A second AUTH_TOKEN replaces the first: the connection acts for one token at a time.
                _token = token;
                _wantsConfig |= token!.Role == TokenRole.Rm; // an RM is told when the sending configuration changes
                (token.Role == TokenRole.Peer ? _server.Metrics.TokenAuthenticationsPeer : _server.Metrics.TokenAuthenticationsRm).Inc();
                return ReplyAsync(OutboxItem.Ok(requestId));
            case TokenCheck.Revoked:
                return Fail(requestId, ErrorCode.TokenRevoked, "this token was revoked by the relay's operator");
            default:
                return Fail(requestId, ErrorCode.TokenUnknown, "this relay did not issue that token");
        }
    }

    /// <summary>
    /// Whether this connection may make a sending-service request now: it presented a token of
    /// <paramref name="role"/> that is still valid and whose request rate has room. Otherwise
    /// <paramref name="refusal"/> is the reply to return (NOT_AUTHORISED, TOKEN_REVOKED or TOKEN_RATE_LIMITED).
    /// </summary>
    internal bool TryAuthorise(uint requestId, TokenRole role, out ValueTask refusal)
    {
        var token = _token;
        if (token is null || token.Role != role)
        {
            refusal = Fail(requestId, ErrorCode.NotAuthorised, role == TokenRole.Rm
                ? "the sending service needs AUTH_TOKEN with one of this relay's RM tokens"
                : "this needs AUTH_TOKEN with a peer relay token");
            return false;
        }

        if (token.IsRevoked)
        {
            refusal = Fail(requestId, ErrorCode.TokenRevoked, "this token was revoked by the relay's operator");
            return false;
        }

        if (!token.TryTakeRequest(_server.Time.GetTimestamp(), _server.Time.TimestampFrequency))
        {
            refusal = Fail(requestId, ErrorCode.TokenRateLimited, "this token's request rate is used up; retry later");
            return false;
        }

        refusal = default;
        return true;
    }
}
