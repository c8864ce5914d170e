using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

/// <summary>What <see cref="RelayServer.ApplyConfiguration"/> did with a reloaded configuration.</summary>
/// <param name="Applied">Options that changed and now apply (for a change of the Sending section, connected RMs were sent a CONFIG frame).</param>
/// <param name="NeedRestart">Options that changed but apply only from the next start; they were left as they are.</param>
/// <param name="Problems">Why nothing was applied (the reloaded configuration is invalid), each naming its option.</param>
public sealed record ConfigurationChange(IReadOnlyList<string> Applied, IReadOnlyList<string> NeedRestart, IReadOnlyList<string> Problems);

public sealed partial class RelayServer
{
    private readonly Lock _configurationLock = new();
    private SendingOptions _sending = null!;
    private uint _configVersion = 1;

    /// <summary>The sending configuration in effect (reloadable; see <see cref="ApplyConfiguration"/>).</summary>
    public SendingOptions Sending => Volatile.Read(ref _sending);

    /// <summary>The roles this relay plays (fixed at start).</summary>
    public ServiceRoles Roles { get; private set; }

    /// <summary>Largest ciphertext SEND_VIA accepts now.</summary>
    public int MaxSendViaCiphertext => Math.Min(Sending.EffectiveMaxCiphertextBytes(Options.Relay), StorageBackends.MaxOutboundCiphertext(Forwarding.Queue));

    /// <summary>
    /// The relay's status as STATUS reports it: availability, limits, capacity and sending options. Read
    /// field by field, not as one atomic snapshot: it is advice for clients choosing a service.
    /// </summary>
    public RelayStatus GetStatus()
    {
        var stats = Storage.GetStatistics();
        var budget = Options.Storage.MaxDiskBytes;
        ulong diskHeadroom = budget == 0 ? RelayStatus.Unlimited : (ulong)Math.Max(0, budget - (stats.LogTailAddress - stats.LogBeginAddress));
        var sending = (Roles & ServiceRoles.Sending) != 0;
        var attachmentBudget = Attachments.BudgetBytes;
        ulong attachmentHeadroom = !sending ? 0
            : attachmentBudget == 0 ? RelayStatus.Unlimited
            : (ulong)Math.Max(0, attachmentBudget - Attachments.UsedBytes);
        var outbound = sending ? OutboundStatistics() : default;
        var forwarding = Options.Forwarding;
        var (availability, reason) = IsShuttingDown
            ? (Availability.Draining, "the relay is shutting down")
            : IsDraining ? (Availability.Draining, "the relay's operator drained it: it takes no new messages")
            : budget > 0 && diskHeadroom < (ulong)(budget / 20)
                ? (Availability.Degraded, "the message log is within 5% of its disk budget")
                : sending && attachmentBudget > 0 && attachmentHeadroom < (ulong)(attachmentBudget / 20)
                    ? (Availability.Degraded, "the attachment store is within 5% of its disk budget")
                    : sending && (outbound.QueuedMessages * 20 >= forwarding.MaxQueuedMessages * 19L || outbound.QueuedBytes * 20 >= forwarding.MaxQueuedBytes * 19)
                        ? (Availability.Degraded, "the outbound queue is within 5% of its budget")
                        : (Availability.Accepting, "");
        return new RelayStatus
        {
            Availability = availability,
            Reason = reason,
            Roles = Roles,
            ConfigVersion = Volatile.Read(ref _configVersion),
            MaxCiphertext = (Roles & ServiceRoles.Receiving) != 0 ? (uint)Options.Relay.MaxCiphertextBytes : 0,
            MaxSendViaCiphertext = sending ? (uint)MaxSendViaCiphertext : 0,
            DiskHeadroom = diskHeadroom,
            MaxAttachment = sending ? (ulong)Attachments.MaxBytes : 0,
            AttachmentHeadroom = attachmentHeadroom,
            OutboundMessages = (ulong)outbound.QueuedMessages,
            OutboundBytes = (ulong)outbound.QueuedBytes,
            SendingOptions = sending ? Sending.Offered() : [],
        };
    }

    private Storage.OutboundStatistics OutboundStatistics()
    {
        try
        {
            return Forwarding.Queue.GetStatistics();
        }
        catch (ObjectDisposedException)
        {
            return default; // closing down: the availability says draining anyway
        }
    }

    /// <summary>
    /// Applies a reloaded configuration. What changes live: the Sending section (every connection that asked
    /// for STATUS or presented an RM token is sent a CONFIG frame with the new values), the Limits section (for
    /// connections admitted and SENDs made from now on), the TLS certificate (its files are read again whether or
    /// not their names changed; new handshakes get it, open connections keep theirs) and the Notify options of
    /// <see cref="LiveNotifyOptions"/>. A change anywhere else is reported as needing a restart and left as it
    /// is. An invalid configuration, or a certificate that does not load, changes nothing. The token file is
    /// reread too. Connections are never closed by a reload.
    /// </summary>
    /// <param name="reloaded">The configuration as it reads now.</param>
    /// <param name="loadProblems">Problems found while reading it (unknown keys, values that do not convert): any refuses the reload.</param>
    public ConfigurationChange ApplyConfiguration(EdgeRelayOptions reloaded, IReadOnlyList<string>? loadProblems = null)
    {
        ArgumentNullException.ThrowIfNull(reloaded);
        var problems = loadProblems is { Count: > 0 } ? loadProblems : reloaded.Validate();
        if (problems.Count > 0)
        {
            RelayLog.ReloadRefused(Logger, string.Join(" ", problems));
            return new ConfigurationChange([], [], problems);
        }

        lock (_configurationLock)
        {
            // The certificate first: one that does not load refuses the whole reload before anything changed.
            var restart = new List<string>();
            var tlsApplied = new List<string>();
            if (!TryReloadCertificate(reloaded.Tls, tlsApplied, restart, out var identity, out var tlsProblem))
            {
                RelayLog.ReloadRefused(Logger, tlsProblem);
                return new ConfigurationChange([], [], [tlsProblem]);
            }

            Tokens.Reload();
            var sending = Differences("Sending", Sending, reloaded.Sending);
            var limits = Differences("Limits", Limits, reloaded.Limits);
            var notify = Differences("Notify", Options.Notify, reloaded.Notify);
            var notifyLive = notify.Where(o => LiveNotifyOptions.Contains(o[(o.IndexOf(':', StringComparison.Ordinal) + 1)..])).ToList();
            restart.AddRange(notify.Except(notifyLive));
            foreach (var section in typeof(EdgeRelayOptions).GetProperties())
            {
                if (section.Name is not (nameof(EdgeRelayOptions.Sending) or nameof(EdgeRelayOptions.Limits) or nameof(EdgeRelayOptions.Notify) or nameof(EdgeRelayOptions.Tls)))
                {
                    restart.AddRange(Differences(section.Name, section.GetValue(Options)!, section.GetValue(reloaded)!));
                }
            }

            if (restart.Count > 0)
            {
                RelayLog.ReloadNeedsRestart(Logger, string.Join(", ", restart));
            }

            List<string> applied = [.. sending, .. limits, .. notifyLive, .. tlsApplied];
            if (applied.Count == 0)
            {
                return new ConfigurationChange([], restart, []);
            }

            if (limits.Count > 0)
            {
                Volatile.Write(ref _limits, reloaded.Limits.Copy());
            }

            if (notifyLive.Count > 0)
            {
                ApplyNotify(reloaded.Notify);
            }

            if (identity is not null)
            {
                ApplyCertificate(identity, reloaded.Tls);
            }

            if (sending.Count > 0)
            {
                Volatile.Write(ref _sending, Copy(reloaded.Sending));
                Interlocked.Increment(ref _configVersion);
                var frame = new ArrayBufferWriter<byte>(128);
                GetStatus().Write(frame, FrameType.Config, 0);
                var bytes = frame.WrittenSpan.ToArray();
                foreach (var session in _sessions.Values)
                {
                    session.PushConfig(bytes);
                }
            }

            Metrics.ConfigurationReloads.Inc();
            RelayLog.ReloadApplied(Logger, string.Join(", ", applied), _configVersion);
            return new ConfigurationChange(applied, restart, []);
        }
    }

    private void InitialiseConfiguration(EdgeRelayOptions options)
    {
        _sending = Copy(options.Sending);
        _limits = options.Limits.Copy();
        Roles = options.Roles.ToFlags();
    }

    private static SendingOptions Copy(SendingOptions source) => new() { MaxCiphertextBytes = source.MaxCiphertextBytes, BatchedDelay = source.BatchedDelay };

    /// <summary>"Section:Option" for each option whose value differs.</summary>
    private static List<string> Differences(string section, object before, object after)
    {
        var changed = new List<string>();
        foreach (var property in before.GetType().GetProperties().Where(p => p.CanWrite))
        {
            // A section inside a section (Storage:JetStream) is compared key by key, as its parent is.
            if (EdgeRelayOptions.IsSection(property.PropertyType)
                && property.GetValue(before) is { } innerBefore && property.GetValue(after) is { } innerAfter)
            {
                changed.AddRange(Differences($"{section}:{property.Name}", innerBefore, innerAfter));
                continue;
            }

            if (!SameValue(property.GetValue(before), property.GetValue(after)))
            {
                changed.Add($"{section}:{property.Name}");
            }
        }

        return changed;
    }

    /// <summary>Values compare by content: a map or list read from a file is a new object every time.</summary>
    private static bool SameValue(object? before, object? after) => (before, after) switch
    {
        (System.Collections.IDictionary x, System.Collections.IDictionary y) =>
            x.Count == y.Count && x.Keys.Cast<object>().All(k => y.Contains(k) && Equals(x[k], y[k])),
        (System.Collections.IEnumerable x, System.Collections.IEnumerable y) when before is not string =>
            x.Cast<object?>().SequenceEqual(y.Cast<object?>()),
        _ => Equals(before, after),
    };
}
