namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>The scenarios <c>--scenario</c> accepts.</summary>
internal static class ScenarioCatalog
{
    public const string Ingest = "ingest";

    public static IReadOnlyList<string> Names { get; } = [Ingest];

    public static IScenario Create(string name, RunSettings settings) => name switch
    {
        Ingest => new IngestScenario(settings.PayloadBytes),
        _ => throw new ArgumentException($"Unknown scenario '{name}'.", nameof(name)),
    };
}
