#!/usr/bin/env bash
# pairrate.sh A B PAIRS RATE DURATION: two of the kit's open-loop clients (the floor and embedded
# programs of ../shared/bench, or two builds of one), interleaved, against one `diamload serve`
# that this script starts (from $SERVE, default the diamload on PATH) and stops. Each pair runs
# `A -addr ADDR -rate RATE -d DURATION -json -` and the same for B, the order alternating per
# pair; prints each run's cpu_us_per_request and the medians and the paired ratio A/B.
# Example, the kit's binaries from a sitting's OUTDIR:
#   SERVE=$OUT/bin/diamload bench/pairrate.sh $OUT/bin/embedded $OUT/bin/floor 8 10000 4s
set -eu
a=$1; b=$2; pairs=$3; rate=$4; dur=$5
serve=${SERVE:-diamload}
port=$((20000 + RANDOM % 10000)) # below the ephemeral range: no client socket holds it
addr=127.0.0.1:$port
out=$(mktemp -d)
"$serve" serve --listen "$addr" --origin-host eir.perf.local --origin-realm perf.local \
  >"$out/serve.log" 2>&1 &
spid=$!
trap 'kill -INT $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 50); do
  grep -q "listening" "$out/serve.log" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q "listening" "$out/serve.log"; then
  echo "pairrate: $serve serve did not come up on $addr:" >&2
  cat "$out/serve.log" >&2
  exit 1
fi
cpu() { "$1" -addr "$addr" -rate "$rate" -d "$dur" -json - 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_us_per_request"])'; }
for i in $(seq "$pairs"); do
  if ((i % 2)); then order="A B"; else order="B A"; fi
  for w in $order; do
    if [ "$w" = A ]; then bin=$a; else bin=$b; fi
    echo "$i $w $(cpu "$bin")"
  done
done | tee "$out/runs" | sed 's/^/run /'
python3 - "$out/runs" <<'PY'
import statistics as st, sys
d = {}
for line in open(sys.argv[1]):
    i, w, v = line.split()
    d.setdefault(i, {})[w] = float(v)
ok = [x for x in d.values() if len(x) == 2]
a, b = [x["A"] for x in ok], [x["B"] for x in ok]
r = [x["A"] / x["B"] for x in ok]
print("A %.2f (%.2f-%.2f) us CPU/ECR, B %.2f (%.2f-%.2f), paired A/B %.3f (%.3f-%.3f), %d pairs"
      % (st.median(a), min(a), max(a), st.median(b), min(b), max(b),
         st.median(r), min(r), max(r), len(ok)))
PY
