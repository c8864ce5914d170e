using System.Globalization;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>What a <c>flood</c> run does; each default is documented where it is set.</summary>
internal sealed record FloodSettings
{
    public const string Connections = "connections";
    public const string FreshAddresses = "fresh-addresses";
    public const string Auth = "auth";
    public const string HugeFrames = "huge-frames";
    public const string All = "all";

    /// <summary>The kinds in the order <c>all</c> runs them.</summary>
    public static readonly string[] Kinds = [Connections, FreshAddresses, Auth, HugeFrames];

    /// <summary>One kind or <c>all</c>. Default all.</summary>
    public string Kind { get; init; } = All;

    /// <summary>Length of each phase, before and during. Default 10 s: some thousands of bystander SENDs per phase.</summary>
    public TimeSpan Phase { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The bystander's ciphertext. Default 1 KiB, the size of the other commands' runs.</summary>
    public int PayloadBytes { get; init; } = 1024;

    /// <summary>
    /// Connections (or parallel openers) each flood uses. Default 4: enough to keep the relay's loop busy from a
    /// 2-core machine without the generator starving the relay of CPU itself.
    /// </summary>
    public int FloodConnections { get; init; } = 4;

    /// <summary>Connections the <c>connections</c> flood holds at most. Default 1000, well inside a process's descriptors.</summary>
    public int MaxHeld { get; init; } = 1000;

    /// <summary>Also write the result here as JSON. Default none.</summary>
    public string? JsonPath { get; init; }

    public IReadOnlyList<string> KindsToRun => Kind == All ? Kinds : [Kind];

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Kind != All && !Kinds.Contains(Kind))
        {
            problems.Add($"--kind: '{Kind}' is none of {string.Join(", ", Kinds)}, {All}.");
        }

        if (Phase < TimeSpan.FromSeconds(1) || Phase > TimeSpan.FromMinutes(10))
        {
            problems.Add($"--phase: {DurationText.Format(Phase)} is outside 1s..10m.");
        }

        if (PayloadBytes is < 16 or > 16384)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--payload: {PayloadBytes} is outside 16..16384."));
        }

        if (FloodConnections is < 1 or > 32)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--flood-connections: {FloodConnections} is outside 1..32."));
        }

        if (MaxHeld is < 1 or > 20_000)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--max-held: {MaxHeld} is outside 1..20000."));
        }

        return problems;
    }
}
