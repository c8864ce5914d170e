using System.Collections.Concurrent;
using EdgeRelay.Testing;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>The NATS client's own log (its connects, disconnects and reconnects) goes where the relay's goes.</summary>
public sealed class ClientLogTests : IAsyncLifetime
{
    private readonly JetStreamBackend _backend = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    [SkippableFact]
    public async Task The_client_of_a_store_that_connects_itself_logs_to_the_loggers_it_is_given()
    {
        var lines = new ConcurrentQueue<(string Category, string Message)>();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(new CapturingLoggerProvider(lines)).SetMinimumLevel(LogLevel.Debug));
        await using var store = await JetStreamStorage.OpenAsync(await _backend.OptionsAsync(), _backend.Time, clientLoggers: loggers);

        Assert.Contains(lines, line => line.Category.StartsWith("NATS.Client", StringComparison.Ordinal));
    }
}
