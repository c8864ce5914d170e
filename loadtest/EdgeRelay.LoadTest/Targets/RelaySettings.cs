using System.ComponentModel;
using System.Globalization;
using EdgeRelay.Server;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// <c>--relay-setting Section:Key=Value</c>: a relay option that the run changes from what
/// <see cref="EdgeRelayTarget.StartedRelayOptions"/> sets, for the relay a run starts (in either host). The
/// names are the relay's own configuration keys (docs/OPERATIONS.md), e.g.
/// <c>Relay:ResolveMissesPerSecond=1000000</c> to measure fresh addresses without the per-connection budget of
/// HPKE opens. The child process gets it as a command-line option, the in-process relay on its options object.
/// </summary>
internal static class RelaySettings
{
    /// <summary>Splits <c>Section:Key=Value</c>; false when it is not of that form.</summary>
    public static bool TrySplit(string setting, out string section, out string key, out string value)
    {
        section = key = value = "";
        int equals = setting.IndexOf('=', StringComparison.Ordinal);
        int colon = equals < 0 ? -1 : setting.AsSpan(0, equals).IndexOf(':');
        if (colon <= 0 || equals <= colon + 1)
        {
            return false;
        }

        section = setting[..colon];
        key = setting[(colon + 1)..equals];
        value = setting[(equals + 1)..];
        return true;
    }

    /// <summary>Sets one setting on <paramref name="options"/>; returns what is wrong with it, or null.</summary>
    public static string? Apply(EdgeRelayOptions options, string setting)
    {
        if (!TrySplit(setting, out var sectionName, out var key, out var value))
        {
            return $"--relay-setting: '{setting}' is not Section:Key=Value (e.g. Relay:ResolveMissesPerSecond=1000000).";
        }

        var sectionProperty = typeof(EdgeRelayOptions).GetProperty(sectionName, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
        var section = sectionProperty?.GetValue(options);
        var property = section?.GetType().GetProperty(key, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
        if (section is null || property is null || !property.CanWrite)
        {
            return $"--relay-setting: '{sectionName}:{key}' is not a relay option.";
        }

        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        try
        {
            property.SetValue(section, TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value));
            return null;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            return $"--relay-setting: '{value}' is not a value for {sectionName}:{key} ({type.Name}).";
        }
    }

    /// <summary>Every problem with <paramref name="settings"/>, including values the relay itself would refuse.</summary>
    public static IEnumerable<string> Problems(IReadOnlyList<string> settings)
    {
        if (settings.Count == 0)
        {
            return [];
        }

        var options = EdgeRelayTarget.StartedRelayOptions("data", "127.0.0.1:0", "127.0.0.1:0");
        var problems = settings.Select(s => Apply(options, s)).OfType<string>().ToList();
        return problems.Count > 0 ? problems : options.Validate().Select(p => "--relay-setting: the relay refuses it: " + p);
    }

    /// <summary>The settings as the child's command-line options, after the run's own (the later one wins).</summary>
    public static IEnumerable<string> Arguments(IReadOnlyList<string> settings) =>
        settings.Select(s => TrySplit(s, out var section, out var key, out var value)
            ? string.Create(CultureInfo.InvariantCulture, $"--{section}:{key}={value}")
            : throw new ArgumentException($"'{s}' is not Section:Key=Value.", nameof(settings)));
}
