using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Addressing.Tests;

/// <summary>
/// The addressing groups of docs/vectors/protocol-v1.txt (HELLO, the card, alternative endpoints, the ephemeral address, SEND): this
/// implementation must compute every value of them, byte for byte, from the inputs they list, and read back
/// what they hold. The sending service's groups are checked in EdgeRelay.Protocol.Tests
/// (<c>SendingServiceVectorTests</c>). A changed value is a protocol change: the file is edited by hand,
/// never rewritten from this code, so that the code cannot agree with a mistake of its own.
/// </summary>
public class ProtocolVectorTests
{
    /// <summary>The groups this class checks, in file order.</summary>
    private static readonly string[] Groups = ["hello", "hello_reply", "card", "endpoints", "ephemeral", "send"];

    [Fact]
    public void Every_vector_of_these_groups_is_what_this_implementation_computes()
    {
        var computed = Compute();
        var file = ProtocolVectors.Load().Entries.Where(e => Groups.Contains(ProtocolVectors.GroupOf(e.Key))).ToList();
        Assert.Equal(computed.Select(v => v.Key), file.Select(v => v.Key));
        foreach (var (key, value) in computed)
        {
            Assert.True(file.First(f => f.Key == key).Value == value, $"{key}: the file says {file.First(f => f.Key == key).Value}, this implementation {value}");
        }
    }

    [Fact]
    public void The_vectors_read_back_to_their_inputs()
    {
        var v = ProtocolVectors.Load().Entries.ToDictionary(p => p.Key, p => p.Value);

        var hello = Sequence(v["hello.frame"]);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref hello, 64, out var helloHeader, out var helloBody));
        Assert.Equal((FrameType.Hello, 1u), (helloHeader.Type, helloHeader.RequestId));
        Assert.True(BodyReader.TryReadHello(helloBody, out var request));
        Assert.Equal((ProtocolConstants.HelloMagic, (ushort)1, (ushort)1), (request.Magic, request.MinVersion, request.MaxVersion));

        var reply = Sequence(v["hello_reply.frame"]);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref reply, 4096, out _, out var replyBody));
        Assert.True(BodyReader.TryReadServerInfo(replyBody, out var info));
        Assert.Equal(v["hello_reply.service_key"], Convert.ToHexStringLower(info.ServicePublicKey.Span));
        Assert.Equal(v["hello_reply.tls_pin"], Convert.ToHexStringLower(info.TlsPin.Span));

        var card = AddressCard.Parse(Encoding.ASCII.GetString(Convert.FromHexString(v["card.text"])));
        Assert.Equal(v["card.binary"], Convert.ToHexStringLower(card.ToArray()));

        // A service on several nodes: the card and HELLO_REPLY name the alternatives in order, after the main endpoint.
        string[] alternatives = [v["endpoints.alternative_1"], v["endpoints.alternative_2"]];
        var several = AddressCard.Parse(Encoding.ASCII.GetString(Convert.FromHexString(v["endpoints.card_text"])));
        Assert.Equal(v["endpoints.card_binary"], Convert.ToHexStringLower(several.ToArray()));
        Assert.Equal([card.Endpoint, .. alternatives], several.Endpoints);
        Assert.Equal(card.Aid, several.Aid);
        Assert.Equal(card.Extensions[0].Value.ToArray(), several.Extensions[0].Value.ToArray());
        var severalReply = Sequence(v["endpoints.hello_reply_frame"]);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref severalReply, 4096, out _, out var severalBody));
        Assert.True(BodyReader.TryReadServerInfo(severalBody, out var severalInfo));
        Assert.Equal(info.Endpoint, severalInfo.Endpoint);
        Assert.Equal(info.TlsPin.ToArray(), severalInfo.TlsPin.ToArray());
        Assert.Equal(alternatives, severalInfo.AlternativeEndpoints);

        Assert.True(EphemeralAddress.TryOpen(Convert.FromHexString(v["ephemeral.service_private_key"]), Convert.FromHexString(v["ephemeral.address"]), out var aid, out var notAfter));
        Assert.Equal(v["ephemeral.aid"], Hex(aid));
        Assert.Equal(long.Parse(v["ephemeral.not_after"], System.Globalization.CultureInfo.InvariantCulture), notAfter);

        var send = Sequence(v["send.frame"]);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref send, 4096, out _, out var sendBody));
        var ephemeral = new byte[EphemeralAddress.Length];
        Assert.True(BodyReader.TryReadSend(sendBody, ephemeral, out var ciphertext));
        Assert.Equal(v["ephemeral.address"], Convert.ToHexStringLower(ephemeral));
        Assert.Equal(v["send.ciphertext"], Convert.ToHexStringLower(ciphertext.ToArray()));
    }

    /// <summary>Every vector, in file order: inputs first, then what they give.</summary>
    private static List<KeyValuePair<string, string>> Compute()
    {
        var values = new List<KeyValuePair<string, string>>();
        void Add(string key, string value) => values.Add(new(key, value));
        static string Frame(Action<ArrayBufferWriter<byte>> write)
        {
            var writer = new ArrayBufferWriter<byte>();
            write(writer);
            return Convert.ToHexStringLower(writer.WrittenSpan);
        }

        // The relay's service key, derived per RFC 9180 DeriveKeyPair from a fixed seed; its TLS pin and the
        // connection's nonce are fixed bytes.
        var serviceIkm = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        var servicePrivate = new byte[32];
        var servicePublic = new byte[32];
        Hpke.DeriveKeyPair(serviceIkm, servicePrivate, servicePublic);
        var nonce = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var pin = Enumerable.Range(0, 32).Select(i => (byte)(0xF0 ^ i)).ToArray();
        const string endpoint = "relay.example.org:7400";

        Add("hello.frame", Frame(w => FrameWriter.WriteHello(w, 1)));

        var info = new ServerInfo
        {
            Version = 1,
            MaxCiphertext = 16384,
            MaxRequestBody = 21506,
            MaxReplyBody = 1 << 20,
            MaxPullCount = 256,
            MaxInFlight = 1024,
            DefaultAddressLifetimeSeconds = 30 * 86400,
            MaxAddressLifetimeSeconds = 365 * 86400,
            ServicePublicKey = servicePublic,
            AuthNonce = nonce,
            Endpoint = endpoint,
            TlsPin = pin,
        };
        Add("hello_reply.service_key", Convert.ToHexStringLower(servicePublic));
        Add("hello_reply.auth_nonce", Convert.ToHexStringLower(nonce));
        Add("hello_reply.tls_pin", Convert.ToHexStringLower(pin));
        Add("hello_reply.endpoint", endpoint);
        Add("hello_reply.frame", Frame(w => FrameWriter.WriteServerInfo(w, 1, info)));

        var aid = new AddressId(0x0011223344556677UL, 0x8899AABBCCDDEEFFUL);
        const long expiresAt = 1_800_000_000;
        var card = new AddressCard(aid, expiresAt, servicePublic, endpoint, [new AddressCardExtension(ProtocolConstants.TlsPinExtension, pin)]);
        Add("card.aid", Hex(aid));
        Add("card.expires_at", expiresAt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("card.binary", Convert.ToHexStringLower(card.ToArray()));
        Add("card.text", Convert.ToHexStringLower(Encoding.ASCII.GetBytes(card.ToString())));

        string[] alternatives = ["relay-b.example.org:7400", "[2001:db8::7]:7400"];
        var several = new AddressCard(aid, expiresAt, servicePublic, endpoint, [card.Extensions[0], .. alternatives.Select(AddressCard.AlternativeEndpoint)]);
        Add("endpoints.alternative_1", alternatives[0]);
        Add("endpoints.alternative_2", alternatives[1]);
        Add("endpoints.card_binary", Convert.ToHexStringLower(several.ToArray()));
        Add("endpoints.card_text", Convert.ToHexStringLower(Encoding.ASCII.GetBytes(several.ToString())));
        Add("endpoints.hello_reply_frame", Frame(w => FrameWriter.WriteServerInfo(w, 1, info with { AlternativeEndpoints = alternatives })));

        // The sender's one-time HPKE key, from a fixed seed instead of fresh randomness.
        var ephemeralIkm = Enumerable.Range(0, 32).Select(i => (byte)(0x50 + i)).ToArray();
        var ephemeralPrivate = new byte[32];
        var ephemeralPublic = new byte[32];
        Hpke.DeriveKeyPair(ephemeralIkm, ephemeralPrivate, ephemeralPublic);
        const long notAfter = 1_799_990_000;
        var plaintext = new byte[24];
        aid.Write(plaintext);
        BinaryPrimitives.WriteUInt64BigEndian(plaintext.AsSpan(16), notAfter);
        var address = new byte[EphemeralAddress.Length];
        address[0] = EphemeralAddress.Version;
        Assert.True(Hpke.SealWithEphemeralKey(ephemeralPrivate, servicePublic, Encoding.ASCII.GetBytes("EdgeRelay v1 ephemeral address"), [], plaintext, address.AsSpan(1, 32), address.AsSpan(33)));
        Add("ephemeral.service_ikm", Convert.ToHexStringLower(serviceIkm));
        Add("ephemeral.service_private_key", Convert.ToHexStringLower(servicePrivate));
        Add("ephemeral.service_public_key", Convert.ToHexStringLower(servicePublic));
        Add("ephemeral.sender_ikm", Convert.ToHexStringLower(ephemeralIkm));
        Add("ephemeral.sender_private_key", Convert.ToHexStringLower(ephemeralPrivate));
        Add("ephemeral.sender_public_key", Convert.ToHexStringLower(ephemeralPublic));
        Add("ephemeral.aid", Hex(aid));
        Add("ephemeral.not_after", notAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("ephemeral.plaintext", Convert.ToHexStringLower(plaintext));
        Add("ephemeral.address", Convert.ToHexStringLower(address));

        var ciphertext = "hello, relay"u8.ToArray();
        Add("send.ciphertext", Convert.ToHexStringLower(ciphertext));
        Add("send.frame", Frame(w => FrameWriter.WriteSend(w, 2, address, ciphertext)));
        Add("send.ok_frame", Frame(w => FrameWriter.WriteOk(w, 2)));
        Add("send.rate_limited_frame", Frame(w => FrameWriter.WriteError(w, 2, ErrorCode.RateLimited, "slow down")));
        return values;
    }

    private static string Hex(AddressId aid)
    {
        var bytes = new byte[16];
        aid.Write(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    private static ReadOnlySequence<byte> Sequence(string hex) => new(Convert.FromHexString(hex));
}
