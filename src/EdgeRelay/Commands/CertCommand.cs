using System.CommandLine;
using EdgeRelay.Server.Tls;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// <c>edgerelay cert dev [--out DIR] [--host NAME]... [--days N]</c>: writes a self-signed certificate and its
/// key (mode 0600) for the relay endpoint, and prints the options that use it and the pin clients check.
/// </summary>
internal static class CertCommand
{
    internal static Command Create()
    {
        var directory = new Option<string>("--out") { Description = "The folder to write relay.crt and relay.key into.", HelpName = "DIR", DefaultValueFactory = _ => "tls" };
        var hosts = new Option<string[]>("--host")
        {
            Description = "A name or IP address the certificate is for; repeat for several (default: localhost, 127.0.0.1, ::1).",
            HelpName = "NAME_OR_IP",
            AllowMultipleArgumentsPerToken = false,
        };
        var days = new Option<int>("--days") { Description = "How long it is valid, 1 to 3650 days.", HelpName = "N", DefaultValueFactory = _ => 365 };
        days.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 3650)
            {
                r.AddError("--days must be from 1 to 3650.");
            }
        });

        var dev = new Command("dev", "Writes a self-signed certificate and its key (mode 0600) for testing, and prints the options that use it and its pin.")
        {
            directory, hosts, days,
        };
        dev.SetAction(result => Run(result.GetValue(directory)!, result.GetValue(hosts) ?? [], result.GetValue(days)));
        return new Command("cert", "TLS certificates for the relay endpoint.") { dev };
    }

    private static int Run(string directory, string[] hosts, int days)
    {
        if (hosts.Length == 0)
        {
            hosts = ["localhost", "127.0.0.1", "::1"];
        }

        Directory.CreateDirectory(directory);
        var certificatePath = Path.GetFullPath(Path.Combine(directory, "relay.crt"));
        var keyPath = Path.GetFullPath(Path.Combine(directory, "relay.key"));
        using var certificate = RelayCertificates.CreateSelfSigned(hosts, TimeSpan.FromDays(days));
        RelayCertificates.WritePem(certificate, certificatePath, keyPath);
        var pin = Convert.ToHexStringLower(RelayCertificates.Pin(certificate));

        Console.WriteLine($"Wrote a self-signed certificate for {string.Join(", ", hosts)}, valid {days} days:");
        Console.WriteLine($"  certificate: {certificatePath}");
        Console.WriteLine($"  key:         {keyPath} (mode 0600)");
        Console.WriteLine($"Start the relay with it:");
        Console.WriteLine($"  --Tls:CertificatePath={certificatePath} --Tls:KeyPath={keyPath}");
        Console.WriteLine($"Clients pin the key's SHA-256 (the relay also puts it in HELLO and in every card it issues):");
        Console.WriteLine($"  pin: {pin}");
        return ExitCodes.Ok;
    }
}
