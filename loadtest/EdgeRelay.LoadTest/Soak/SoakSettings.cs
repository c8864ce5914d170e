using System.Globalization;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>Everything a soak needs; each default stated here and in <c>--help</c>. <see cref="Validate"/> names every problem.</summary>
internal sealed record SoakSettings
{
    /// <summary>Longest soak: a day bounds a forgotten one.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);

    /// <summary>Load time. Default 30 minutes; a CI run takes 20-40 s.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Total messages per second (SENDs and SEND_VIAs). Null: <see cref="Calibrate"/> must be set.</summary>
    public double? Rate { get; init; }

    /// <summary>Measure the mix's maximum with a short closed-loop run on relays of its own, and soak at half of it.</summary>
    public bool Calibrate { get; init; }

    /// <summary>The calibration's length; its first third warms up and is not counted. Default 15 s.</summary>
    public TimeSpan CalibrateDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Share of the maximum the soak runs at after calibration. Default 0.5: half load, where nothing should fail.</summary>
    public double LoadShare { get; init; } = 0.5;

    /// <summary>Seconds between samples. Default 5 s.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>B's addresses; even ones are pushed to, odd ones pulled. Default 256.</summary>
    public int Addresses { get; init; } = 256;

    /// <summary>Sender connections straight to B. Default 4.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>RM connections to A (SEND_VIA). Default 2.</summary>
    public int ViaConnections { get; init; } = 2;

    /// <summary>Share of messages sent with SEND_VIA through A, the rest straight to B. Default 0.25.</summary>
    public double ViaShare { get; init; } = 0.25;

    /// <summary>Sends outstanding per connection at most. Default 32.</summary>
    public int InFlight { get; init; } = 32;

    /// <summary>Push receivers (connections), the pushed addresses dealt over them. Default 2.</summary>
    public int PushConnections { get; init; } = 2;

    /// <summary>Pulling owners (connections), the pulled addresses dealt over them. Default 2.</summary>
    public int PullConnections { get; init; } = 2;

    /// <summary>How often a pulling owner drains its addresses. Default 200 ms: its latency includes up to this.</summary>
    public TimeSpan PullInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Ciphertext bytes per message (at least the 16-byte marker and timestamp). Default 1024.</summary>
    public int PayloadBytes { get; init; } = 1024;

    /// <summary>Where samples.csv, soak.json and the PNGs go. Default <c>soak-out</c>.</summary>
    public string OutputDirectory { get; init; } = "soak-out";

    /// <summary><c>--relay-setting</c>s for both relays.</summary>
    public IReadOnlyList<string> RelaySettings { get; init; } = [];

    /// <summary>What the flatness check accepts.</summary>
    public FlatnessBounds Bounds { get; init; } = new();

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        var c = CultureInfo.InvariantCulture;
        if (Duration < TimeSpan.FromSeconds(10) || Duration > MaxDuration)
        {
            problems.Add($"--duration: {DurationText.Format(Duration)} is out of range [10s, 24h].");
        }

        if (Rate is null == !Calibrate)
        {
            problems.Add("Give either --rate (messages/s) or --calibrate (half of a measured maximum), not both and not neither.");
        }

        if (Rate is { } rate && (!double.IsFinite(rate) || rate <= 0 || rate > RunSettings.MaxRate))
        {
            problems.Add(string.Create(c, $"--rate: {rate} is out of range (0, {RunSettings.MaxRate}]."));
        }

        if (SampleInterval < TimeSpan.FromSeconds(1) || SampleInterval * 3 > Duration)
        {
            problems.Add("--sample: at least 1s, and three samples must fit in --duration.");
        }

        if (CalibrateDuration < TimeSpan.FromSeconds(3) || CalibrateDuration > TimeSpan.FromMinutes(5))
        {
            problems.Add("--calibrate-duration: out of range [3s, 5m].");
        }

        if (LoadShare is <= 0 or > 1)
        {
            problems.Add("--load-share: out of range (0, 1].");
        }

        if (Addresses < 2 || Addresses > RunSettings.MaxAddresses)
        {
            problems.Add($"--addresses: out of range [2, {RunSettings.MaxAddresses}] (half are pushed to, half pulled).");
        }

        if (ViaShare is < 0 or > 1 || !double.IsFinite(ViaShare))
        {
            problems.Add("--via-share: out of range [0, 1].");
        }

        foreach (var (name, value) in new[] { ("--connections", Connections), ("--via-connections", ViaConnections), ("--push-connections", PushConnections), ("--pull-connections", PullConnections) })
        {
            if (value < 1 || value > 256)
            {
                problems.Add($"{name}: {value} is out of range [1, 256].");
            }
        }

        if (InFlight < 1 || InFlight > 4096)
        {
            problems.Add($"--in-flight: {InFlight} is out of range [1, 4096].");
        }

        if (PayloadBytes < 16 || PayloadBytes > 16384)
        {
            problems.Add($"--payload: {PayloadBytes} is out of range [16, 16384] (a marker and a timestamp, up to the relay's default max_ciphertext).");
        }

        if (PullInterval < TimeSpan.FromMilliseconds(10) || PullInterval > TimeSpan.FromSeconds(10))
        {
            problems.Add("--pull-interval: out of range [10ms, 10s].");
        }

        problems.AddRange(Bounds.Validate());
        return problems;
    }
}
