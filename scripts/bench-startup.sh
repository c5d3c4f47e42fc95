#!/usr/bin/env bash
# Whole-process timing of the cloud-ra binary: medians of /bin/true (the process floor),
# `cloud-ra --version` and an offline SNP `verify`, side by side in one run.
#
#   scripts/bench-startup.sh [BINARY]        (default: target/release/cloud-ra)
#
# Needs CLOUD_RA_TESTDATA (the SNP vector snp/trustee-milan). Uses hyperfine when installed
# (`apt-get install -y hyperfine`), else a loop timed with `date +%s%N`. RUNS (default 300) and
# WARMUP (default 30) tune it.
set -euo pipefail

bin=${1:-target/release/cloud-ra}
runs=${RUNS:-300}
warmup=${WARMUP:-30}
td=${CLOUD_RA_TESTDATA:?set CLOUD_RA_TESTDATA to the test vectors directory}
[ -x "$bin" ] || { echo "no executable $bin (cargo build --workspace --release --locked --bin cloud-ra)" >&2; exit 1; }
report="$td/snp/trustee-milan/test-report.bin"
vcek="$td/snp/trustee-milan/test-vcek.der"
# Verified before timing: a command that fails would be timed doing less.
"$bin" verify "$report" --collateral "$vcek" --at 2024-01-01T00:00:00Z --offline >/dev/null 2>&1 ||
    { echo "the SNP verify fails: $bin verify $report --collateral $vcek --at 2024-01-01T00:00:00Z --offline" >&2; exit 1; }

names=("/bin/true" "cloud-ra --version" "cloud-ra verify (SNP, offline)")
cmds=(
    "/bin/true"
    "$bin --version"
    "$bin verify $report --collateral $vcek --at 2024-01-01T00:00:00Z --offline"
)

median_us_loop() {
    local -a times=()
    local i t0 t1
    for ((i = 0; i < warmup; i++)); do $1 >/dev/null 2>&1 || true; done
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s%N)
        $1 >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

declare -a med=()
if command -v hyperfine >/dev/null; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    hyperfine -N --runs "$runs" --warmup "$warmup" --export-json "$tmp/h.json" --output=null "${cmds[@]}" >/dev/null 2>&1
    # Medians in microseconds, one per command, in order.
    mapfile -t med < <(grep -o '"median": *[0-9.e-]*' "$tmp/h.json" | sed 's/.*: *//' |
        awk '{printf "%d\n", $1 * 1e6 + 0.5}')
    tool="hyperfine -N, $runs runs"
else
    for c in "${cmds[@]}"; do med+=("$(median_us_loop "$c")"); done
    tool="date +%s%N loop (fork+exec from bash included), $runs runs"
fi

echo "median wall time per process ($tool)"
for i in "${!names[@]}"; do
    extra=""
    if [ "$i" -gt 0 ]; then
        extra=$(awk -v m="${med[$i]}" -v t="${med[0]}" 'BEGIN {printf "  %.2fx /bin/true, %+d us", m / t, m - t}')
    fi
    printf '  %-34s %7d us%s\n' "${names[$i]}" "${med[$i]}" "$extra"
done
