using System.Buffers;
using System.Security.Cryptography;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    /// <summary>The AUTH challenge of this connection: fresh per connection so a signature cannot be replayed elsewhere.</summary>
    private readonly byte[] _authNonce = RandomNumberGenerator.GetBytes(ProtocolConstants.NonceLength);

    private ValueTask HandleHello(uint requestId, in ReadOnlySequence<byte> body)
    {
        // A HELLO of another length is a malformed frame like any other (the connection stays open and may
        // HELLO again within the handshake timeout); a well-formed one that is not ours, or that shares no
        // version with us, ends the connection.
        if (!BodyReader.TryReadHello(body, out var hello))
        {
            return Fail(requestId, ErrorCode.MalformedFrame, "HELLO body must be 8 bytes");
        }

        if (hello.Magic != ProtocolConstants.HelloMagic)
        {
            return FailConnection(ErrorCode.UnsupportedVersion, "not an EdgeRelay HELLO");
        }

        if (hello.MinVersion > ProtocolConstants.Version || hello.MaxVersion < ProtocolConstants.Version)
        {
            return FailConnection(ErrorCode.UnsupportedVersion, "this server speaks protocol version 1 only");
        }

        _handshakeDone = true;
        var options = _server.Options.Relay;
        var info = new ServerInfo
        {
            Version = ProtocolConstants.Version,
            MaxCiphertext = options.MaxCiphertextBytes,
            MaxRequestBody = _server.MaxRequestBody,
            MaxReplyBody = options.MaxReplyBytes,
            MaxPullCount = options.MaxPullCount,
            MaxInFlight = options.MaxInFlightPerConnection,
            DefaultAddressLifetimeSeconds = (uint)options.DefaultAddressLifetime.TotalSeconds,
            MaxAddressLifetimeSeconds = (uint)options.MaxAddressLifetime.TotalSeconds,
            ServicePublicKey = _server.ServiceKey.PublicKey.ToArray(),
            AuthNonce = _authNonce,
            Endpoint = _server.CardEndpoint,
            TlsPin = _server.TlsPin,
            AlternativeEndpoints = _server.AlternativeEndpoints,
        };
        var frame = new ArrayBufferWriter<byte>(256);
        FrameWriter.WriteServerInfo(frame, requestId, info);
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }
}
