#!/usr/bin/env bash
# The long form of the relay crash loop (CrashLoop/RelayCrashLoopTests.cs): the sending relay killed with SIGKILL
# KILLS times (default 25) under load, in both variants (receiving relay left alone, and killed too), then
# everything drained and checked. Prints each kill and the figures. Bounded: a variant that runs longer than
# MAX_MINUTES (default 30) is stopped and reported as hung.
#
#   tests/EdgeRelay.Server.Tests/crashloop.sh [KILLS] [SEED]
#
# SEED replays a run (both variants take it); without it each variant uses its own fixed seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CRASHLOOP_KILLS="${1:-25}"
if [[ $# -ge 2 ]]; then
  export CRASHLOOP_SEED="$2"
fi

# The suite's run settings stop a test after 10 minutes; the long form may take longer on a busy machine.
settings="$(mktemp --suffix=.runsettings)"
trap 'rm -f "$settings"' EXIT
cat > "$settings" <<XML
<RunSettings>
  <DataCollectionRunSettings>
    <DataCollectors>
      <DataCollector friendlyName="blame" enabled="True">
        <Configuration>
          <CollectDumpOnTestSessionHang TestTimeout="${MAX_MINUTES:-30}m" HangDumpType="None" />
        </Configuration>
      </DataCollector>
    </DataCollectors>
  </DataCollectionRunSettings>
</RunSettings>
XML

dotnet build tests/EdgeRelay.Server.Tests/EdgeRelay.Server.Tests.csproj -c Release --nologo -v quiet
dotnet test tests/EdgeRelay.Server.Tests/EdgeRelay.Server.Tests.csproj -c Release --no-build --settings "$settings" \
  --filter "FullyQualifiedName~CrashLoop.RelayCrashLoopTests" --logger "console;verbosity=detailed"
