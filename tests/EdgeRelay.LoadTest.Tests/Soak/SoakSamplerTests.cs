using EdgeRelay.LoadTest.Soak;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests.Soak;

/// <summary>What the soak's sampler reads from outside the relay: /proc status, du, /metrics, and its own CSV back.</summary>
public sealed class SoakSamplerTests
{
    /// <summary>A real /proc/&lt;pid&gt;/status of a relay, cut to the lines around the ones read.</summary>
    private const string Status = """
        Name:	dotnet
        Umask:	0022
        State:	S (sleeping)
        VmPeak:	 3452012 kB
        VmSize:	 3451976 kB
        VmHWM:	  201344 kB
        VmRSS:	  187512 kB
        RssAnon:	   92160 kB
        RssFile:	   95352 kB
        RssShmem:	       0 kB
        VmData:	  512344 kB
        Threads:	31
        """;

    [Fact]
    public void Resident_and_private_memory_are_read_from_proc_status_in_bytes()
    {
        var status = ProcStatus.Parse(Status);

        Assert.Equal(187_512L * 1024, status.RssBytes);
        Assert.Equal(92_160L * 1024, status.PrivateBytes);
    }

    [Theory]
    [InlineData("Name:\tdotnet\nVmSize:\t 1 kB\n")] // a kernel thread, or a process gone zombie: no VmRSS
    [InlineData("VmRSS:\t 12 pages\nRssAnon:\tlots kB\n")] // a unit or a number it cannot read
    public void Missing_or_unreadable_lines_are_unknown_not_zero(string text)
    {
        var status = ProcStatus.Parse(text);

        Assert.Null(status.RssBytes);
        Assert.Null(status.PrivateBytes);
    }

    [Theory]
    [InlineData("268443648\t/tmp/edgerelay-loadtest-x\n", 268_443_648L)]
    [InlineData("4096 /data\n", 4096L)]
    [InlineData("", null)]
    [InlineData("du: cannot access '/nope': No such file or directory\n", null)]
    public void Du_output_gives_the_bytes_of_its_first_field(string output, long? expected) =>
        Assert.Equal(expected, DiskUsage.ParseDu(output));

    [Fact]
    public async Task Bytes_on_disk_count_allocated_blocks_of_every_file_below_the_folder()
    {
        using var dir = new TempDirectory("soak-du");
        Directory.CreateDirectory(dir.Combine("sub"));
        await File.WriteAllBytesAsync(dir.Combine("sub", "segment.0"), new byte[1 << 20]);
        var before = await DiskUsage.BytesOnDiskAsync(dir.Path, CancellationToken.None);
        await File.WriteAllBytesAsync(dir.Combine("segment.1"), new byte[1 << 20]);

        var after = await DiskUsage.BytesOnDiskAsync(dir.Path, CancellationToken.None);

        Assert.NotNull(before);
        Assert.True(before >= 1 << 20, $"{before} bytes on disk for a 1 MiB file");
        Assert.True(after - before >= 1 << 20, $"{after} after a second 1 MiB file, {before} before");
    }

    [Fact]
    public void The_gc_heap_is_the_unlabelled_dotnet_total_memory_series()
    {
        const string Scrape = """
            # HELP dotnet_total_memory_bytes Total known allocated memory
            # TYPE dotnet_total_memory_bytes gauge
            dotnet_total_memory_bytes 1.34217728E+08
            dotnet_total_memory_bytes_extra 5
            """;

        Assert.Equal(134_217_728d, PrometheusText.Value(Scrape, ProcessProbe.GcHeapSeries));
    }

    [Fact]
    public void Samples_written_as_csv_read_back_by_column_with_unknowns_empty()
    {
        var sample = new SoakSample
        {
            ElapsedSeconds = 5.0004,
            SendsPerSecond = 1500.5,
            DeliveredPerSecond = 1499,
            Backlog = 12,
            SendP99 = 4200,
            Errors = 0,
            Receiving = new RelayReading { RssBytes = 200_000_000, DiskBytes = 33_554_432, CpuPercent = 41.25 },
        };

        var series = SoakCsv.Read(SoakCsv.Write([sample, sample with { ElapsedSeconds = 10 }]));

        Assert.Equal(2, series.Count);
        Assert.Equal([5d, 10d], series["elapsed_s"]!.Select(v => v!.Value));
        Assert.Equal(1500.5, series["sends_per_s"]![0]);
        Assert.Equal(4200d, series["send_p99_us"]![0]);
        Assert.Null(series["via_p99_us"]![0]);
        Assert.Equal(200_000_000d, series["b_rss_bytes"]![1]);
        Assert.Equal(41.25, series["b_cpu_pct"]![0]);
        Assert.Null(series["a_rss_bytes"]![0]);
        Assert.Equal(SoakCsv.Columns.Order(StringComparer.Ordinal), series.Columns.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("elapsed_s,errors\n5,0,1\n", "row 2 has 3 cells")]
    [InlineData("elapsed_s,errors\n5,x\n", "'x' is not a number")]
    public void A_malformed_samples_file_is_refused_with_where(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => SoakCsv.Read(text));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_machine_load_is_the_first_field_of_loadavg() =>
        Assert.Equal(34.88, HostProbe.ParseLoad1("34.88 38.95 37.81 57/586 2555\n"));

    [Fact]
    public void Machine_cpu_busy_is_every_tick_but_idle_and_iowait_of_the_aggregate_line()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice: guest is already in user.
        const string Stat = """
            cpu  1000 50 300 5000 200 10 40 0 700 0
            cpu0 500 25 150 2500 100 5 20 0 350 0
            intr 123456 0 0
            """;

        var times = HostProbe.ParseStat(Stat);

        Assert.Equal(new HostProbe.CpuTimes(Busy: 1000 + 50 + 300 + 10 + 40, Total: 6600), times);
        Assert.Null(HostProbe.ParseStat("intr 1 2 3\n"));
        Assert.Null(HostProbe.ParseStat("cpu  12 x 3 4\n"));
    }
}
