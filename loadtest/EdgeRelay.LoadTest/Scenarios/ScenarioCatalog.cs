using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>The scenarios <c>--scenario</c> accepts, and the target capability each needs.</summary>
internal static class ScenarioCatalog
{
    public const string Ingest = "ingest";

    public const string Pull = "pull";

    public const string Roundtrip = "roundtrip";

    public const string Push = "push";

    public static IReadOnlyList<string> Names { get; } = [Ingest, Pull, Roundtrip, Push];

    public static IScenario Create(string name, RunSettings settings) => name switch
    {
        Ingest => new IngestScenario(settings),
        Pull => new PullScenario(settings),
        Roundtrip => new DeliveryScenario(settings, DeliveryMode.Poll),
        Push => new DeliveryScenario(settings, DeliveryMode.Push),
        _ => throw new ArgumentException($"Unknown scenario '{name}'.", nameof(name)),
    };

    /// <summary>Why <paramref name="target"/> cannot run <paramref name="scenario"/>, or null when it can.</summary>
    public static string? UnsupportedReason(string scenario, string target)
    {
        var (capability, what) = scenario switch
        {
            Pull => (typeof(IPullTarget), "draining a queue by its receiver"),
            Roundtrip => (typeof(IPollDelivery), "a receiver that polls its queue"),
            Push => (typeof(IPushDelivery), "push delivery to a subscribed receiver"),
            _ => (typeof(ILoadTarget), ""),
        };

        return capability.IsAssignableFrom(TargetCatalog.TypeOf(target))
            ? null
            : $"{scenario} is not supported by this target yet: {target} has no {what}.";
    }
}
