using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// What one operation of a run does. To add one (pull, push, roundtrip…): implement this in a new file and
/// name it in <see cref="ScenarioCatalog"/>; if it needs a new kind of call, add it to
/// <see cref="ILoadConnection"/> and to each target.
/// </summary>
internal interface IScenario
{
    string Name { get; }

    /// <summary>Payload bytes one operation carries, for MB/s.</summary>
    int PayloadBytesPerOperation { get; }

    /// <summary>Anything that must exist before the clock starts (e.g. messages to pull); not measured.</summary>
    Task PrepareAsync(ILoadTarget target, CancellationToken cancellationToken);

    /// <summary>One operation; must not allocate more than the target's own call does (it runs millions of times).</summary>
    ValueTask ExecuteAsync(ILoadConnection connection, long sequence, CancellationToken cancellationToken);
}
