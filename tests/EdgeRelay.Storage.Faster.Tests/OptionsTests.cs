namespace EdgeRelay.Storage.Faster.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new FasterStorageOptions { DataDirectory = "data" };
        options.Validate();
        Assert.Equal(22, options.PageSizeBits);
        Assert.Equal(26, options.MemorySizeBits);
        Assert.Equal(28, options.SegmentSizeBits);
        Assert.Equal(16384, options.MaxPayloadBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.MaintenanceInterval);
        Assert.False(options.TruncateDamagedLog);
    }

    public static TheoryData<string, Action<FasterStorageOptions>> Invalid => new()
    {
        { nameof(FasterStorageOptions.DataDirectory), o => o.DataDirectory = " " },
        { nameof(FasterStorageOptions.PageSizeBits), o => o.PageSizeBits = 11 },
        { nameof(FasterStorageOptions.PageSizeBits), o => o.PageSizeBits = 31 },
        { nameof(FasterStorageOptions.MemorySizeBits), o => o.MemorySizeBits = 22 }, // one page: nothing to fill while it flushes
        { nameof(FasterStorageOptions.MemorySizeBits), o => o.MemorySizeBits = 41 },
        { nameof(FasterStorageOptions.SegmentSizeBits), o => o.SegmentSizeBits = 21 }, // smaller than a page
        { nameof(FasterStorageOptions.ReadCacheSizeBits), o => o.ReadCacheSizeBits = 22 }, // one page: a record could wrap
        { nameof(FasterStorageOptions.ReadCacheSizeBits), o => o.ReadCacheSizeBits = 31 }, // past the largest array
        { nameof(FasterStorageOptions.MaxPayloadBytes), o => o.MaxPayloadBytes = 0 },
        { nameof(FasterStorageOptions.MaxPayloadBytes), o => { o.PageSizeBits = 14; o.MaxPayloadBytes = 16384; } }, // record does not fit a page
        { nameof(FasterStorageOptions.MaintenanceInterval), o => o.MaintenanceInterval = TimeSpan.Zero },
        { nameof(FasterStorageOptions.MaintenanceInterval), o => o.MaintenanceInterval = TimeSpan.FromDays(2) },
        { nameof(FasterStorageOptions.MessageTtl), o => o.MessageTtl = TimeSpan.FromMilliseconds(999) },
        { nameof(FasterStorageOptions.MaxPendingMessagesPerAddress), o => o.MaxPendingMessagesPerAddress = 0 },
        { nameof(FasterStorageOptions.MaxPendingBytesPerAddress), o => o.MaxPendingBytesPerAddress = 0 },
        { nameof(FasterStorageOptions.MaxLogBytes), o => o.MaxLogBytes = 1 }, // less than four segments
        { nameof(FasterStorageOptions.CompactionMaxLivePercent), o => o.CompactionMaxLivePercent = 91 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_option_is_named_with_its_range(string option, Action<FasterStorageOptions> spoil)
    {
        var options = new FasterStorageOptions { DataDirectory = "data" };
        spoil(options);

        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(option, error.ParamName);
        Assert.Contains($"FasterStorageOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_largest_payload_that_fits_a_page_is_accepted()
    {
        // A page holds one record: FASTER's 12-byte entry header (checksum and length), the 33-byte moved-message header, the ciphertext.
        var options = new FasterStorageOptions { DataDirectory = "data", PageSizeBits = 14, MaxPayloadBytes = (1 << 14) - 12 - 33 };
        options.Validate();
        options.MaxPayloadBytes++;
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }
}
