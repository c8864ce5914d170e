using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// SEND handled end to end by a real <see cref="RelaySession"/> over in-memory pipes (no sockets):
/// frame parse, cached resolution, FASTER append (per-entry checksums on), group commit on disk, OK written back. The figure per
/// operation is one durable, acknowledged SEND.
/// </summary>
[MemoryDiagnoser]
public class EmbeddedSessionBenchmarks
{
    private const int Batch = 256;

    // A larger pipelined batch: what stays per SEND when per-commit and per-read costs are spread wider.
    private const int LargeBatch = 4096;
    private string _dataDir = "";
    private RelayServer _server = null!;
    private Pipe _toServer = null!;
    private Pipe _toClient = null!;
    private Task _session = Task.CompletedTask;
    private byte[] _sends = [];
    private byte[] _largeSends = [];

    [Params(1024, 16384)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dataDir = Path.Combine(Path.GetTempPath(), "edgerelay-bench-" + Guid.NewGuid().ToString("N"));
        var options = new EdgeRelayOptions();
        options.Storage.DataDir = _dataDir;

        // The benchmark sends millions of messages to one address and acks none: no quota may stop it.
        options.Storage.MaxPendingMessagesPerAddress = 100_000_000;
        options.Storage.MaxPendingBytesPerAddress = 1L << 50;
        options.Storage.MaxDiskBytes = 0;

        // Nor may the connection's SEND rate; it stays on (at a rate no run reaches) so its check is measured.
        options.Limits.SendsPerSecondPerConnection = 100_000_000;
        options.Limits.SendBurstPerConnection = 100_000_000;
        _server = RelayServer.StartAsync(options, TimeProvider.System, NullLoggerFactory.Instance).GetAwaiter().GetResult();

        var pool = new RecyclingMemoryPool();
        _toServer = new Pipe(new PipeOptions(pool, pauseWriterThreshold: 0, minimumSegmentSize: pool.MaxBufferSize));
        _toClient = new Pipe(new PipeOptions(pool, pauseWriterThreshold: 0, minimumSegmentSize: pool.MaxBufferSize));
        var connection = new DefaultConnectionContext("bench", new DuplexPipe(_toServer.Reader, _toClient.Writer), new DuplexPipe(_toClient.Reader, _toServer.Writer));
        _session = new RelaySession(_server, connection).RunAsync();

        // Handshake, one address, and one ephemeral address reused (the cache-hit path senders take).
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteHello(writer, 1);
        using var ownerKey = NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519);
        FrameWriter.WriteCreateAddress(writer, 2, ownerKey.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey), 0);
        Send(writer.WrittenSpan);
        ReadFrames(1);
        var created = ReadFrames(1);
        BodyReader.TryReadAddressCreated(new ReadOnlySequence<byte>(created), out var reply);
        var card = AddressCard.Decode(reply.Card.Span);
        var ephemeral = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(card, DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds(), ephemeral);

        var sends = new ArrayBufferWriter<byte>();
        var ciphertext = new byte[Payload];
        for (uint i = 0; i < Batch; i++)
        {
            FrameWriter.WriteSend(sends, 100 + i, ephemeral, ciphertext);
        }

        _sends = sends.WrittenSpan.ToArray();

        var large = new ArrayBufferWriter<byte>();
        for (uint i = 0; i < LargeBatch; i++)
        {
            FrameWriter.WriteSend(large, 100_000 + i, ephemeral, ciphertext);
        }

        _largeSends = large.WrittenSpan.ToArray();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task DurableSend()
    {
        await SendAsync(_sends);
        await ReadFramesAsync(Batch);
    }

    [Benchmark(OperationsPerInvoke = LargeBatch)]
    public async Task DurableSendLargeBatch()
    {
        await SendAsync(_largeSends);
        await ReadFramesAsync(LargeBatch);
    }

    private void Send(ReadOnlySpan<byte> bytes) => SendAsync(bytes.ToArray()).GetAwaiter().GetResult();

    private async Task SendAsync(byte[] bytes)
    {
        await _toServer.Writer.WriteAsync(bytes);
    }

    private byte[] ReadFrames(int count) => ReadFramesAsync(count).GetAwaiter().GetResult();

    /// <summary>Reads <paramref name="count"/> reply frames; returns the body of the last one.</summary>
    private async Task<byte[]> ReadFramesAsync(int count)
    {
        byte[] last = [];
        while (count > 0)
        {
            var result = await _toClient.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (count > 0 && FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body) == FrameParseStatus.Complete)
            {
                if (header.Type == FrameType.Error)
                {
                    throw new InvalidOperationException("The relay refused a benchmark request.");
                }

                if (count == 1)
                {
                    last = body.ToArray();
                }

                count--;
            }

            _toClient.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return last;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _toServer.Writer.Complete();
        _session.GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dataDir, recursive: true);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
