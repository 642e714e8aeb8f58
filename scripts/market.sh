#!/usr/bin/env bash
# A market as separate processes on loopback: one ledger (`bittensor ledger serve`) and one
# `bittensor neuron run` per peer, each with its own key and config file in DIR.
#
#   scripts/market.sh start [DIR]    start the ledger and the neurons (default DIR reports/market)
#   scripts/market.sh stop [DIR]     stop them all (SIGTERM, which closes each one cleanly)
#   scripts/market.sh status [DIR]   which of them run
#
# Environment: PEERS (default "minilm bag-of-words noise"), LEDGER_PORT (8092), FIRST_PORT (9101),
# JAR (bittensor-cli/target/bittensor.jar), METRICS_PORT (unset: no metrics; else the ledger's
# Prometheus metrics on that port, neuron i's on METRICS_PORT + i, and DIR/prometheus.yml to
# scrape them all), TLS (unset: cleartext; 1: the ledger and every neuron serve HTTPS with a
# certificate for 127.0.0.1 from a market authority made by openssl in DIR/tls, which all of
# them trust; mutual: the same, and each serves only callers that show a client certificate
# the authority issued, which every neuron shows), SEALED (unset: plain key files; 1: every neuron's key sealed under the passphrase
# in DIR/passphrase, made at random, which each neuron reads through key-passphrase-file).
# Build first: mvn -B -q package -DskipTests
set -euo pipefail

cmd=${1:-}
dir=${2:-reports/market}
jar=${JAR:-bittensor-cli/target/bittensor.jar}
peers=${PEERS:-"minilm bag-of-words noise"}
ledger_port=${LEDGER_PORT:-8092}
first_port=${FIRST_PORT:-9101}
metrics_port=${METRICS_PORT:-}
tls=${TLS:-}
sealed=${SEALED:-}

die() { echo "market.sh: $*" >&2; exit 2; }

# A market authority, one certificate for 127.0.0.1 signed by it and one for clients (mutual
# TLS), in DIR/tls (kept across restarts): EC P-256 keys as PKCS#8, valid 30 days.
make_tls() {
  local t="$dir/tls"
  [ -f "$t/client.pem" ] && return
  command -v openssl > /dev/null || die "TLS=1 needs openssl"
  mkdir -p "$t"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/ca.key" 2> /dev/null
  openssl req -x509 -new -key "$t/ca.key" -sha256 -days 30 -subj "/CN=market authority" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out "$t/ca.pem" 2> /dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/server.key" 2> /dev/null
  openssl req -new -key "$t/server.key" -subj "/CN=127.0.0.1" -out "$t/server.csr" 2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$t/server.ext" -out "$t/server.pem" 2> /dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/client.key" 2> /dev/null
  openssl req -new -key "$t/client.key" -subj "/CN=market client" -out "$t/client.csr" 2> /dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$t/client.ext"
  openssl x509 -req -in "$t/client.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$t/client.ext" -out "$t/client.pem" 2> /dev/null
  rm -f "$t/server.csr" "$t/server.ext" "$t/client.csr" "$t/client.ext" "$t/ca.srl"
}

start() {
  [ -f "$jar" ] || die "no $jar: build it with mvn -B -q package -DskipTests"
  [ -e "$dir/pids" ] && die "$dir/pids exists: stop the running market first (market.sh stop $dir)"
  mkdir -p "$dir"
  local allocate=() i=0 seal=()
  if [ -n "$sealed" ]; then
    if [ ! -f "$dir/passphrase" ]; then
      (umask 077 && head -c 24 /dev/urandom | base64 > "$dir/passphrase")
    fi
    seal=(--passphrase-file "$dir/passphrase")
  fi
  for peer in $peers; do
    i=$((i + 1))
    [ -f "$dir/neuron-$i.key" ] \
      || java -jar "$jar" keys new "$dir/neuron-$i.key" "${seal[@]}" > /dev/null
    allocate+=(--allocate "$dir/neuron-$i.key=1000000")
  done
  # 1% of the stake minted per 5-second epoch: at 10% the neurons that set rows first own the
  # market before the last one has warmed up, and its rows then count for nothing.
  local genesis=(--epoch-length 10 --weights-rate-limit 0 --inflation 0.01 "${allocate[@]}")
  # Started again on the same DIR, the ledger goes on from its journal: its genesis is fixed.
  [ -d "$dir/ledger" ] && genesis=()
  local metrics=() targets=() serve_tls=() scheme=http trust=()
  if [ -n "$tls" ]; then
    make_tls
    serve_tls=(--tls "$dir/tls/server.key" "$dir/tls/server.pem")
    scheme=https
    trust=(--trust "$dir/tls/ca.pem")
    if [ "$tls" = mutual ]; then
      serve_tls+=(--tls-client-ca "$dir/tls/ca.pem")
      trust+=(--client-cert "$dir/tls/client.key" "$dir/tls/client.pem")
    fi
  fi
  if [ -n "$metrics_port" ]; then
    metrics=(--metrics-port "$metrics_port")
    targets+=("127.0.0.1:$metrics_port")
  fi
  java -jar "$jar" ledger serve --data "$dir/ledger" --host 127.0.0.1 --port "$ledger_port" \
    --block-ms 500 "${metrics[@]}" "${serve_tls[@]}" "${genesis[@]}" > "$dir/ledger.log" 2>&1 &
  echo "ledger $!" >> "$dir/pids"
  for _ in $(seq 1 100); do
    grep -q "serving ledger" "$dir/ledger.log" 2>/dev/null && break
    sleep 0.2
  done
  grep -q "serving ledger" "$dir/ledger.log" || die "the ledger did not start: see $dir/ledger.log"
  i=0
  for peer in $peers; do
    i=$((i + 1))
    cat > "$dir/neuron-$i.properties" <<CONFIG
key=$dir/neuron-$i.key
ledger=$scheme://127.0.0.1:$ledger_port
peer=$peer
port=$((first_port + i - 1))
stake=500000
learn=true
weight-interval-ms=5000
checkpoint-dir=$dir/neuron-$i.state
seed=$i
CONFIG
    if [ -n "$sealed" ]; then
      echo "key-passphrase-file=$dir/passphrase" >> "$dir/neuron-$i.properties"
    fi
    if [ -n "$tls" ]; then
      printf 'tls-key=%s\ntls-cert=%s\ntls-trust=%s\n' "$dir/tls/server.key" \
        "$dir/tls/server.pem" "$dir/tls/ca.pem" >> "$dir/neuron-$i.properties"
    fi
    if [ "$tls" = mutual ]; then
      printf 'tls-client-ca=%s\ntls-client-key=%s\ntls-client-cert=%s\n' "$dir/tls/ca.pem" \
        "$dir/tls/client.key" "$dir/tls/client.pem" >> "$dir/neuron-$i.properties"
    fi
    if [ -n "$metrics_port" ]; then
      echo "metrics-port=$((metrics_port + i))" >> "$dir/neuron-$i.properties"
      targets+=("127.0.0.1:$((metrics_port + i))")
    fi
    java -jar "$jar" neuron run --config "$dir/neuron-$i.properties" > "$dir/neuron-$i.log" 2>&1 &
    echo "neuron-$i $!" >> "$dir/pids"
  done
  echo "started a ledger at $scheme://127.0.0.1:$ledger_port and $i neurons; logs in $dir"
  echo "watch: java -jar $jar ledger show --remote $scheme://127.0.0.1:$ledger_port ${trust[*]}"
  if [ -n "$metrics_port" ]; then
    local list
    list=$(printf '"%s", ' "${targets[@]}")
    cat > "$dir/prometheus.yml" <<PROMETHEUS
# Scrapes the market's ledger and neurons (written by scripts/market.sh).
scrape_configs:
  - job_name: bittensor-market
    scrape_interval: 5s
    static_configs:
      - targets: [${list%, }]
PROMETHEUS
    echo "metrics: http://${targets[0]}/metrics ... (${#targets[@]} targets in $dir/prometheus.yml)"
  fi
}

stop() {
  [ -f "$dir/pids" ] || die "no $dir/pids: nothing to stop"
  # Neurons first, then the ledger, so that nobody writes to a closed ledger.
  tac "$dir/pids" | while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      echo "stopped $name ($pid)"
    fi
  done
  rm -f "$dir/pids"
}

status() {
  [ -f "$dir/pids" ] || { echo "not running"; return; }
  while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then echo "$name ($pid) running"; else echo "$name ($pid) gone"; fi
  done < "$dir/pids"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: market.sh start|stop|status [DIR]" ;;
esac
