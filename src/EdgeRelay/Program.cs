using System.CommandLine;
using EdgeRelay.Executable;
using EdgeRelay.Executable.Commands;

// The verbs; serve also runs when none is given. A new verb is one line here: a class in Commands/ whose
// Create() returns its configured System.CommandLine.Command.
Command[] verbs =
[
    ServeCommand.Create(),
    CheckConfigCommand.Create(),
    CertCommand.Create(),
    HealthCheckCommand.Create(),
    TokensCommand.Create(),
    AdminCommand.Create(),
    BackupCommand.Create(),
    RestoreCommand.Create(),
];

return await RelayCommandLine.RunAsync(args, verbs);
