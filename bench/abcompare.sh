#!/usr/bin/env bash
# abcompare.sh A B ROUNDS CONNS INFLIGHT N: two diamload builds, interleaved. A and B are diamload
# binaries (say A = main before a change, B = the change); each round runs the A client against
# A's `diamload serve`, the B client against B's, and the floor client (../shared/bench/floor)
# against a third serve (built from A), each in its own process, closed loop, N requests.
# Prints per run and as medians: client CPU per ECR, ECR/s, allocations per ECR, and the
# responder's CPU per answer (its utime+stime from /proc over the run, divided by the run's
# requests: so it includes the run's warm-up, the same for A and B), then the paired ratios
# B/A and B/floor (bench/pairs.py). Run from the project root; needs python3.
# Example: go build -o /tmp/B ./cmd/diamload; git stash; go build -o /tmp/A ./cmd/diamload; ...
#          bench/abcompare.sh /tmp/A /tmp/B 7 2 256 1000000   (2 × 128 in flight)
set -eu
a=$1; b=$2; rounds=$3; conns=$4; inflight=$5; n=$6
root=$(pwd)
floorsrc=${FLOOR_SRC:-$root/../shared/bench/floor}
w=$(mktemp -d "${TMPDIR:-/tmp}/abcompare.XXXXXX")
echo "work dir $w"
(cd "$floorsrc" && go build -o "$w/floor" .)

base=$((22000 + RANDOM % 500)) # below the ephemeral ports (32768-60999 here): no client socket holds it
id="--origin-host eir.perf.local --origin-realm perf.local"
"$a" serve --listen 127.0.0.1:$base $id >"$w/serve-a.log" 2>&1 & pa=$!
"$b" serve --listen 127.0.0.1:$((base + 1)) $id >"$w/serve-b.log" 2>&1 & pb=$!
"$a" serve --listen 127.0.0.1:$((base + 2)) $id >"$w/serve-floor.log" 2>&1 & pf=$!
trap 'kill -INT $pa $pb $pf 2>/dev/null || true' EXIT
for port in $base $((base + 1)) $((base + 2)); do
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
run="run --origin-host gw.perf.local --origin-realm perf.local --dest-realm perf.local --identity-per-conn --quiet -n $n -c $inflight --conns $conns"
for r in $(seq "$rounds"); do
  t0=$(ticks $pa); "$a" $run --dra 127.0.0.1:$base --json "$w/a-$r.json" >/dev/null 2>"$w/a-$r.err"
  echo $(($(ticks $pa) - t0)) >"$w/a-$r.srv"
  t0=$(ticks $pb); "$b" $run --dra 127.0.0.1:$((base + 1)) --json "$w/b-$r.json" >/dev/null 2>"$w/b-$r.err"
  echo $(($(ticks $pb) - t0)) >"$w/b-$r.srv"
  t0=$(ticks $pf)
  "$w/floor" -addr 127.0.0.1:$((base + 2)) -conns "$conns" -c "$inflight" -n "$n" -json "$w/floor-$r.json" >/dev/null 2>"$w/floor-$r.err"
  echo $(($(ticks $pf) - t0)) >"$w/floor-$r.srv"
  echo "round $r done (load $(cut -d' ' -f1 /proc/loadavg))"
done

"$root/bench/pairs.py" "$w" "$rounds" a,b,floor b/a,a/floor,b/floor "$n"
