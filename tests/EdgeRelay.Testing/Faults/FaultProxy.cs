using System.Net;
using System.Net.Sockets;

namespace EdgeRelay.Testing.Faults;

/// <summary>Which way bytes go through a <see cref="FaultProxy"/>.</summary>
[Flags]
public enum FaultDirection
{
    /// <summary>From the connecting side (the client) to the target.</summary>
    Up = 1,

    /// <summary>From the target back to the client.</summary>
    Down = 2,

    Both = Up | Down,
}

/// <summary>What a <see cref="FaultProxy"/> has done so far, for assertions and reports.</summary>
/// <param name="Accepted">Connections accepted from clients (refused ones included).</param>
/// <param name="Open">Connections open now.</param>
/// <param name="Refused">Connections reset as soon as they were accepted (<see cref="FaultProxy.ResetNew"/>, or accepted as <see cref="FaultProxy.Refuse"/> closed the port).</param>
/// <param name="Reset">Open connections the proxy reset (<see cref="FaultProxy.ResetAll"/>, a cut).</param>
/// <param name="Cut">Connections reset by <see cref="FaultProxy.CutAfter"/> once their budget of bytes had passed.</param>
/// <param name="BytesUp">Bytes forwarded from clients to the target (counted as they are handed to the target's socket).</param>
/// <param name="BytesDown">Bytes forwarded from the target to clients (likewise).</param>
/// <param name="Discarded">Bytes read and thrown away by a blackhole.</param>
/// <param name="Held">Bytes read and held by a stall now: they go on when it lifts.</param>
public readonly record struct FaultProxyCounters(long Accepted, int Open, long Refused, long Reset, long Cut, long BytesUp, long BytesDown, long Discarded, long Held);

/// <summary>
/// A TCP proxy on loopback that relays to one target and breaks the network between them on demand, while the
/// test runs: blackhole (read and discard, never forward), refuse (nothing listens), stall (stop moving bytes
/// but keep the sockets open), reset (RST), slow (a rate and a latency per chunk), and a cut after a number of
/// bytes (an RST in the middle of whatever frame those bytes end in).
/// </summary>
/// <remarks>
/// <para>A fault set on the proxy applies to the connections open at that moment and to those accepted while it
/// lasts; <see cref="PassThrough"/> with <c>existingToo: false</c> lets new connections through while the old ones
/// keep their fault, which is how a flow dropped by a middlebox (a NAT entry gone) looks: the old connection
/// stays silent and open, a new one works.</para>
/// <para>A stall stops reading, so TCP's own flow control pushes back on the sender: once the socket buffers are
/// full its writes block, as they do when a peer stops reading or the path drops every packet. Bytes read just
/// before the stall are held, not lost, and go on when it lifts. A blackholed connection has lost bytes, so it
/// never forwards again (the stream would be corrupt); a real network never delivers half a stream either.</para>
/// <para>The slow mode waits on the <see cref="TimeProvider"/> given, so a test can hold it on a fake clock.</para>
/// </remarks>
public sealed partial class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TimeProvider _time;
    private readonly Lock _sync = new();
    private readonly List<Link> _links = [];
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private NewConnections _newMode = NewConnections.Forward;
    private FaultDirection _newStall;
    private long _newCut = -1;
    private FaultDirection _cutDirection = FaultDirection.Up;
    private bool _newCutStalls;
    private long _accepted, _refused, _reset, _cut, _bytesUp, _bytesDown, _discarded, _held;

    private FaultProxy(IPEndPoint target, TimeProvider time)
    {
        _target = target;
        _time = time;
    }

    private enum NewConnections
    {
        Forward,
        Blackhole,
        Reset,
    }

    /// <summary>Where clients connect: loopback, a port chosen by the system.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary><see cref="EndPoint"/> as "host:port", as address cards and SEND_VIA name endpoints.</summary>
    public string HostAndPort => EndPoint.ToString();

    /// <summary>The bytes per second each direction of each connection is held to (0: no limit).</summary>
    public int BytesPerSecond { get; private set; }

    /// <summary>The wait added before each chunk is forwarded.</summary>
    public TimeSpan Latency { get; private set; }

    public FaultProxyCounters Counters
    {
        get
        {
            lock (_sync)
            {
                return new(_accepted, _links.Count, _refused, _reset, _cut, Interlocked.Read(ref _bytesUp), Interlocked.Read(ref _bytesDown), Interlocked.Read(ref _discarded), Interlocked.Read(ref _held));
            }
        }
    }

    /// <summary>Starts a proxy to <paramref name="target"/>, passing everything through.</summary>
    public static FaultProxy Start(IPEndPoint target, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var proxy = new FaultProxy(target, time ?? TimeProvider.System);
        proxy.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        return proxy;
    }

    /// <summary>
    /// Ends every fault: stalled bytes move again, new connections are forwarded, a refusing proxy listens again
    /// (on the same port), the rate limit and latency are gone. With <paramref name="existingToo"/> false, only
    /// new connections are healed and the open ones keep their stall, blackhole or cut.
    /// </summary>
    public void PassThrough(bool existingToo = true)
    {
        lock (_sync)
        {
            _newMode = NewConnections.Forward;
            _newStall = 0;
            _newCut = -1;
            BytesPerSecond = 0;
            Latency = TimeSpan.Zero;
            if (existingToo)
            {
                foreach (var link in _links)
                {
                    link.Resume(FaultDirection.Both);
                    link.DisarmCut();
                }
            }

            if (_listener is null)
            {
                Listen(EndPoint);
            }
        }
    }

    /// <summary>
    /// Every connection, open or new, is read and its bytes thrown away in both directions; new ones never reach
    /// the target. Clients see a connection that accepts everything and answers nothing.
    /// </summary>
    public void Blackhole()
    {
        lock (_sync)
        {
            _newMode = NewConnections.Blackhole;
            foreach (var link in _links)
            {
                link.Blackholed = true;
            }
        }
    }

    /// <summary>
    /// Stops listening: new connections are refused by the system (an RST to their SYN). Open ones carry on. With
    /// <paramref name="refuse"/> false, listens again on the same port and changes no other fault.
    /// </summary>
    public void Refuse(bool refuse = true)
    {
        lock (_sync)
        {
            if (refuse)
            {
                _listener?.Dispose();
                _listener = null;
            }
            else if (_listener is null)
            {
                Listen(EndPoint);
            }
        }
    }

    /// <summary>Stops moving bytes in <paramref name="direction"/> on every open connection and on new ones, keeping the sockets open.</summary>
    public void Stall(FaultDirection direction = FaultDirection.Both)
    {
        lock (_sync)
        {
            _newStall |= direction;
            foreach (var link in _links)
            {
                link.Pause(direction);
            }
        }
    }

    /// <summary>Resets (RST) every open connection, both sides; returns how many. With <paramref name="newToo"/>, new ones are reset as they are accepted.</summary>
    public int ResetAll(bool newToo = false)
    {
        Link[] links;
        lock (_sync)
        {
            if (newToo)
            {
                _newMode = NewConnections.Reset;
            }

            links = [.. _links];
        }

        foreach (var link in links)
        {
            Interlocked.Increment(ref _reset);
            link.Reset();
        }

        return links.Length;
    }

    /// <summary>New connections are reset (RST) as soon as they are accepted, until <see cref="PassThrough"/>.</summary>
    public void ResetNew()
    {
        lock (_sync)
        {
            _newMode = NewConnections.Reset;
        }
    }

    /// <summary>Holds each direction of each connection to <paramref name="bytesPerSecond"/> (0: unlimited) and waits <paramref name="latency"/> before each chunk.</summary>
    public void Throttle(int bytesPerSecond, TimeSpan latency = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        lock (_sync)
        {
            BytesPerSecond = bytesPerSecond;
            Latency = latency;
        }
    }

    /// <summary>
    /// Each open connection, and each new one until <see cref="PassThrough"/>, forwards <paramref name="bytes"/>
    /// more bytes in <paramref name="direction"/> (counted from now, or from its start) and is then reset: the
    /// target or the client sees a frame cut short by an RST.
    /// </summary>
    public void CutAfter(long bytes, FaultDirection direction = FaultDirection.Up)
    {
        ArmBudget(bytes, direction, stall: false);
    }

    /// <summary>
    /// As <see cref="CutAfter"/>, but at the end of the budget the connection stalls both ways (<see cref="Stall"/>)
    /// instead: it goes silent in the middle of a frame, with the sockets open, until <see cref="PassThrough"/>.
    /// </summary>
    public void StallAfter(long bytes, FaultDirection direction = FaultDirection.Up) => ArmBudget(bytes, direction, stall: true);

    private void ArmBudget(long bytes, FaultDirection direction, bool stall)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_sync)
        {
            _newCut = bytes;
            _cutDirection = direction;
            _newCutStalls = stall;
            foreach (var link in _links)
            {
                link.ArmCut(bytes, direction, stall);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Link[] links;
        lock (_sync)
        {
            _listener?.Dispose();
            _listener = null;
            links = [.. _links];
        }

        await _stop.CancelAsync();
        foreach (var link in links)
        {
            link.Reset();
        }

        await _accepting;
        await Task.WhenAll(links.Select(l => l.Pumps));
        _stop.Dispose();
    }

    private void Listen(IPEndPoint at)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Listening again on the same port after Refuse: connections the proxy closed may still be in TIME_WAIT on it.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(at);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _listener = listener;
        var previous = _accepting;
        _accepting = Task.WhenAll(previous, Task.Run(() => AcceptLoopAsync(listener)));
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return; // Refuse or DisposeAsync closed the listener
            }

            client.NoDelay = true;
            NewConnections mode;
            lock (_sync)
            {
                _accepted++;

                // Accepted as Refuse closed the listener: refused after all, with a reset.
                mode = _listener == listener ? _newMode : NewConnections.Reset;
                if (mode == NewConnections.Reset)
                {
                    _refused++;
                }
            }

            if (mode == NewConnections.Reset)
            {
                Link.ResetSocket(client);
                continue;
            }

            Socket? upstream = null;
            if (mode == NewConnections.Forward)
            {
                upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await upstream.ConnectAsync(_target, _stop.Token);
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    // The target is down: the client sees what a client of the target would, a reset.
                    upstream.Dispose();
                    Link.ResetSocket(client);
                    continue;
                }
            }

            StartLink(client, upstream);
        }
    }

    private void StartLink(Socket client, Socket? upstream)
    {
        var link = new Link(this, client, upstream);
        lock (_sync)
        {
            if (_stop.IsCancellationRequested)
            {
                link.Reset(); // accepted as the proxy was disposed: its pumps would never be awaited
                return;
            }

            link.Blackholed = upstream is null || _newMode == NewConnections.Blackhole;
            link.Pause(_newStall);
            if (_newCut >= 0)
            {
                link.ArmCut(_newCut, _cutDirection, _newCutStalls);
            }

            _links.Add(link);
        }

        link.Start();
    }

    private void Remove(Link link)
    {
        lock (_sync)
        {
            _links.Remove(link);
        }
    }
}
