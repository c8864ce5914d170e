namespace EdgeRelay.Client;

public sealed class RelayClientOptions
{
    /// <summary>
    /// Requests this client keeps unanswered at once. Default 256; the effective window is the smaller of
    /// this and what the server advertises, so the client never makes the server stop reading.
    /// </summary>
    public int MaxInFlight { get; set; } = 256;

    /// <summary>Time allowed for TCP connect plus HELLO. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
