namespace EdgeRelay.Addressing.Tests.Support;

/// <summary>
/// Reads an RFC 9180 vector file as published (A.2.1 base, A.2.2 psk): "name: hex" lines inside ~~~
/// blocks, where long hex values continue on the following lines, "sequence number:" starts an
/// encryption and "exporter_context:" an exported value.
/// </summary>
internal sealed class Rfc9180Vectors
{
    public const string Base = "rfc9180-A.2.1-base.txt";
    public const string Psk = "rfc9180-A.2.2-psk.txt";

    private Rfc9180Vectors(Dictionary<string, string> setup, List<Dictionary<string, string>> encryptions, List<Dictionary<string, string>> exports)
    {
        Setup = setup;
        Encryptions = encryptions;
        Exports = exports;
    }

    public Dictionary<string, string> Setup { get; }

    public List<Dictionary<string, string>> Encryptions { get; }

    /// <summary>Each with "exporter_context", "L" and "exported_value".</summary>
    public List<Dictionary<string, string>> Exports { get; }

    public static Rfc9180Vectors Load(string file = Base)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", file);
        var setup = new Dictionary<string, string>(StringComparer.Ordinal);
        var encryptions = new List<Dictionary<string, string>>();
        var exports = new List<Dictionary<string, string>>();
        var current = setup;
        string? lastKey = null;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("~~~", StringComparison.Ordinal))
            {
                lastKey = null;
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                if (lastKey is null || !IsHex(line))
                {
                    throw new InvalidDataException($"Unexpected line in the vector file: {line}");
                }

                current[lastKey] += line; // a wrapped hex value continues here
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key == "sequence number")
            {
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                encryptions.Add(current);
            }
            else if (key == "exporter_context")
            {
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                exports.Add(current);
            }

            current.Add(key, value);
            lastKey = key;
        }

        return new Rfc9180Vectors(setup, encryptions, exports);
    }

    public byte[] SetupBytes(string name) => Convert.FromHexString(Setup[name]);

    private static bool IsHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
