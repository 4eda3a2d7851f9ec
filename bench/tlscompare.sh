#!/usr/bin/env bash
# tlscompare.sh ROUNDS CONNS INFLIGHT N: what TLS costs the client. Interleaved rounds of three
# closed-loop runs, each against its own `diamload serve` in another process: diamload over TCP,
# diamload over TLS (client certificates required by the responder), and the floor client
# (../shared/bench/floor) over TCP. Prints client CPU per ECR, ECR/s and allocations per ECR of
# each run, then the medians and the paired ratios TLS/TCP and TLS/floor (bench/pairs.py).
# Run from the project root; needs openssl (throwaway P-256 certificates) and python3.
# Example: bench/tlscompare.sh 7 2 256 1000000   (2 × 128 in flight)
#          bench/tlscompare.sh 7 1 1 50000       (one in flight)
set -eu
rounds=$1; conns=$2; inflight=$3; n=$4
root=$(pwd)
floorsrc=${FLOOR_SRC:-$root/../shared/bench/floor}
w=$(mktemp -d "${TMPDIR:-/tmp}/tlscompare.XXXXXX")
echo "work dir $w"
go build -o "$w/diamload" ./cmd/diamload
(cd "$floorsrc" && go build -o "$w/floor" .)

# A CA, a server and a client certificate (each for 127.0.0.1), valid for a day.
openssl ecparam -name prime256v1 -genkey -noout -out "$w/ca.key"
openssl req -x509 -new -key "$w/ca.key" -subj /CN=tlscompare-ca -days 1 -out "$w/ca.pem" 2>/dev/null
for c in srv cli; do
  openssl ecparam -name prime256v1 -genkey -noout -out "$w/$c.key"
  openssl req -new -key "$w/$c.key" -subj "/CN=$c.perf.local" -out "$w/$c.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s.perf.local,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' $c >"$w/$c.ext"
  openssl x509 -req -in "$w/$c.csr" -CA "$w/ca.pem" -CAkey "$w/ca.key" -CAcreateserial -days 1 \
    -extfile "$w/$c.ext" -out "$w/$c.pem" 2>/dev/null
done

base=$((23000 + RANDOM % 500)) # below the ephemeral ports
id="--origin-host eir.perf.local --origin-realm perf.local"
"$w/diamload" serve --listen 127.0.0.1:$base $id >"$w/serve-tcp.log" 2>&1 & p1=$!
"$w/diamload" serve --listen 127.0.0.1:$((base + 1)) $id --tls-cert "$w/srv.pem" --tls-key "$w/srv.key" \
  --tls-client-ca "$w/ca.pem" >"$w/serve-tls.log" 2>&1 & p2=$!
"$w/diamload" serve --listen 127.0.0.1:$((base + 2)) $id >"$w/serve-floor.log" 2>&1 & p3=$!
trap 'kill -INT $p1 $p2 $p3 2>/dev/null || true' EXIT
for port in $base $((base + 1)) $((base + 2)); do
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
done

run="run --origin-host gw.perf.local --origin-realm perf.local --dest-realm perf.local --identity-per-conn --quiet -n $n -c $inflight --conns $conns"
tls="--tls --tls-ca $w/ca.pem --tls-cert $w/cli.pem --tls-key $w/cli.key --tls-server-name srv.perf.local"
for r in $(seq "$rounds"); do
  "$w/diamload" $run --dra 127.0.0.1:$base --json "$w/tcp-$r.json" >/dev/null 2>"$w/tcp-$r.err"
  "$w/diamload" $run --dra 127.0.0.1:$((base + 1)) $tls --json "$w/tls-$r.json" >/dev/null 2>"$w/tls-$r.err"
  "$w/floor" -addr 127.0.0.1:$((base + 2)) -conns "$conns" -c "$inflight" -n "$n" -json "$w/floor-$r.json" >/dev/null 2>"$w/floor-$r.err"
  echo "round $r done (load $(cut -d' ' -f1 /proc/loadavg))"
done

"$root/bench/pairs.py" "$w" "$rounds" tcp,tls,floor tls/tcp,tls/floor
