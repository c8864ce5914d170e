using System.Buffers;
using System.Threading.Channels;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

// The sending service (PROTOCOL.md 4.13, 4.14, 4.17): needs AuthenticateTokenAsync with an RM token first.
public sealed partial class RelayClient
{
    private readonly Channel<SendState> _sendStates = Channel.CreateUnbounded<SendState>(new UnboundedChannelOptions { SingleWriter = true });

    /// <summary>
    /// SEND_STATE pushes after <see cref="WatchSendsAsync"/>: each send of this connection's token as it settles
    /// (delivered, or failed with its code). Completes when the connection ends.
    /// </summary>
    public ChannelReader<SendState> SendStates => _sendStates.Reader;

    /// <summary>
    /// Hands a message to this relay for the relay at <paramref name="endpoint"/> (TLS pinned to
    /// <paramref name="pin"/> when given). Returns once it is durably queued here (<see cref="SendStateKind.Queued"/>
    /// with its send id), or, for this relay's own endpoint, once stored (<see cref="SendStateKind.Delivered"/>, id 0).
    /// </summary>
    public Task<SendState> SendViaAsync(string endpoint, ReadOnlyMemory<byte> pin, ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, CancellationToken cancellationToken = default) =>
        SendViaAsync(endpoint, pin, ephemeralAddress, ciphertext, SendingMode.Immediate, cancellationToken);

    /// <summary>
    /// As <see cref="SendViaAsync(string, ReadOnlyMemory{byte}, ReadOnlyMemory{byte}, ReadOnlyMemory{byte}, CancellationToken)"/>,
    /// forwarded in <paramref name="mode"/> (PROTOCOL.md 4.17): <see cref="SendingMode.Batched"/> holds the message
    /// until the relay's next batch boundary (at most the option's delay, <see cref="RelayStatus.SendingOptions"/>)
    /// and sends it with the others of that boundary in a random order. A mode the relay does not offer now throws
    /// <see cref="RelayException"/> with <see cref="ErrorCode.ModeUnavailable"/>; nothing is queued then.
    /// <see cref="SendingMode.Immediate"/> goes as a plain SEND_VIA, which every sending relay knows.
    /// </summary>
    public async Task<SendState> SendViaAsync(string endpoint, ReadOnlyMemory<byte> pin, ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> ciphertext, SendingMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        if (ephemeralAddress.Length != EphemeralAddress.Length)
        {
            throw new ArgumentException($"An ephemeral address is {EphemeralAddress.Length} bytes.", nameof(ephemeralAddress));
        }

        var reply = await RequestAsync(
            static (w, id, s) =>
            {
                if (s.mode == SendingMode.Immediate)
                {
                    FrameWriter.WriteSendVia(w, id, s.endpoint, s.pin.Span, s.ephemeralAddress.Span, s.ciphertext.Span);
                }
                else
                {
                    FrameWriter.WriteSendViaMode(w, id, s.mode, s.endpoint, s.pin.Span, s.ephemeralAddress.Span, s.ciphertext.Span);
                }
            },
            (endpoint, pin, ephemeralAddress, ciphertext, mode),
            cancellationToken);
        if (reply.Type != FrameType.SendQueued || !BodyReader.TryReadSendState(new ReadOnlySequence<byte>(reply.Body), out var entry))
        {
            throw Unexpected(reply);
        }

        return SendState.From(entry);
    }

    /// <summary>Sends to a card's owner through this relay: a fresh ephemeral address, the card's endpoint and pin.</summary>
    public Task<SendState> SendViaAsync(AddressCard card, ReadOnlyMemory<byte> ciphertext, TimeSpan? validFor = null, CancellationToken cancellationToken = default) =>
        SendViaAsync(card, ciphertext, SendingMode.Immediate, validFor, cancellationToken);

    /// <summary>Sends to a card's owner through this relay in <paramref name="mode"/>: a fresh ephemeral address, the card's endpoint and pin.</summary>
    /// <remarks>A batched message waits up to the relay's delay before it leaves: give <paramref name="validFor"/> room for it.</remarks>
    public Task<SendState> SendViaAsync(AddressCard card, ReadOnlyMemory<byte> ciphertext, SendingMode mode, TimeSpan? validFor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(card);
        return SendViaAsync(card.Endpoint, RelayTlsOptions.PinOf(card), DeriveEphemeralAddress(card, _time.GetUtcNow(), validFor), ciphertext, mode, cancellationToken);
    }

    /// <summary>The states of sends of this connection's token, in the order asked (256 ids per request; more are split).</summary>
    public async Task<IReadOnlyList<SendState>> GetSendStatesAsync(IReadOnlyCollection<long> sendIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sendIds);
        var ids = sendIds.ToArray();
        var states = new List<SendState>(ids.Length);
        for (var offset = 0; offset < ids.Length; offset += SendStatusRequest.MaxIds)
        {
            var chunk = ids.AsMemory(offset, Math.Min(SendStatusRequest.MaxIds, ids.Length - offset));
            var reply = await RequestAsync(static (w, id, c) => FrameWriter.WriteSendStatus(w, id, c.Span), chunk, cancellationToken);
            if (reply.Type != FrameType.SendStates || !BodyReader.TryReadSendStates(new ReadOnlySequence<byte>(reply.Body), out var entries) || entries.Length != chunk.Length)
            {
                throw Unexpected(reply);
            }

            states.AddRange(entries.Select(SendState.From));
        }

        return states;
    }

    /// <summary>
    /// Asks to be told, on <see cref="SendStates"/>, when sends of this connection's token settle. States that
    /// settled before this call are not pushed: ask <see cref="GetSendStatesAsync"/> after it to catch up.
    /// </summary>
    public async Task<ChannelReader<SendState>> WatchSendsAsync(CancellationToken cancellationToken = default)
    {
        ExpectOk(await RequestAsync(static (w, id, _) => FrameWriter.WriteEmpty(w, FrameType.WatchSends, id), 0, cancellationToken));
        return SendStates;
    }

    /// <summary>A SEND_STATE push, routed by type like DELIVER: it carries request id 0 and may overtake the reply to its SEND_VIA.</summary>
    private void DispatchSendState(in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadSendState(body, out var entry))
        {
            throw new RelayException(ErrorCode.MalformedFrame, "the server's SEND_STATE frame does not parse");
        }

        _sendStates.Writer.TryWrite(SendState.From(entry));
    }
}
