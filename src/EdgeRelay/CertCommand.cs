using EdgeRelay.Server.Tls;

namespace EdgeRelay.Executable;

/// <summary>
/// <c>edgerelay cert dev [--out DIR] [--host NAME]... [--days N]</c>: writes a self-signed certificate and
/// its key (mode 0600) for the relay endpoint, and prints the options that use it and the pin clients check.
/// </summary>
internal static class CertCommand
{
    public const string Usage = "usage: edgerelay cert dev [--out DIR (default: tls)] [--host NAME_OR_IP]... (default: localhost, 127.0.0.1, ::1) [--days N (default: 365)]";

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] != "dev")
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var directory = "tls";
        var hosts = new List<string>();
        var days = 365;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--out" when value is not null:
                    directory = value;
                    i++;
                    break;
                case "--host" when value is not null:
                    hosts.Add(value);
                    i++;
                    break;
                case "--days" when int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out days) && days is > 0 and <= 3650:
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"edgerelay cert dev: unexpected '{args[i]}'.");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        if (hosts.Count == 0)
        {
            hosts.AddRange(["localhost", "127.0.0.1", "::1"]);
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
        return 0;
    }
}
