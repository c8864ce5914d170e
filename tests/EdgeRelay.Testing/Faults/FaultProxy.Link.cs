using System.Net.Sockets;

namespace EdgeRelay.Testing.Faults;

public sealed partial class FaultProxy
{
    /// <summary>One proxied connection: the client's socket, the target's (none for a blackholed one), a pump each way.</summary>
    private sealed class Link
    {
        private const int ChunkBytes = 16 * 1024;

        private readonly FaultProxy _proxy;
        private readonly Socket _client;
        private readonly Socket? _upstream;
        private readonly Lock _sync = new();
        private TaskCompletionSource? _upGate;
        private TaskCompletionSource? _downGate;
        private long _upCut = -1;
        private long _downCut = -1;
        private bool _stallAtBudget; // what the end of a budget does: a stall, or (false) a cut
        private int _reset;
        private volatile bool _blackholed;

        public Link(FaultProxy proxy, Socket client, Socket? upstream)
        {
            _proxy = proxy;
            _client = client;
            _upstream = upstream;
        }

        public Task Pumps { get; private set; } = Task.CompletedTask;

        /// <summary>Once set, never cleared: bytes have been thrown away, so the stream could never be whole again.</summary>
        public bool Blackholed
        {
            get => _blackholed;
            set => _blackholed |= value;
        }

        public void Start()
        {
            var up = Task.Run(() => PumpAsync(_client, _upstream, FaultDirection.Up));
            var down = _upstream is null ? Task.CompletedTask : Task.Run(() => PumpAsync(_upstream, _client, FaultDirection.Down));
            Pumps = FinishAsync(up, down);
        }

        public void Pause(FaultDirection direction)
        {
            lock (_sync)
            {
                if (direction.HasFlag(FaultDirection.Up))
                {
                    _upGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                if (direction.HasFlag(FaultDirection.Down))
                {
                    _downGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }

        public void Resume(FaultDirection direction)
        {
            TaskCompletionSource? up = null, down = null;
            lock (_sync)
            {
                if (direction.HasFlag(FaultDirection.Up))
                {
                    (up, _upGate) = (_upGate, null);
                }

                if (direction.HasFlag(FaultDirection.Down))
                {
                    (down, _downGate) = (_downGate, null);
                }
            }

            up?.TrySetResult();
            down?.TrySetResult();
        }

        public void ArmCut(long bytes, FaultDirection direction, bool stall)
        {
            lock (_sync)
            {
                _upCut = direction.HasFlag(FaultDirection.Up) ? bytes : -1;
                _downCut = direction.HasFlag(FaultDirection.Down) ? bytes : -1;
                _stallAtBudget = stall;
            }
        }

        public void DisarmCut()
        {
            lock (_sync)
            {
                _upCut = -1;
                _downCut = -1;
            }
        }

        /// <summary>An RST to both ends; ends the pumps. Idempotent.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0)
            {
                return;
            }

            ResetSocket(_client);
            if (_upstream is not null)
            {
                ResetSocket(_upstream);
            }

            Resume(FaultDirection.Both); // a pump parked on a stall wakes, and finds its socket gone
        }

        /// <summary>Closes with linger 0, which sends an RST instead of a FIN.</summary>
        public static void ResetSocket(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already closed by the other side.
            }

            socket.Dispose();
        }

        private async Task FinishAsync(Task up, Task down)
        {
            await Task.WhenAll(up, down);
            _client.Dispose();
            _upstream?.Dispose();
            _proxy.Remove(this);
        }

        private Task Gate(FaultDirection direction)
        {
            lock (_sync)
            {
                return (direction == FaultDirection.Up ? _upGate : _downGate)?.Task ?? Task.CompletedTask;
            }
        }

        private async Task PumpAsync(Socket from, Socket? to, FaultDirection direction)
        {
            var buffer = new byte[ChunkBytes];
            try
            {
                while (true)
                {
                    // Before the read, so that a stalled direction reads nothing and the sender's writes back up.
                    await Gate(direction);
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0)
                    {
                        await SilentAsync();
                        if (!Blackholed)
                        {
                            to?.Shutdown(SocketShutdown.Send); // a FIN goes on as a FIN; a blackhole swallows it too
                        }

                        return;
                    }

                    // And after it: what was read as the stall began is held, not forwarded.
                    await HoldAsync(direction, read);
                    if (Blackholed || to is null)
                    {
                        Interlocked.Add(ref _proxy._discarded, read);
                        continue;
                    }

                    if (!await ForwardAsync(buffer.AsMemory(0, read), to, direction))
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // One side reset or closed: the other is reset too, as it would be end to end.
                await SilentAsync();
                Reset();
            }
        }

        /// <summary>
        /// Waits while either direction is stalled: an end of stream or a reset does not cross a silent connection
        /// either (a dropped flow delivers no RST). <see cref="Reset"/> by the proxy itself lifts the stall first.
        /// </summary>
        private async Task SilentAsync()
        {
            await Gate(FaultDirection.Up);
            await Gate(FaultDirection.Down);
        }

        /// <summary>Waits while <paramref name="direction"/> is stalled, counting <paramref name="bytes"/> as held meanwhile.</summary>
        private async Task HoldAsync(FaultDirection direction, int bytes)
        {
            var gate = Gate(direction);
            if (gate.IsCompleted)
            {
                return;
            }

            Interlocked.Add(ref _proxy._held, bytes);
            try
            {
                await gate;
            }
            finally
            {
                Interlocked.Add(ref _proxy._held, -bytes);
            }
        }

        /// <summary>Forwards a chunk within the rate, latency, cut or stall budget; false once a cut has reset the link.</summary>
        private async Task<bool> ForwardAsync(ReadOnlyMemory<byte> bytes, Socket to, FaultDirection direction)
        {
            while (!bytes.IsEmpty)
            {
                await HoldAsync(direction, bytes.Length); // a stall budget may have run out within this chunk
                var rate = _proxy.BytesPerSecond;
                var latency = _proxy.Latency;
                var piece = rate > 0 ? bytes[..Math.Min(bytes.Length, Math.Max(1, rate / 20))] : bytes; // about 20 pieces a second
                var budget = TakeCutBudget(direction, piece.Length);
                piece = piece[..(int)Math.Min(piece.Length, budget)];
                var wait = latency + (rate > 0 ? TimeSpan.FromSeconds((double)piece.Length / rate) : TimeSpan.Zero);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _proxy._time, _proxy._stop.Token);
                }

                if (!piece.IsEmpty)
                {
                    // Counted before the send, so that a test that has read the bytes finds them counted.
                    Interlocked.Add(ref direction == FaultDirection.Up ? ref _proxy._bytesUp : ref _proxy._bytesDown, piece.Length);
                    await to.SendAsync(piece, SocketFlags.None);
                }

                if (budget < int.MaxValue && BudgetSpent(direction, out var stall))
                {
                    if (stall)
                    {
                        Pause(FaultDirection.Both); // the whole connection goes silent
                        bytes = bytes[piece.Length..];
                        continue;
                    }

                    Interlocked.Increment(ref _proxy._cut);
                    Interlocked.Increment(ref _proxy._reset);
                    Reset();
                    return false;
                }

                bytes = bytes[piece.Length..];
            }

            return true;
        }

        /// <summary>How many of <paramref name="wanted"/> bytes may pass before the cut (int.MaxValue when none is armed); takes them from the budget.</summary>
        private long TakeCutBudget(FaultDirection direction, int wanted)
        {
            lock (_sync)
            {
                ref var cut = ref direction == FaultDirection.Up ? ref _upCut : ref _downCut;
                if (cut < 0)
                {
                    return int.MaxValue;
                }

                var take = Math.Min(cut, wanted);
                cut -= take;
                return take;
            }
        }

        /// <summary>Whether the budget of <paramref name="direction"/> is used up; a stall budget is then disarmed (the stall stays until lifted).</summary>
        private bool BudgetSpent(FaultDirection direction, out bool stall)
        {
            lock (_sync)
            {
                ref var budget = ref direction == FaultDirection.Up ? ref _upCut : ref _downCut;
                stall = _stallAtBudget;
                if (budget != 0)
                {
                    return false;
                }

                if (stall)
                {
                    budget = -1;
                }

                return true;
            }
        }
    }
}
