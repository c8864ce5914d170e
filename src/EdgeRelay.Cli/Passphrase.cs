using System.Text;

namespace EdgeRelay.Cli;

/// <summary>Where the passphrase comes from: a file, the environment (for scripts), or a prompt that does not echo.</summary>
internal static class Passphrase
{
    public const string Variable = "EDGERELAY_RM_PASSPHRASE";

    /// <summary>The passphrase, or null (with the reason on stderr) when none can be had.</summary>
    /// <param name="confirm">Ask twice on a prompt (init: a typo would lock the user out).</param>
    public static string? Read(FileInfo? file, bool confirm, Output output)
    {
        if (file is not null)
        {
            if (!file.Exists)
            {
                output.Error("no-passphrase", $"passphrase file {file.FullName} does not exist.");
                return null;
            }

            using var reader = file.OpenText();
            return NonEmpty(reader.ReadLine(), output);
        }

        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        if (Console.IsInputRedirected)
        {
            output.Error("no-passphrase", $"no passphrase: give --passphrase-file or set {Variable} (there is no terminal to prompt on).");
            return null;
        }

        var first = Prompt("Passphrase: ", output);
        if (confirm && first is not null && Prompt("Again: ", output) != first)
        {
            output.Error("no-passphrase", "the two passphrases differ.");
            return null;
        }

        return first;
    }

    private static string? NonEmpty(string? passphrase, Output output)
    {
        if (string.IsNullOrEmpty(passphrase))
        {
            output.Error("no-passphrase", "the passphrase is empty.");
            return null;
        }

        return passphrase;
    }

    private static string? Prompt(string label, Output output)
    {
        Console.Error.Write(label);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }

                continue;
            }

            if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return NonEmpty(text.ToString(), output);
    }
}
