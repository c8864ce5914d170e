using System.Globalization;

namespace EdgeRelay.Testing;

/// <summary>
/// docs/vectors/protocol-v1.txt (or another vector file in its format, such as rm-protocol-v1.txt), read the
/// way its header tells a third party to read it: one "name = value" a line, '#' starting a comment, hex unless the name holds a number or text. It notes which names a test
/// read, so that a test can prove no vector in the file goes unchecked.
/// </summary>
/// <remarks>
/// Compiled into EdgeRelay.Protocol.Tests too (linked, not referenced): that project checks the sending
/// service's vectors against the codec alone, without the server this library brings.
/// </remarks>
public sealed class ProtocolVectors
{
    private readonly List<KeyValuePair<string, string>> _entries = [];
    private readonly Dictionary<string, string> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private readonly string _file;

    private ProtocolVectors(string file, IEnumerable<string> lines)
    {
        _file = file;
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split(" = ", 2);
            if (parts.Length != 2 || !_byName.TryAdd(parts[0], parts[1]))
            {
                throw new InvalidDataException($"{file}: '{line}' is not a new \"name = value\" line.");
            }

            _entries.Add(new(parts[0], parts[1]));
        }
    }

    /// <summary>Every vector, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Entries => _entries;

    /// <summary>The file as copied next to the test assembly (each test project links docs/vectors/protocol-v1.txt into Vectors/).</summary>
    public static ProtocolVectors Load() => Load("protocol-v1.txt");

    /// <summary>A vector file of docs/vectors/ that the test project links into Vectors/.</summary>
    public static ProtocolVectors Load(string file) =>
        new(file, File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Vectors", file)));

    /// <summary>The group of a name: what precedes its first dot ("send_via" for "send_via.frame").</summary>
    public static string GroupOf(string name) => name[..name.IndexOf('.', StringComparison.Ordinal)];

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>A value as written (text values: an endpoint, a token, a URI, a reason).</summary>
    public string Text(string name)
    {
        if (!_byName.TryGetValue(name, out var value))
        {
            throw new KeyNotFoundException($"{_file} has no '{name}'.");
        }

        _read.Add(name);
        return value;
    }

    public byte[] Bytes(string name) => Convert.FromHexString(Text(name));

    public long Number(string name) => long.Parse(Text(name), NumberStyles.None, CultureInfo.InvariantCulture);

    public ulong UnsignedNumber(string name) => ulong.Parse(Text(name), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>A list of decimal numbers separated by spaces.</summary>
    public long[] Numbers(string name) =>
        Text(name).Split(' ').Select(n => long.Parse(n, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>A list of a:b pairs of decimal numbers separated by spaces.</summary>
    public (long First, long Second)[] Pairs(string name) =>
        Text(name).Split(' ').Select(p => p.Split(':')).Select(p => (
            long.Parse(p[0], NumberStyles.None, CultureInfo.InvariantCulture),
            long.Parse(p[1], NumberStyles.None, CultureInfo.InvariantCulture))).ToArray();

    /// <summary>The names of <paramref name="groups"/> no test has read from this instance.</summary>
    public IReadOnlyList<string> Unread(IEnumerable<string> groups)
    {
        var wanted = groups.ToHashSet(StringComparer.Ordinal);
        return _entries.Select(e => e.Key).Where(k => wanted.Contains(GroupOf(k)) && !_read.Contains(k)).ToList();
    }
}
