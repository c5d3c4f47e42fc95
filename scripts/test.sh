#!/usr/bin/env bash
# Runs the whole test suite. Works on a fresh Debian machine with a Rust toolchain: it installs
# the system packages the tests need (as root, via apt-get) and finds the shared test vectors.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# The read-only vectors under ../shared/testdata (see its MANIFEST.md). Tests fail loudly when
# they are missing; never copy them into the repository.
export CLOUD_RA_TESTDATA="${CLOUD_RA_TESTDATA:-$(cd .. && pwd)/shared/testdata}"
if [ ! -f "$CLOUD_RA_TESTDATA/MANIFEST.md" ]; then
  echo "test vectors not found at $CLOUD_RA_TESTDATA (set CLOUD_RA_TESTDATA)" >&2
  exit 1
fi

# Other projects' own clients (Veraison's Rust API client), built by the conformance tests; see
# ../shared/clients/README.md. Read-only: the tests build a copy into target/veraison-client.
export CLOUD_RA_CLIENTS="${CLOUD_RA_CLIENTS:-$(cd .. && pwd)/shared/clients}"

# PostgreSQL for the verifier service's tests: start the cluster and make a role that may create
# one scratch database per test, unless CLOUD_RA_TEST_POSTGRES already names a server.
if [ -z "${CLOUD_RA_TEST_POSTGRES:-}" ] && command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 " " $2 }')
  if [ -z "$cluster" ]; then
    pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main >/dev/null
    cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 " " $2 }')
  fi
  # shellcheck disable=SC2086
  pg_ctlcluster $cluster start >/dev/null 2>&1 || true
  port=$(pg_lsclusters -h | awk 'NR == 1 { print $3 }')
  for _ in $(seq 1 30); do
    su postgres -c "psql -p $port -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
  done
  su postgres -c "psql -p $port -qAtc \"select 1 from pg_roles where rolname = 'cloudra_test'\"" | grep -q 1 ||
    su postgres -c "psql -p $port -qc \"create role cloudra_test login createdb password 'cloudra_test'\""
  su postgres -c "psql -p $port -qAtc \"select 1 from pg_database where datname = 'cloudra_test'\"" | grep -q 1 ||
    su postgres -c "psql -p $port -qc 'create database cloudra_test owner cloudra_test'"
  export CLOUD_RA_TEST_POSTGRES="postgres://cloudra_test:cloudra_test@127.0.0.1:$port/cloudra_test"
fi
if [ -n "${CLOUD_RA_TEST_POSTGRES:-}" ]; then
  echo "PostgreSQL for the store tests: ${CLOUD_RA_TEST_POSTGRES%%:*}://...@${CLOUD_RA_TEST_POSTGRES##*@}"
else
  echo "PostgreSQL not available (run as root to set it up): the store tests run on SQLite only" >&2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One plain closing line over every test binary (cargo prints one summary per binary).
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$log")
echo "tests: ${passed} passed, ${failed} failed"
exit "$rc"
