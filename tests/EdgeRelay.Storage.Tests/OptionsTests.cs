namespace EdgeRelay.Storage.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new RelayStoreOptions { DataDirectory = "data" };
        options.Validate();
        Assert.Equal(22, options.PageSizeBits);
        Assert.Equal(26, options.MemorySizeBits);
        Assert.Equal(28, options.SegmentSizeBits);
        Assert.Equal(16384, options.MaxPayloadBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.MaintenanceInterval);
    }

    public static TheoryData<string, Action<RelayStoreOptions>> Invalid => new()
    {
        { nameof(RelayStoreOptions.DataDirectory), o => o.DataDirectory = " " },
        { nameof(RelayStoreOptions.PageSizeBits), o => o.PageSizeBits = 11 },
        { nameof(RelayStoreOptions.PageSizeBits), o => o.PageSizeBits = 31 },
        { nameof(RelayStoreOptions.MemorySizeBits), o => o.MemorySizeBits = 22 }, // one page: nothing to fill while it flushes
        { nameof(RelayStoreOptions.MemorySizeBits), o => o.MemorySizeBits = 41 },
        { nameof(RelayStoreOptions.SegmentSizeBits), o => o.SegmentSizeBits = 21 }, // smaller than a page
        { nameof(RelayStoreOptions.ReadCacheSizeBits), o => o.ReadCacheSizeBits = 22 }, // one page: a record could wrap
        { nameof(RelayStoreOptions.ReadCacheSizeBits), o => o.ReadCacheSizeBits = 31 }, // past the largest array
        { nameof(RelayStoreOptions.MaxPayloadBytes), o => o.MaxPayloadBytes = 0 },
        { nameof(RelayStoreOptions.MaxPayloadBytes), o => { o.PageSizeBits = 14; o.MaxPayloadBytes = 16384; } }, // record does not fit a page
        { nameof(RelayStoreOptions.MaintenanceInterval), o => o.MaintenanceInterval = TimeSpan.Zero },
        { nameof(RelayStoreOptions.MaintenanceInterval), o => o.MaintenanceInterval = TimeSpan.FromDays(2) },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_option_is_named_with_its_range(string option, Action<RelayStoreOptions> spoil)
    {
        var options = new RelayStoreOptions { DataDirectory = "data" };
        spoil(options);

        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(option, error.ParamName);
        Assert.Contains($"RelayStoreOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_largest_payload_that_fits_a_page_is_accepted()
    {
        var options = new RelayStoreOptions { DataDirectory = "data", PageSizeBits = 14, MaxPayloadBytes = (1 << 14) - 37 };
        options.Validate();
        options.MaxPayloadBytes++;
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }
}
