using System.Reflection;
using System.Runtime.InteropServices;
using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// <c>edgerelay_build_info</c>: always 1, its labels say which relay version runs on which .NET runtime, so a
/// dashboard or an alert can tell versions apart across a fleet or across an upgrade (joined on instance).
/// </summary>
public sealed partial class RelayMetrics
{
    /// <summary>
    /// The relay's version: Directory.Build.props' <c>Version</c>, as the SDK writes it into the assembly's
    /// informational version, without the "+commit" build metadata the SDK appends (it would make every build
    /// a new series).
    /// </summary>
    public static string Version { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var informational = typeof(RelayMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return typeof(RelayMetrics).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        }

        var metadata = informational.IndexOf('+', StringComparison.Ordinal);
        return metadata < 0 ? informational : informational[..metadata];
    }

    private static void CreateBuildInfo(MetricFactory factory) =>
        factory.CreateGauge("edgerelay_build_info", "Always 1; the labels name the relay's version and the .NET runtime it runs on.", "version", "runtime")
            .WithLabels(Version, RuntimeInformation.FrameworkDescription)
            .Set(1);
}
