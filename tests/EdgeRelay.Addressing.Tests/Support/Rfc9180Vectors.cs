namespace EdgeRelay.Addressing.Tests.Support;

/// <summary>
/// Reads the RFC 9180 A.2.1 vector file as published: "name: hex" lines inside ~~~ blocks, where
/// long hex values continue on the following lines, and "sequence number:" starts an encryption.
/// </summary>
internal sealed class Rfc9180Vectors
{
    private Rfc9180Vectors(Dictionary<string, string> setup, List<Dictionary<string, string>> encryptions)
    {
        Setup = setup;
        Encryptions = encryptions;
    }

    public Dictionary<string, string> Setup { get; }

    public List<Dictionary<string, string>> Encryptions { get; }

    public static Rfc9180Vectors Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "rfc9180-A.2.1-base.txt");
        var setup = new Dictionary<string, string>(StringComparer.Ordinal);
        var encryptions = new List<Dictionary<string, string>>();
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

            current.Add(key, value);
            lastKey = key;
        }

        return new Rfc9180Vectors(setup, encryptions);
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
