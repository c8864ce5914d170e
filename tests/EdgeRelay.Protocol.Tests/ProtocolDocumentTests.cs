using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeRelay.Protocol.Tests;

/// <summary>
/// docs/PROTOCOL.md is the contract a third party implements from: its frame table (section 4) and error
/// table (section 5) must name every value the code knows, with the same number, the same name and, for
/// errors, the same connection state afterwards. A value added to the code without the text fails here.
/// </summary>
public sealed partial class ProtocolDocumentTests
{
    private static readonly string Text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Docs", "PROTOCOL.md"));

    [Fact]
    public void Every_frame_type_is_in_the_frame_table_under_its_number_and_name()
    {
        var rows = FrameRow().Matches(Text).ToDictionary(
            m => byte.Parse(m.Groups["type"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            m => m.Groups["name"].Value);
        foreach (var type in Enum.GetValues<FrameType>())
        {
            Assert.True(rows.TryGetValue((byte)type, out var name), $"0x{(byte)type:X2} ({type}) is not in PROTOCOL.md section 4");
            Assert.Equal(UpperSnake(type.ToString()), name);
        }

        Assert.Equal(Enum.GetValues<FrameType>().Length, rows.Count);
    }

    [Fact]
    public void Every_error_code_is_in_the_error_table_with_its_name_and_connection_state()
    {
        var rows = ErrorRow().Matches(Text).ToDictionary(
            m => ushort.Parse(m.Groups["code"].Value, CultureInfo.InvariantCulture),
            m => (Name: m.Groups["name"].Value, After: m.Groups["after"].Value));
        foreach (var code in Enum.GetValues<ErrorCode>().Where(c => c != ErrorCode.None))
        {
            Assert.True(rows.TryGetValue((ushort)code, out var row), $"{(ushort)code} ({code}) is not in PROTOCOL.md section 5");
            Assert.Equal(ErrorCodes.Name(code), row.Name);
            Assert.Equal(ErrorCodes.ClosesConnection(code), row.After.Contains("closed", StringComparison.Ordinal));
        }

        Assert.Equal(Enum.GetValues<ErrorCode>().Length - 1, rows.Count);
    }

    private static string UpperSnake(string pascal) => CapitalAfterLower().Replace(pascal, "$1_$2").ToUpperInvariant();

    [GeneratedRegex(@"^\| 0x(?<type>[0-9A-F]{2}) \| (?<name>[A-Z_]+) +\|", RegexOptions.Multiline)]
    private static partial Regex FrameRow();

    [GeneratedRegex(@"^\| (?<code>\d+) +\| (?<name>[A-Z_]+) +\|.*\| (?<after>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex ErrorRow();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex CapitalAfterLower();
}
