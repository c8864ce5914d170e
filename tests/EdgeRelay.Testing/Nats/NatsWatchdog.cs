using System.Diagnostics;
using System.Globalization;

namespace EdgeRelay.Testing.Nats;

/// <summary>
/// A small shell process that kills a cluster's servers and deletes its directory once the process that owns
/// the cluster is gone. A process-exit hook covers an orderly exit, but the blame collector (tests.runsettings)
/// SIGKILLs a hung test host, and then nothing in it runs: without this, its servers would keep their ports and
/// stores for ever. It stops by itself once the directory is deleted (a dispose), and is killed on dispose too.
/// </summary>
/// <remarks>
/// Each running node keeps its process id in <c>pid</c> beside its config (see <see cref="NatsNode.Start"/>), so
/// a node restarted under a new id is still found. It polls once a second: the servers outlive their owner by
/// about that long.
/// </remarks>
internal sealed class NatsWatchdog : IDisposable
{
    private const string Script = """
        owner=$1 dir=$2
        while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
        [ -d "$dir" ] || exit 0
        for f in "$dir"/*/pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
        rm -rf "$dir"
        """;

    private readonly Process _process;

    private NatsWatchdog(Process process) => _process = process;

    public static NatsWatchdog Start(int ownerPid, string directory)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            // Nothing is expected on them; redirected so that nothing reaches the test host's console either.
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-c", Script, "edgerelay-nats-watchdog", ownerPid.ToString(CultureInfo.InvariantCulture), directory })
        {
            info.ArgumentList.Add(argument);
        }

        return new NatsWatchdog(Process.Start(info)!);
    }

    public void Dispose()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already stopped by itself.
        }

        _process.Dispose();
    }
}
