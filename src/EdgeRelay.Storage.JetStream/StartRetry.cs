using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// The JetStream API calls of a node's start (creating the streams, reading them, creating its consumers), asked
/// again while the cluster is slow or electing, for up to <see cref="JetStreamStorageOptions.PublishRetryWindow"/>.
/// </summary>
/// <remarks>
/// Creating a replicated stream is a RAFT proposal of the meta group: on a busy cluster, or right after its servers
/// started, the answer can take longer than the client's request timeout, and nodes started together all ask at once.
/// Every call here is safe to repeat (create-or-update, a read, an ephemeral consumer that an unanswered attempt
/// leaves to expire by itself); a refusal (a bad config, a limit) is not asked again.
/// </remarks>
internal static class StartRetry
{
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, string what, TimeSpan window, ILogger logger, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await call(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && !ct.IsCancellationRequested && Stopwatch.GetElapsedTime(started) + delay < window)
            {
                JetStreamLog.StartRetry(logger, what, ex.Message);
            }

            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
        }
    }

    /// <summary>No answer, no responders, or no leader yet (an election): the cluster may answer next time. A refusal (limits, a wrong subject, a bad config) is final.</summary>
    internal static bool IsTransient(Exception error) => error switch
    {
        NatsJSApiException api => api.Error.Code is 503 or 504 or 408,
        NatsException => true,
        TimeoutException => true,
        _ => false,
    };
}
