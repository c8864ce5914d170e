using System.Globalization;

namespace EdgeRelay.Storage.Faster;

/// <summary>The local device's segment files (<c>relay.log.N</c>), read and written at log addresses.</summary>
internal sealed class SegmentFiles : IDisposable
{
    private readonly string _prefix;
    private readonly int _segmentSizeBits;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
    private long _segment = -1;

    public SegmentFiles(string dataDirectory, int segmentSizeBits)
    {
        _prefix = FasterLogSetup.SegmentPathPrefix(dataDirectory);
        _segmentSizeBits = segmentSizeBits;
    }

    /// <summary>Reads the page at <paramref name="address"/>; returns how many of its bytes the file holds (0: past its end; -1: no such file).</summary>
    public int ReadPage(long address, byte[] page, LogTailReport report)
    {
        if (!Open(address >> _segmentSizeBits, writable: false))
        {
            return -1;
        }

        var position = address & ((1L << _segmentSizeBits) - 1);
        var total = 0;
        try
        {
            while (total < page.Length)
            {
                var n = RandomAccess.Read(_handle!, page.AsSpan(total), position + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (IOException ex)
        {
            report.ReadError(address + total, ex.Message);
            return -1;
        }

        page.AsSpan(total).Clear();
        return total;
    }

    public void Zero(long from, long to)
    {
        var zeros = new byte[1 << 16];
        for (var address = from; address < to;)
        {
            var segmentEnd = ((address >> _segmentSizeBits) + 1) << _segmentSizeBits;
            var end = Math.Min(to, segmentEnd);
            if (Open(address >> _segmentSizeBits, writable: true))
            {
                var length = RandomAccess.GetLength(_handle!);
                var position = address & ((1L << _segmentSizeBits) - 1);
                var stop = Math.Min(length, position + (end - address));
                while (position < stop)
                {
                    var n = (int)Math.Min(zeros.Length, stop - position);
                    RandomAccess.Write(_handle!, zeros.AsSpan(0, n), position);
                    position += n;
                }

                RandomAccess.FlushToDisk(_handle!);
            }

            address = end;
        }
    }

    public void Dispose() => _handle?.Dispose();

    private bool Open(long segment, bool writable)
    {
        if (segment == _segment && _handle is not null)
        {
            return true;
        }

        _handle?.Dispose();
        _handle = null;
        _segment = segment;
        var path = _prefix + "." + segment.ToString(CultureInfo.InvariantCulture);
        if (!File.Exists(path))
        {
            return false;
        }

        _handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
        return true;
    }
}
