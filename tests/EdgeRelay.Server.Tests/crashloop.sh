#!/usr/bin/env bash
# The long form of the relay crash loop (CrashLoop/RelayCrashLoopTests.cs): the sending relay killed with SIGKILL
# KILLS times (default 25) under load, in both variants (receiving relay left alone, and killed too), then
# everything drained and checked. Prints each kill and the figures. Bounded: the run is stopped after
# MAX_MINUTES (default 20).
#
#   tests/EdgeRelay.Server.Tests/crashloop.sh [KILLS] [SEED]
#
# SEED replays a run (both variants take it); without it each variant uses its own fixed seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
kills="${1:-25}"
export EDGERELAY_CRASHLOOP_KILLS="$kills"
if [[ $# -ge 2 ]]; then
  export EDGERELAY_CRASHLOOP_SEED="$2"
fi

dotnet build tests/EdgeRelay.Server.Tests/EdgeRelay.Server.Tests.csproj -c Release --nologo -v quiet
timeout "$(( ${MAX_MINUTES:-20} * 60 ))" \
  dotnet test tests/EdgeRelay.Server.Tests/EdgeRelay.Server.Tests.csproj -c Release --no-build \
    --filter "FullyQualifiedName~CrashLoop.RelayCrashLoopTests" --logger "console;verbosity=detailed"
