using System.Net;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The ceiling: the same client, framing and payloads as <see cref="EdgeRelayTarget"/>, against
/// <see cref="RawSinkServer"/> (in-process) or anything at <c>--endpoint</c> that answers OK to everything.
/// </summary>
internal sealed class RawSinkTarget : ILoadTarget
{
    private RawSinkServer? _server;
    private IPEndPoint? _endPoint;
    private ReadOnlyMemory<byte>[] _ephemeralAddresses = [];
    private int _inFlight;

    public string Name => TargetCatalog.RawSink;

    public string Label => TargetCatalog.RawSink;

    public string Durability => "none: answers OK and discards";

    public string Description { get; private set; } = TargetCatalog.RawSink;

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        _inFlight = settings.InFlight;
        if (settings.Endpoint is null)
        {
            _server = await RawSinkServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken);
            _endPoint = _server.EndPoint;
            Description = $"raw-sink in-process on {_endPoint}";
        }
        else
        {
            _endPoint = await Endpoints.ResolveAsync(settings.Endpoint, settings.AllowRemote, cancellationToken);
            Description = $"raw-sink at {settings.Endpoint} ({_endPoint})";
        }

        await RelayClientConnection.CheckServerAsync(_endPoint, settings.PayloadBytes, cancellationToken);

        // The sink opens nothing, so the addresses only need the right length and version byte; random
        // bytes keep the frames byte-for-byte like the relay's.
        _ephemeralAddresses = new ReadOnlyMemory<byte>[settings.Queues];
        for (int i = 0; i < _ephemeralAddresses.Length; i++)
        {
            var address = new byte[ProtocolConstants.EphemeralAddressLength];
            Random.Shared.NextBytes(address);
            address[0] = 1;
            _ephemeralAddresses[i] = address;
        }

        log(Description);
    }

    public async Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken) =>
        await RelayClientConnection.ConnectAsync(
            _endPoint ?? throw new InvalidOperationException("Not started."), _inFlight, _ephemeralAddresses, cancellationToken);

    public LoadError Classify(Exception error) => RelayClientConnection.Classify(error);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
