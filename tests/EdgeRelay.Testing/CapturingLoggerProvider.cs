using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Testing;

/// <summary>A logger provider that keeps every line it is given (category and formatted message), at every level.</summary>
public sealed class CapturingLoggerProvider(ConcurrentQueue<(string Category, string Message)> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Capturing(string category, ConcurrentQueue<(string Category, string Message)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((category, formatter(state, exception)));
    }
}
