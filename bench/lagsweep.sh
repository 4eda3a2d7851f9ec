#!/usr/bin/env bash
# lagsweep.sh BIN RATE DURATION [run flags...]: one open-loop diamload run against its own
# diamload serve (from $SERVE, default BIN) on loopback; prints the send lag, the service time,
# the client's CPU per ECR and the pacer's wake-ups, from the JSON report.
set -u
bin=$1; rate=$2; d=$3; shift 3
out=${TMPDIR:-/tmp}/lagsweep.$$.json
port=$((22600 + RANDOM % 300)) # below the ephemeral ports
"${SERVE:-$bin}" serve --listen 127.0.0.1:$port >/dev/null 2>&1 &
sp=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
"$bin" run --dra 127.0.0.1:$port --origin-host gw.perf.local --origin-realm perf.local \
  --dest-realm perf.local --rate "$rate" -d "$d" -c 1000 --quiet --json "$out" "$@" >/dev/null 2>&1
kill -TERM $sp; wait $sp 2>/dev/null
python3 - "$rate" "$*" "$out" <<'P'
import json, sys
j = json.load(open(sys.argv[3]))
l, s = j.get('send_lag_us') or {}, j.get('service_latency_us') or {}
cpu = j.get('cpu_us_per_request', 0)
print("rate %-7s %-16s lag p50 %6s p99 %6s p99.9 %6s | svc p50 %5s p99 %5s | cpu/ECR %.1f us | %.2f %% of a core | wakes %s pacer %s" % (
    sys.argv[1], sys.argv[2], l.get('p50'), l.get('p99'), l.get('p999'), s.get('p50'), s.get('p99'),
    cpu, cpu * j['answers'] / j['duration_s'] / 1e4, j.get('pacer_wakes'), j.get('pacer')))
P
rm -f "$out"
