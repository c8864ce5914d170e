using System.CommandLine;

namespace EdgeRelay.Cli;

/// <summary>The options every verb shares: where the RM lives, how the passphrase is given, and the output format.</summary>
internal sealed class GlobalOptions
{
    public const string HomeVariable = "EDGERELAY_RM_HOME";

    public Option<string?> Home { get; } = new("--home")
    {
        Description = $"The RM's state directory (sealed keys and SQLite database). Default: ${HomeVariable}, else 'edgerelay-rm' under the user's data directory ({DefaultHome()}).",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<FileInfo?> PassphraseFile { get; } = new("--passphrase-file")
    {
        Description = $"Read the passphrase from the first line of this file. Default: ${Passphrase.Variable}, else a prompt on the terminal.",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Write results as JSON (one object per line) for scripts.",
        Recursive = true,
    };

    public static string DefaultHome() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "edgerelay-rm");

    public string ResolveHome(ParseResult result) =>
        result.GetValue(Home) is { Length: > 0 } given ? given
        : Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : DefaultHome();
}
