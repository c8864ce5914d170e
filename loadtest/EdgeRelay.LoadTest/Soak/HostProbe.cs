using System.Globalization;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>
/// The machine around the relays: its load average and how busy its CPUs were over the interval, every process
/// counted. On a shared machine a relay's CPU and latency move with its neighbours; these columns let a reader
/// tell a step in the machine from a drift in the relay. Never judged: the soak does not own the machine.
/// </summary>
internal sealed class HostProbe
{
    private CpuTimes? _last;

    /// <summary>The 1-minute load average, and CPU busy since the last call in percent of one core (so up to 100 x cores).</summary>
    public (double? Load1, double? CpuPercent) Read()
    {
        double? load = null;
        double? busy = null;
        try
        {
            load = ParseLoad1(File.ReadAllText("/proc/loadavg"));
            var now = ParseStat(File.ReadAllText("/proc/stat"));
            if (now is { } current && _last is { } previous && current.Total > previous.Total)
            {
                busy = (double)(current.Busy - previous.Busy) / (current.Total - previous.Total) * 100 * Environment.ProcessorCount;
            }

            _last = now;
        }
        catch (IOException)
        {
            // not Linux: the columns stay empty
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (load, busy);
    }

    /// <summary>The first field of <c>/proc/loadavg</c> ("0.52 0.58 0.59 1/467 12345").</summary>
    public static double? ParseLoad1(string text)
    {
        var first = text.AsSpan().Trim();
        int end = first.IndexOf(' ');
        return double.TryParse(end < 0 ? first : first[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
    }

    /// <summary>
    /// The aggregate <c>cpu</c> line of <c>/proc/stat</c> (proc(5): user nice system idle iowait irq softirq steal
    /// ..., in clock ticks): busy is everything but idle and iowait.
    /// </summary>
    public static CpuTimes? ParseStat(string text)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                continue;
            }

            long total = 0, idle = 0;
            int field = 0;
            foreach (var range in line[4..].Split(' '))
            {
                var part = line[4..][range];
                if (part.IsEmpty)
                {
                    continue;
                }

                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
                {
                    return null;
                }

                // guest and guest_nice (fields 9 and 10) are already inside user and nice.
                if (field < 8)
                {
                    total += ticks;
                    if (field is 3 or 4)
                    {
                        idle += ticks;
                    }
                }

                field++;
            }

            return field >= 4 ? new CpuTimes(total - idle, total) : null;
        }

        return null;
    }

    internal readonly record struct CpuTimes(long Busy, long Total);
}
