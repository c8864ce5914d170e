using EdgeRelay.LoadTest.Soak;

namespace EdgeRelay.LoadTest.Tests.Soak;

/// <summary>
/// Synthetic soaks: a flat one (noise around fixed levels, the GC heap and the disk as saws, as a healthy relay
/// draws them) that each test bends in one series, written to CSV and read back as the check reads a file.
/// </summary>
internal static class SoakSeriesFactory
{
    public const int Count = 120;

    public const double Step = 5;

    private const double Mib = 1 << 20;

    /// <summary>A flat soak of <see cref="Count"/> samples, <see cref="Step"/> s apart, then <paramref name="bend"/> applied to each.</summary>
    public static SoakSeries Build(Func<SoakSample, int, SoakSample>? bend = null, int count = Count)
    {
        var random = new Random(7);
        double Noise(double amplitude) => (random.NextDouble() - 0.5) * 2 * amplitude;
        var samples = new List<SoakSample>(count);
        for (int i = 0; i < count; i++)
        {
            var sample = new SoakSample
            {
                ElapsedSeconds = (i + 1) * Step,
                SendsPerSecond = 1950 + Noise(40),
                ViaPerSecond = 650 + Noise(20),
                DeliveredPerSecond = 2600 + Noise(60),
                Backlog = 300 + (long)Noise(100),
                SendP50 = 1500 + (long)Noise(200),
                SendP99 = 6000 + (long)Noise(1500),
                ViaP50 = 1600,
                ViaP99 = 6500 + (long)Noise(1500),
                PushP50 = 2000,
                PushP99 = 8000 + (long)Noise(2000),
                PullP50 = 100_000,
                PullP99 = 210_000 + (long)Noise(20_000),
                Errors = 0,
                Receiving = new RelayReading
                {
                    RssBytes = (long)((300 + Noise(3)) * Mib),
                    PrivateBytes = (long)((200 + Noise(3)) * Mib),
                    GcHeapBytes = (long)((80 + (i % 6 * 8)) * Mib), // a saw: collections every six samples
                    DiskBytes = (long)((100 + (i % 10 * 28)) * Mib), // a saw a segment tall: truncation every ten samples
                    CpuPercent = 45 + Noise(8),
                },
                Sending = new RelayReading
                {
                    RssBytes = (long)((160 + Noise(2)) * Mib),
                    PrivateBytes = (long)((70 + Noise(2)) * Mib),
                    GcHeapBytes = (long)((60 + (i % 5 * 6)) * Mib),
                    DiskBytes = (long)((40 + (i % 20 * 3)) * Mib),
                    CpuPercent = 20 + Noise(5),
                },
            };
            samples.Add(bend is null ? sample : bend(sample, i));
        }

        return SoakCsv.Read(SoakCsv.Write(samples));
    }

    /// <summary>0 at the start of the run, 1 at its end.</summary>
    public static double Progress(int i, int count = Count) => (double)i / (count - 1);

    public static SoakSample WithReceiving(this SoakSample sample, Func<RelayReading, RelayReading> change) =>
        sample with { Receiving = change(sample.Receiving) };
}
