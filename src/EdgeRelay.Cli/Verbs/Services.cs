using System.CommandLine;
using System.Globalization;
using EdgeRelay.Protocol;
using EdgeRelay.RelationshipManager;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>services list|add|remove|sunset</c>: the relays that receive and send for you.</summary>
internal static class Services
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("services", "List, add, remove or sunset the relays that receive and send for you.");
        command.Subcommands.Add(List(g));
        command.Subcommands.Add(Add(g));
        command.Subcommands.Add(Remove(g));
        command.Subcommands.Add(Sunset(g));
        return command;
    }

    private static Command List(GlobalOptions g)
    {
        var check = new Option<bool>("--check") { Description = "Ask each relay now for its availability, limits and sending options (STATUS). Default: what this run already knows (nothing)." };
        var command = new Command("list", "Your services in the order they are used, with their state.") { check };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var services = await rm.GetServicesAsync(result.GetValue(check), cancellationToken);
            if (output.Json)
            {
                foreach (var s in services)
                {
                    output.Result(Json(s), "");
                }
            }
            else
            {
                output.Result(new { }, string.Join('\n', services.Select((s, i) => $"{i + 1}. {Describe(s)}")));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Add(GlobalOptions g)
    {
        var endpoint = new Argument<string>("HOST:PORT") { Description = "The relay's endpoint." };
        var receiving = new Option<bool>("--receiving") { Description = "Have it issue addresses for you: every relationship gets one there, announced to the contact." };
        var sending = new Option<bool>("--sending") { Description = "Send through it (needs --token or --token-file): tried in the order added, the next one when it fails." };
        var pin = new Option<string?>("--pin") { Description = "For a relay with TLS: the SHA-256 of its public key (hex or base64). Default: plain TCP.", HelpName = "PIN" };
        var token = new Option<string?>("--token") { Description = "An RM token of that relay (visible to other local users in the process list: prefer --token-file).", HelpName = "TOKEN" };
        var tokenFile = new Option<FileInfo?>("--token-file") { Description = "A file whose first line is the RM token.", HelpName = "FILE" };
        var batched = new Option<bool>("--batched") { Description = "Ask it to hold your messages to its next batch (timing privacy for latency) where it offers that; immediate otherwise." };
        var command = new Command("add", "Add a relay as a receiving and/or sending service, or add roles to one you have. It is asked first: it must answer and accept the token.")
        {
            endpoint, receiving, sending, pin, token, tokenFile, batched,
        };
        command.SetAction((result, cancellationToken) =>
        {
            var output = new Output(result.GetValue(g.Json));
            var use = (result.GetValue(receiving) ? ServiceUse.Receiving : ServiceUse.None) | (result.GetValue(sending) ? ServiceUse.Sending : ServiceUse.None);
            if (use == ServiceUse.None)
            {
                output.Error("usage", "Say what the service is for: --receiving, --sending, or both.");
                return Task.FromResult(ExitCodes.Usage);
            }

            byte[] pinBytes = [];
            if (result.GetValue(pin) is { } pinText && !Init.TryParsePin(pinText, out pinBytes))
            {
                output.Error("invalid-pin", "A pin is 32 bytes in hex (64 digits) or base64.");
                return Task.FromResult(ExitCodes.Usage);
            }

            var tokenText = result.GetValue(token);
            if (result.GetValue(tokenFile) is { } file)
            {
                if (!file.Exists)
                {
                    output.Error("usage", $"{file.FullName} does not exist.");
                    return Task.FromResult(ExitCodes.Usage);
                }

                tokenText = File.ReadLines(file.FullName).FirstOrDefault()?.Trim();
            }

            return RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
            {
                var added = await rm.AddServiceAsync(
                    result.GetValue(endpoint)!,
                    use,
                    pinBytes,
                    tokenText,
                    result.GetValue(batched) ? SendingMode.Batched : SendingMode.Immediate,
                    cancellationToken);
                output.Result(Json(added), $"Added {Describe(added)}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Remove(GlobalOptions g)
    {
        var endpoint = new Argument<string>("HOST:PORT") { Description = "The service's endpoint, as listed." };
        var command = new Command("remove", "Stop using a service. A receiving service must be sunset first, and its last address expired.") { endpoint };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var target = result.GetValue(endpoint)!;
            await rm.RemoveServiceAsync(target, cancellationToken);
            output.Result(new { removed = target }, $"Removed {target}.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Sunset(GlobalOptions g)
    {
        var endpoint = new Argument<string>("HOST:PORT") { Description = "The receiving service to retire." };
        var command = new Command("sunset", "Retire a receiving service without losing a message: no new address there, every contact told your other addresses, collected until its last address expires.") { endpoint };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var sunset = await rm.SunsetServiceAsync(result.GetValue(endpoint)!, cancellationToken);
            var next = sunset.State == ServiceState.ReadyToDrop
                ? "Nothing handed out there can still receive: remove it with 'edgerelay-rm services remove'."
                : $"Your contacts now have your other addresses. Keep running inbox: what was sent to the old ones arrives until {Time(sunset.CollectUntil)}. After that 'services list' shows it ready to drop.";
            output.Result(Json(sunset), $"Sunset {sunset.Endpoint}. {next}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(ServiceInfo s)
    {
        var roles = string.Join(", ", new[] { s.Use.HasFlag(ServiceUse.Receiving) ? "receiving" : null, s.Use.HasFlag(ServiceUse.Sending) ? $"sending ({Mode(s.SendingMode)})" : null }.OfType<string>());
        var state = s.State switch
        {
            ServiceState.Sunsetting => $"sunsetting, collecting until {Time(s.CollectUntil)}",
            ServiceState.ReadyToDrop => "ready to drop: remove it",
            _ => "active",
        };
        var status = s.Status is { } st
            ? $"; {Availability(st)}, at most {st.MaxSendViaCiphertext} bytes to forward, options {string.Join(" ", st.SendingOptions.Select(Option))}"
            : "";
        var error = s.LastError is null ? "" : $"; last failure: {s.LastError}";
        var others = s.OtherEndpoints.Count == 0 ? "" : $" (also {string.Join(", ", s.OtherEndpoints)})";
        return $"{s.Endpoint}{others}  {roles}  {state}, {s.Addresses} live address(es){status}{error}";
    }

    private static object Json(ServiceInfo s) => new
    {
        endpoint = s.Endpoint,
        otherEndpoints = s.OtherEndpoints,
        receiving = s.Use.HasFlag(ServiceUse.Receiving),
        sending = s.Use.HasFlag(ServiceUse.Sending),
        hasToken = s.HasToken,
        sendingMode = Mode(s.SendingMode),
        state = s.State,
        sunsetAt = s.SunsetAt,
        collectUntil = s.CollectUntil,
        addresses = s.Addresses,
        status = s.Status is { } st ? new
        {
            availability = Availability(st),
            reason = st.Reason.Length == 0 ? null : st.Reason,
            maxCiphertext = st.MaxCiphertext,
            maxSendViaCiphertext = st.MaxSendViaCiphertext,
            sendingOptions = st.SendingOptions.Select(Option).ToArray(),
        } : null,
        lastError = s.LastError,
    };

    private static string Mode(SendingMode mode) => mode == SendingMode.Batched ? "batched" : "immediate";

    private static string Option(SendingOption o) =>
        o.Mode == SendingMode.Batched ? string.Create(CultureInfo.InvariantCulture, $"batched:{o.DelayMilliseconds / 1000.0:0.###}s") : Mode(o.Mode);

    private static string Availability(RelayStatus status) =>
        status.Availability switch
        {
            EdgeRelay.Protocol.Availability.Degraded => $"degraded ({status.Reason})",
            EdgeRelay.Protocol.Availability.Draining => "draining",
            _ => "accepting",
        };

    private static string Time(DateTimeOffset? at) => at?.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) ?? "now";
}
