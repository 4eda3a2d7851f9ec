#!/usr/bin/env python3
"""pairs.py WORKDIR ROUNDS KINDS PAIRS [N]: the summary of an interleaved sitting (abcompare.sh,
tlscompare.sh). WORKDIR holds KIND-ROUND.json for each kind (comma-separated) and round: a
diamload or floor client's --json report. PAIRS (comma-separated X/Y) are the client CPU ratios to
print, paired within each round. With N, KIND-ROUND.srv files hold the responder's CPU clock
ticks over each run, printed per answer (N answers a run), and the first pair's responder ratio too.
"""
import json, os, statistics as st, sys

w, rounds, kinds, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(",")
n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
hz = os.sysconf("SC_CLK_TCK")
runs = {k: [json.load(open(f"{w}/{k}-{r}.json")) for r in range(1, rounds + 1)] for k in kinds}
cpu = {k: [j["cpu_us_per_request"] for j in v] for k, v in runs.items()}
srv = {}
if n:
    srv = {k: [int(open(f"{w}/{k}-{r}.srv").read()) / hz * 1e6 / n for r in range(1, rounds + 1)] for k in kinds}
for k, v in runs.items():
    print("%-5s client cpu us/ECR %s  median %.3f | ECR/s median %.0f | allocs/ECR median %s" % (
        k, " ".join("%.3f" % x for x in cpu[k]), st.median(cpu[k]),
        st.median(j["throughput_rps"] for j in v),
        st.median(j["allocs_per_request"] for j in v) if "allocs_per_request" in v[0] else "-"))
    if srv:
        print("%-5s responder cpu us/answer %s  median %.3f" % (k, " ".join("%.3f" % x for x in srv[k]), st.median(srv[k])))
for p in pairs:
    x, y = p.split("/")
    r = [a / b for a, b in zip(cpu[x], cpu[y])]
    print("client %s/%-5s paired %s  median %.3f" % (x, y, " ".join("%.3f" % v for v in r), st.median(r)))
if srv:
    x, y = pairs[0].split("/")
    r = [a / b for a, b in zip(srv[x], srv[y])]
    print("responder %s/%s paired %s  median %.3f" % (x, y, " ".join("%.3f" % v for v in r), st.median(r)))
