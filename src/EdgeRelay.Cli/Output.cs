using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRelay.Cli;

/// <summary>
/// Results go to stdout, as text for people or as one JSON object per line (<c>--json</c>) for scripts;
/// errors and progress go to stderr, so that a script's stdout holds only results.
/// </summary>
internal sealed class Output
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public Output(bool json)
    {
        Json = json;
    }

    public bool Json { get; }

    /// <summary>Writes <paramref name="text"/> for people, or <paramref name="value"/> as JSON.</summary>
    public void Result(object value, string text)
    {
        Console.Out.WriteLine(Json ? JsonSerializer.Serialize(value, JsonOptions) : text);
        Console.Out.Flush();
    }

    /// <summary>An error: a JSON object with a stable code on stdout with --json (scripts read one stream), always a line on stderr.</summary>
    public void Error(string code, string message)
    {
        if (Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new { error = code, message }, JsonOptions));
            Console.Out.Flush();
        }

        Console.Error.WriteLine($"error: {message}");
    }

    public static void Progress(string message) => Console.Error.WriteLine(message);
}
