#!/usr/bin/env bash
# Load and durability run of the verifier service on loopback (not a test: numbers for the
# record). For SQLite and, when PostgreSQL is reachable, PostgreSQL:
#   load:       BENCH_CONC connections POST real SNP evidence (trustee's Milan report, raw,
#               with its REPORT_DATA as caller nonce) to /v1/attest/snp for BENCH_SECS seconds;
#               verifications/s and p50/p99 latency (each one verified, signed and durably
#               recorded before its answer).
#   durability: the same load, the server killed with SIGKILL mid-run, restarted on the same
#               store; every appraisal a client saw acknowledged must be in the audit log.
# PostgreSQL: CLOUD_RA_BENCH_POSTGRES or CLOUD_RA_TEST_POSTGRES (a role that may create databases).
set -euo pipefail
cd "$(dirname "$0")/.."
export CLOUD_RA_TESTDATA="${CLOUD_RA_TESTDATA:-$(cd .. && pwd)/shared/testdata}"
SECS="${BENCH_SECS:-10}"
CONC="${BENCH_CONC:-16}"
cargo build --release -q -p cloud-ra --bin cloud-ra -p cloud-ra-server --example loadgen
BIN=target/release/cloud-ra
LG=target/release/examples/loadgen
REPORT="$CLOUD_RA_TESTDATA/snp/trustee-milan/test-report.bin"
VCEK="$CLOUD_RA_TESTDATA/snp/trustee-milan/test-vcek.der"
NONCE=$(od -v -An -tx1 -j 80 -N 64 "$REPORT" | tr -d ' \n')
TOKEN=bench-admin-token-0123456789
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/config.toml" <<CFG
admin_token = "$TOKEN"
rate_limit_per_sec = 0.0
signing_key = "$work/key.pem"
collateral = ["$VCEK"]
CFG

start() { # $1 = db URL
  "$BIN" serve --listen 127.0.0.1:0 --db "$1" --config "$work/config.toml" --at 2024-06-01T00:00:00Z \
    >"$work/out" 2>>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/^listening on //p' "$work/out")
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "server did not start:" >&2
  tail -5 "$work/server.log" >&2
  exit 1
}

run() { # $1 = name, $2 = db URL
  echo "== $1: load (${SECS}s, $CONC connections)"
  start "$2"
  "$LG" load "$URL" "$REPORT" "$SECS" "$CONC" "$work/acked-load" "$NONCE"
  kill "$pid"; wait "$pid" || true; pid=
  echo "== $1: durability (SIGKILL mid-load, restart, check every acknowledged appraisal)"
  rm -f "$work/acked"
  start "$2"
  "$LG" load "$URL" "$REPORT" "$SECS" "$CONC" "$work/acked" "$NONCE" &
  lg=$!
  sleep "$(( SECS / 2 ))"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
  wait "$lg" || true
  start "$2"
  "$LG" check "$URL" "$TOKEN" "$work/acked"
  kill "$pid"; wait "$pid" || true; pid=
}

run sqlite "sqlite://$work/audit.db"
PG="${CLOUD_RA_BENCH_POSTGRES:-${CLOUD_RA_TEST_POSTGRES:-}}"
if [ -n "$PG" ] && command -v psql >/dev/null 2>&1; then
  db="cloudra_bench_$$"
  psql -q "$PG" -c "create database $db" >/dev/null
  run postgresql "${PG%/*}/$db"
  psql -q "$PG" -c "drop database $db" >/dev/null 2>&1 || true
else
  echo "== postgresql: skipped (set CLOUD_RA_BENCH_POSTGRES or CLOUD_RA_TEST_POSTGRES)"
fi
