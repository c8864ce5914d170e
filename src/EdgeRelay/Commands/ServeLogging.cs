using EdgeRelay.Server;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Executable.Commands;

/// <summary>The relay's console logging: one line per event, UTC timestamps, text or JSON (Log:Format).</summary>
internal static class ServeLogging
{
    public static void Configure(ILoggingBuilder logging, LogSection log)
    {
        if (log.IsJson)
        {
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        logging.SetMinimumLevel(log.MinimumLevel);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);

        // The host logs a failed start (a port in use) with its stack trace before throwing it; serve catches the
        // exception and says what happened in one line, or rethrows what it did not foresee.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    }
}
