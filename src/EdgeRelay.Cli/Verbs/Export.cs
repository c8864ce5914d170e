using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>export --out FILE</c>.</summary>
internal static class Export
{
    public static Command Build(GlobalOptions g)
    {
        var output = new Option<FileInfo>("--out") { Description = "Where to write the export (JSON Lines); - for stdout. Refuses to overwrite a file.", Required = true, HelpName = "FILE" };
        var command = new Command("export", "Write your contacts and messages as JSON Lines (docs/RM-LIBRARY.md): your data, with public keys only, never a private one.") { output };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, printer) =>
        {
            var target = result.GetValue(output)!;
            if (target.Name == "-")
            {
                await using var stdout = Console.OpenStandardOutput();
                await rm.ExportAsync(stdout, cancellationToken);
                return ExitCodes.Ok;
            }

            if (target.Exists)
            {
                printer.Error("file-exists", $"{target.FullName} exists; choose another file.");
                return ExitCodes.Usage;
            }

            // Owner-only: the export holds every message.
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var file = new FileStream(target.FullName, create))
            {
                await rm.ExportAsync(file, cancellationToken);
            }

            printer.Result(new { file = target.FullName }, $"Exported to {target.FullName}.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
