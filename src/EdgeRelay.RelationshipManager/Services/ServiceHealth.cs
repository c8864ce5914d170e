using EdgeRelay.Protocol;

namespace EdgeRelay.RelationshipManager.Services;

/// <summary>
/// What this process has learned of one of our services: its last status (availability, limits, sending
/// options) and its failures, so that sending prefers a service that works over one that just failed.
/// </summary>
/// <remarks>In memory only: a restarted RM tries every service afresh, which costs at most one failed attempt each.</remarks>
internal sealed class ServiceHealth
{
    // Back-off after consecutive failures: long enough not to pay a connect timeout per message while a
    // service is down, short enough that a restarted one is used again within minutes.
    private static readonly TimeSpan FirstRest = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan LongestRest = TimeSpan.FromMinutes(5);

    public RelayStatus? Status { get; private set; }

    public string? LastError { get; private set; }

    public DateTimeOffset? FailedAt { get; private set; }

    public int Failures { get; private set; }

    public void Observed(RelayStatus status) => Status = status;

    public void Succeeded()
    {
        Failures = 0;
        FailedAt = null;
        LastError = null;
    }

    public void Failed(string error, DateTimeOffset now)
    {
        Failures++;
        FailedAt = now;
        LastError = error;
    }

    /// <summary>Failed recently: tried only after every service that did not.</summary>
    public bool IsResting(DateTimeOffset now)
    {
        if (FailedAt is not { } at)
        {
            return false;
        }

        var rest = TimeSpan.FromTicks(Math.Min(LongestRest.Ticks, FirstRest.Ticks << Math.Min(Failures - 1, 10)));
        return now - at < rest;
    }

    /// <summary>0 for a service to try first, 1 for a degraded one, 2 for one resting after failures or draining.</summary>
    public int Rank(DateTimeOffset now) =>
        IsResting(now) || Status?.Availability == Availability.Draining ? 2
        : Status?.Availability == Availability.Degraded ? 1
        : 0;
}
