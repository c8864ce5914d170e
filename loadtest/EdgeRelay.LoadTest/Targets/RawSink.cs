using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using EdgeRelay.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// An in-process Kestrel listener that speaks just enough protocol v1 to satisfy the client: HELLO gets a
/// HELLO_REPLY advertising the relay's default limits, every other frame an OK, bodies are discarded. No
/// storage, no crypto: what the client, Kestrel and loopback TCP alone can do, the machine's ceiling for
/// the relay's numbers.
/// </summary>
internal sealed class RawSinkServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RawSinkServer(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    /// <summary>The bound endpoint (the real port when asked for 0).</summary>
    public IPEndPoint EndPoint { get; }

    public static async Task<RawSinkServer> StartAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endPoint, options =>
            {
                listen = options;
                options.UseConnectionHandler<RawSinkConnectionHandler>();
            });
        });

        var app = builder.Build();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new RawSinkServer(app, (IPEndPoint)listen!.EndPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The sink's connection loop, on the model of the relay's: parse every whole frame of a read, answer each
/// in order, flush once per read. Nothing per connection lives in the handler (one instance serves all).
/// </summary>
internal sealed class RawSinkConnectionHandler : ConnectionHandler
{
    /// <summary>The relay's request-size limit for its default 16 KiB ciphertexts, so the sink refuses what the relay would.</summary>
    private static readonly int MaxRequestBody = ProtocolConstants.MaxRequestBody(ProtocolConstants.DefaultMaxCiphertext);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(connection.ConnectionClosed);
                var buffer = result.Buffer;
                bool replied = false;
                bool close = false;
                try
                {
                    while (true)
                    {
                        var status = FrameReader.TryRead(ref buffer, MaxRequestBody, out var header, out _);
                        if (status == FrameParseStatus.Incomplete)
                        {
                            break;
                        }

                        replied = true;
                        if (status != FrameParseStatus.Complete)
                        {
                            var code = status == FrameParseStatus.TooLarge ? ErrorCode.FrameTooLarge : ErrorCode.InvalidHeader;
                            FrameWriter.WriteError(output, header.RequestId, code, "refused by the raw sink");
                            close = true;
                            break;
                        }

                        if (header.Type == FrameType.Hello)
                        {
                            FrameWriter.WriteServerInfo(output, header.RequestId, CreateServerInfo(connection));
                        }
                        else
                        {
                            FrameWriter.WriteOk(output, header.RequestId);
                        }
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (replied)
                {
                    var flush = await output.FlushAsync(connection.ConnectionClosed);
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        return;
                    }
                }

                if (close || result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (ConnectionResetException)
        {
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The relay's defaults (EdgeRelayOptions), so the client sizes its window exactly as against the relay.</summary>
    private static ServerInfo CreateServerInfo(ConnectionContext connection) => new()
    {
        Version = ProtocolConstants.Version,
        MaxCiphertext = ProtocolConstants.DefaultMaxCiphertext,
        MaxRequestBody = MaxRequestBody,
        MaxReplyBody = 1024 * 1024,
        MaxPullCount = 256,
        MaxInFlight = 1024,
        DefaultAddressLifetimeSeconds = 30 * 24 * 3600,
        MaxAddressLifetimeSeconds = 365 * 24 * 3600,
        ServicePublicKey = new byte[ProtocolConstants.PublicKeyLength],
        AuthNonce = RandomNumberGenerator.GetBytes(ProtocolConstants.NonceLength),
        Endpoint = connection.LocalEndPoint?.ToString() ?? "127.0.0.1:0",
    };
}
