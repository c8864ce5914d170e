using System.Globalization;

namespace EdgeRelay.LoadTest;

/// <summary>Durations as operators type them: <c>500ms</c>, <c>20s</c>, <c>1.5m</c>, <c>1h</c>; a bare number is seconds.</summary>
internal static class DurationText
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        double unitSeconds = 1;
        if (s.EndsWith("ms", StringComparison.OrdinalIgnoreCase))
        {
            unitSeconds = 0.001;
            s = s[..^2];
        }
        else if (s.EndsWith('s') || s.EndsWith('S'))
        {
            s = s[..^1];
        }
        else if (s.EndsWith('m') || s.EndsWith('M'))
        {
            unitSeconds = 60;
            s = s[..^1];
        }
        else if (s.EndsWith('h') || s.EndsWith('H'))
        {
            unitSeconds = 3600;
            s = s[..^1];
        }

        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number) || number * unitSeconds > TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(number * unitSeconds);
        return true;
    }

    public static string Format(TimeSpan value) => value switch
    {
        { TotalHours: >= 1 } when value.TotalHours == Math.Floor(value.TotalHours) => ((long)value.TotalHours).ToString(CultureInfo.InvariantCulture) + "h",
        { TotalMinutes: >= 1 } when value.TotalMinutes == Math.Floor(value.TotalMinutes) => ((long)value.TotalMinutes).ToString(CultureInfo.InvariantCulture) + "m",
        { TotalSeconds: >= 1 } => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s",
        _ => value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms",
    };
}
