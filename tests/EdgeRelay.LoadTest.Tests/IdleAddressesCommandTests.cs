using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// <c>idle-addresses</c>: the folder it fills is one the real relay opens with every address in it, and a
/// start is measured from the relay process. The figures are the machine's and are not checked.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class IdleAddressesCommandTests
{
    [Fact]
    public async Task The_folder_it_fills_holds_every_address_and_the_relay_starts_on_it()
    {
        using var dir = new TempDirectory();
        var settings = new IdleRunSettings { Count = 5000, DataDir = dir.Path, Runs = 1, Settle = TimeSpan.Zero };

        var (created, _) = await IdleAddressRun.CreateAsync(settings, _ => { }, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(5000, created);
        Assert.True(File.Exists(Path.Combine(dir.Path, "addresses.snapshot")));
        await using (var store = await FasterStorage.OpenAsync(new FasterStorageOptions { DataDirectory = dir.Path }, TimeProvider.System))
        {
            var page = new Storage.AddressListing[6000];
            Assert.Equal(5000, store.ListAddresses(default, page));
        }

        var start = await IdleAddressRun.StartOnceAsync(settings, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(start.ReadyAfter > TimeSpan.Zero);
        Assert.True(start.ResidentBytes > 0 && start.PeakResidentBytes >= start.ResidentBytes);
        Assert.NotNull(start.GcHeapBytes);

        // A second run measures the folder as it is instead of adding to it.
        Assert.Equal(0, (await IdleAddressRun.CreateAsync(settings, _ => { }, CancellationToken.None)).Created);
    }

    [Fact]
    public void The_fault_in_baseline_times_a_fresh_block_and_refuses_an_empty_one()
    {
        // Writing a byte into each page of 64 MiB is measurable on any machine, and is not free.
        var elapsed = MemoryFaultIn.Measure(64L << 20);
        Assert.True(elapsed > TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryFaultIn.Measure(0));
    }

    [Fact]
    public async Task A_count_out_of_range_is_invalid_usage()
    {
        using var dir = new TempDirectory();
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(["idle-addresses", "--data", dir.Path, "--count", "0"]));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }
}
