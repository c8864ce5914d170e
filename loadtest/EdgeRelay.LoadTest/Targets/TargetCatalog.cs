namespace EdgeRelay.LoadTest.Targets;

/// <summary>The targets <c>--target</c> accepts.</summary>
internal static class TargetCatalog
{
    public const string EdgeRelay = "edgerelay";

    public const string RawSink = "raw-sink";

    public static IReadOnlyList<string> Names { get; } = [EdgeRelay, RawSink];

    public static ILoadTarget Create(string name) => name switch
    {
        EdgeRelay => new EdgeRelayTarget(),
        RawSink => new RawSinkTarget(),
        _ => throw new ArgumentException($"Unknown target '{name}'.", nameof(name)),
    };
}
