#!/usr/bin/env bash
# Fuzzes the decoders with afl-fuzz (Debian package afl++) and SharpFuzz: builds the harness in Release,
# instruments the assemblies under test, runs afl-fuzz on each target for a bounded time, and prints per target
# the executions, executions a second, corpus size, crashes and hangs from afl-fuzz's fuzzer_stats.
#
#   tests/EdgeRelay.Fuzzing/fuzz.sh                       every target, 10 s each (the short form CI runs)
#   tests/EdgeRelay.Fuzzing/fuzz.sh --seconds 600         the long form
#   tests/EdgeRelay.Fuzzing/fuzz.sh --targets frame,ack --seconds 60 --work /tmp/fuzz
#   fuzz.sh --build-only --work DIR, then fuzz.sh --no-build --work DIR ...   build once, fuzz several times
#
# Exit 0 when no target crashed or hung; 1 when one did (the inputs are copied to WORK/findings/TARGET/, to be
# fixed and then added to tests/EdgeRelay.Fuzzing/regressions/TARGET/); 2 when the campaign could not run.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
seconds=10
targets=""
work=""
build=yes
fuzz=yes

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --build-only) fuzz=no; shift ;;
    --no-build) build=no; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

case "$seconds" in ''|*[!0-9]*|0) echo "fuzz.sh: --seconds takes a positive whole number" >&2; exit 2 ;; esac
command -v afl-fuzz >/dev/null 2>&1 || { echo "fuzz.sh: afl-fuzz not found (apt-get install afl++)" >&2; exit 2; }
work="${work:-$(mktemp -d -t edgerelay-fuzz.XXXXXX)}"
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

bin="$work/bin"
harness=(dotnet "$bin/EdgeRelay.Fuzzing.dll")
if [ "$build" = yes ]; then
  # The instrumentation tool, pinned, installed once per machine beside the NuGet cache rather than globally.
  tools="${EDGERELAY_FUZZ_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edgerelay-fuzz/sharpfuzz-2.3.0}"
  if [ ! -x "$tools/sharpfuzz" ]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
  fi

  # A fresh publish: sharpfuzz rewrites the assemblies in place and refuses ones already instrumented.
  rm -rf "$bin"
  dotnet publish "$here/EdgeRelay.Fuzzing.csproj" -c Release -o "$bin" --verbosity quiet >"$work/publish.log" 2>&1 \
    || { cat "$work/publish.log" >&2; echo "fuzz.sh: build failed" >&2; exit 2; }
  # Listed before instrumenting: instrumented code outside afl-fuzz (or SharpFuzz's own runner) has no coverage map.
  "${harness[@]}" --list >"$bin/targets.txt"
  for assembly in EdgeRelay.Core EdgeRelay.Protocol EdgeRelay.Addressing EdgeRelay.Attachments EdgeRelay.RelationshipManager; do
    "$tools/sharpfuzz" "$bin/$assembly.dll" >/dev/null || { echo "fuzz.sh: could not instrument $assembly" >&2; exit 2; }
  done
  touch "$bin/instrumented"
elif [ ! -f "$bin/instrumented" ]; then
  echo "fuzz.sh: --no-build needs a --work directory where fuzz.sh has built (--build-only)" >&2
  exit 2
fi
[ "$fuzz" = yes ] || exit 0
targets="${targets:-$(paste -sd, - <"$bin/targets.txt")}"

# The harness is a dotnet program, not an afl-instrumented binary; afl-fuzz shares the machine, so it binds to
# no core; dotnet starts slowly, hence the long fork-server start-up allowance.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FORKSRV_INIT_TMOUT=60000 AFL_QUIET=1

stat() { sed -n "s/^$1 *: *//p" "$2" | head -n 1; }

findings=0
printf '%-20s %12s %9s %7s %8s %6s %8s\n' target executions execs/s corpus crashes hangs seconds
IFS=, read -r -a chosen <<<"$targets"
for target in "${chosen[@]}"; do
  [ -d "$here/corpus/$target" ] || { echo "fuzz.sh: no corpus for target $target" >&2; exit 2; }
  # afl-fuzz starts from the seeds and from every input that once crashed or hung.
  input="$work/in/$target"
  rm -rf "$input" "$work/afl/$target"
  mkdir -p "$input" "$work/afl"
  cp "$here/corpus/$target"/* "$input/"
  if [ -d "$here/regressions/$target" ]; then
    for f in "$here/regressions/$target"/*; do [ -f "$f" ] && cp "$f" "$input/regression-$(basename "$f")"; done
  fi

  # -V ends the campaign after the given time; timeout only guards a stuck start-up.
  status=0
  timeout $((seconds + 180)) afl-fuzz -i "$input" -o "$work/afl/$target" -t 5000 -m none -V "$seconds" \
    -- "${harness[@]}" "$target" >"$work/afl-$target.log" 2>&1 || status=$?
  stats="$work/afl/$target/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    tail -n 30 "$work/afl-$target.log" >&2
    echo "fuzz.sh: afl-fuzz did not run target $target (exit $status); log: $work/afl-$target.log" >&2
    exit 2
  fi

  # AFL++ 4 names them saved_crashes and corpus_count; older versions unique_crashes and paths_total.
  crashes="$(stat saved_crashes "$stats")"; crashes="${crashes:-$(stat unique_crashes "$stats")}"
  hangs="$(stat saved_hangs "$stats")"; hangs="${hangs:-$(stat unique_hangs "$stats")}"
  corpus="$(stat corpus_count "$stats")"; corpus="${corpus:-$(stat paths_total "$stats")}"
  started="$(stat start_time "$stats")"; updated="$(stat last_update "$stats")"
  printf '%-20s %12s %9s %7s %8s %6s %8s\n' "$target" "$(stat execs_done "$stats")" "$(stat execs_per_sec "$stats")" \
    "$corpus" "${crashes:-0}" "${hangs:-0}" "$((updated - started))"

  if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
    findings=1
    mkdir -p "$work/findings/$target"
    for kind in crashes hangs; do
      for f in "$work/afl/$target/default/$kind"/id:*; do
        [ -f "$f" ] && cp "$f" "$work/findings/$target/$kind-$(basename "$f" | tr ':,' '-_')"
      done
    done
  fi
done

if [ "$findings" -ne 0 ]; then
  echo "fuzz.sh: crashes or hangs found; inputs in $work/findings (replay one: dotnet $bin/EdgeRelay.Fuzzing.dll TARGET < FILE)"
  exit 1
fi
echo "fuzz.sh: no crash, no hang (work directory $work)"
