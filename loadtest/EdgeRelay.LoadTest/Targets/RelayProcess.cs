using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using EdgeRelay.Server;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The relay executable built with this generator (<c>edgerelay.dll</c>, which the generator's reference to
/// src/EdgeRelay puts beside it, with its runtimeconfig.json and deps.json) run as a child process
/// under the dotnet host, for <c>--relay-host process</c>. A process of its own gives it its own GC heap and
/// CPU account, so what it spends per message can be told from what the generator spends.
/// </summary>
internal static class RelayProcess
{
    public const string AssemblyFileName = "edgerelay.dll";

    /// <summary>The relay's own drain (Relay:ShutdownTimeout, 10 s by default) and final commit, with room to spare.</summary>
    public static readonly TimeSpan StopGracePeriod = TimeSpan.FromSeconds(20);

    /// <summary>One /healthz probe; the start as a whole is bounded by <see cref="PeerProcess.StartTimeout"/>.</summary>
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>
    /// Starts the relay on two free loopback ports (relay protocol, then HTTP) with a temporary data directory,
    /// and returns once its <c>/healthz</c> answers. It is stopped with SIGTERM (it drains), killed only if it
    /// does not exit within <see cref="StopGracePeriod"/>, and its directory deleted, when disposed.
    /// </summary>
    /// <param name="options">The relay's options for a data directory and its two endpoints ("127.0.0.1:port").</param>
    /// <param name="extraArguments">Further options (<c>--Section:Key=Value</c>), after those: they win.</param>
    public static Task<PeerProcess> StartAsync(Func<string, string, string, EdgeRelayOptions> options, CancellationToken cancellationToken, IEnumerable<string>? extraArguments = null)
    {
        var extra = extraArguments?.ToArray() ?? [];
        var assembly = Path.Combine(AppContext.BaseDirectory, AssemblyFileName);
        var runtimeConfig = Path.ChangeExtension(assembly, ".runtimeconfig.json");
        if (!File.Exists(assembly) || !File.Exists(runtimeConfig))
        {
            throw new LoadTestException(
                $"{assembly} or its runtimeconfig.json is missing: building the load generator puts the relay beside it; rebuild it, or pass --relay-host in-process.");
        }

        var host = FindDotnetHost()
            ?? throw new LoadTestException("The dotnet host was not found (not in DOTNET_HOST_PATH, beside the shared runtime, or on PATH) to run the relay; pass --relay-host in-process, or put dotnet on PATH.");
        return PeerProcess.StartAsync(
            new PeerLaunch
            {
                Executable = host,
                Name = "edgerelay",
                Ports = 2,
                Arguments = (ports, dir) => ["exec", assembly, .. Arguments(options(dir, Loopback(ports[0]), Loopback(ports[1]))), .. extra],
                IsReadyAsync = (relay, token) => IsHealthyAsync(HttpEndPoint(relay), token),
                StopGracePeriod = StopGracePeriod,
                WithheldEnvironmentPrefixes = ["EDGERELAY_"],
            },
            cancellationToken);
    }

    public static IPEndPoint HttpEndPoint(PeerProcess relay) => relay.EndPointAt(1);

    public static Uri MetricsUrl(PeerProcess relay) => new($"http://{HttpEndPoint(relay)}/metrics");

    /// <summary>
    /// The dotnet host (muxer): where the SDK says it is (DOTNET_HOST_PATH, set for the programs it runs), else
    /// the one of the runtime this generator runs on, else the first on PATH.
    /// </summary>
    public static string? FindDotnetHost()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        // The shared runtime lives in <root>/shared/Microsoft.NETCore.App/<version>/, and the host in <root>.
        var beside = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", name));
        return File.Exists(beside) ? beside : PeerProcess.FindExecutable(name);
    }

    /// <summary>
    /// The command line for what a run changes from the relay's defaults. Logging drops to warnings: the
    /// in-process relay logs nothing, and a child's console output is only read when it fails to start.
    /// </summary>
    private static IEnumerable<string> Arguments(EdgeRelayOptions options)
    {
        var c = CultureInfo.InvariantCulture;
        yield return "--Relay:Endpoint=" + options.Relay.Endpoint;
        yield return "--Http:Endpoint=" + options.Http.Endpoint;
        yield return "--Storage:DataDir=" + options.Storage.DataDir;
        yield return "--Storage:MaxPendingMessagesPerAddress=" + options.Storage.MaxPendingMessagesPerAddress.ToString(c);
        yield return "--Storage:MaxPendingBytesPerAddress=" + options.Storage.MaxPendingBytesPerAddress.ToString(c);
        yield return "--Storage:MaxDiskBytes=" + options.Storage.MaxDiskBytes.ToString(c);
        yield return "--Limits:MaxConnections=" + options.Limits.MaxConnections.ToString(c);
        yield return "--Limits:MaxConnectionsPerIp=" + options.Limits.MaxConnectionsPerIp.ToString(c);
        yield return "--Limits:SendsPerSecondPerConnection=" + options.Limits.SendsPerSecondPerConnection.ToString(c);
        yield return "--Limits:SignatureChecksPerSecondPerConnection=" + options.Limits.SignatureChecksPerSecondPerConnection.ToString(c);
        yield return "--Limits:SignatureChecksPerSecond=" + options.Limits.SignatureChecksPerSecond.ToString(c);
        yield return "--Log:MinimumLevel=Warning";
    }

    private static string Loopback(int port) => "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);

    private static async Task<bool> IsHealthyAsync(IPEndPoint http, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri($"http://{http}/healthz"), cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
