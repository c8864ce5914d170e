using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// What one operation of a run does. To add one: implement this in a new file, name it in
/// <see cref="ScenarioCatalog"/> with the target capability it needs; if no capability has the call it needs,
/// add one next to <see cref="IPullTarget"/> and implement it on the targets that can.
/// </summary>
/// <remarks>
/// The runner starts the target, then <see cref="PrepareAsync"/> (never measured: prefill, receivers), then
/// opens <see cref="RunSettings.Connections"/> connections through <see cref="ConnectAsync"/> and drives each
/// with <see cref="InFlightPerConnection"/> operations outstanding. The scenario is disposed before the target.
/// </remarks>
internal interface IScenario : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Payload bytes per message, for MB/s.</summary>
    int PayloadBytesPerMessage { get; }

    /// <summary>Operations outstanding per connection: <c>--in-flight</c>, or 1 where a connection's operations must not overlap (pull).</summary>
    int InFlightPerConnection { get; }

    /// <summary>Whatever must exist before the clock starts (messages to pull, receivers); not measured.</summary>
    Task PrepareAsync(ILoadTarget target, Action<string> log, CancellationToken cancellationToken);

    /// <summary>Opens connection number <paramref name="index"/> of the run.</summary>
    Task<IScenarioConnection> ConnectAsync(ILoadTarget target, int index, CancellationToken cancellationToken);
}

/// <summary>One connection's share of a scenario. Thread-safe up to <see cref="IScenario.InFlightPerConnection"/> concurrent calls.</summary>
internal interface IScenarioConnection : IAsyncDisposable
{
    /// <summary>
    /// One operation; returns the messages it moved (see <see cref="Engine.LoadOperation"/>). Must not allocate
    /// more than the target's own call does: it runs millions of times.
    /// </summary>
    ValueTask<int> ExecuteAsync(long sequence, CancellationToken cancellationToken);
}
