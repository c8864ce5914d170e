using System.Buffers.Binary;
using EdgeRelay.LoadTest.Soak;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests.Soak;

/// <summary>The charts: one PNG a quantity, of the size asked, with unknown values left out rather than failing.</summary>
public sealed class SoakPlotsTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Every_chart_is_a_png_of_the_size_asked()
    {
        using var dir = new TempDirectory("soak-plots");

        var written = SoakPlots.Write(SoakSeriesFactory.Build(), dir.Combine("charts"), 900, 400);

        Assert.Equal(["memory.png", "disk.png", "cpu.png", "machine.png", "latency-p99.png", "latency-p50.png", "throughput.png"], written.Select(Path.GetFileName));
        foreach (var path in written)
        {
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.True(bytes.Length > 1000, $"{path}: {bytes.Length} bytes");
            Assert.Equal(PngSignature, bytes[..8]);

            // IHDR is the first chunk: length, "IHDR", then width and height, big-endian.
            Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
            Assert.Equal((900, 400), (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))));
        }
    }

    [Fact]
    public void A_series_with_no_values_leaves_its_line_out_and_the_chart_is_still_written()
    {
        using var dir = new TempDirectory("soak-plots");
        var noVia = SoakSeriesFactory.Build((s, _) => s with { ViaP50 = null, ViaP99 = null, Sending = new RelayReading() });

        var written = SoakPlots.Write(noVia, dir.Path);

        Assert.All(written, path => Assert.True(new FileInfo(path).Length > 1000, path));
    }
}
