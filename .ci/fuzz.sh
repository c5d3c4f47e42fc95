#!/usr/bin/env bash
# CI fuzz smoke run: builds every cargo-fuzz target in fuzz/ and runs each one for a bounded time,
# seeded with the shared test vectors (see seed_dirs below; hex-text quotes are also decoded to
# binary).
# Exits non-zero if a build fails or any target crashes.
#
#   FUZZ_SECONDS       seconds per target (libFuzzer -max_total_time), default 20
#   CLOUD_RA_TESTDATA  the shared test-vector directory, default ../shared/testdata (beside the checkout)
#   FUZZ_SANITIZER     address (default) or none, if ASan is unavailable on the machine
#   FUZZ_TOOLCHAIN     rustup toolchain, default the channel pinned in rust-toolchain.toml
#
# Works on a stable toolchain: cargo-fuzz passes -Z flags, which RUSTC_BOOTSTRAP=1 allows.
# The corpus lives in a temporary directory (never in the repository); crash reproducers land in
# fuzz/artifacts/<target>/ (git-ignored).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
# Resolve the test-vector directory before changing directory (a relative CLOUD_RA_TESTDATA is
# relative to the caller's working directory; the default is relative to the checkout).
if [[ -n "${CLOUD_RA_TESTDATA:-}" ]]; then
    testdata="$(cd "$CLOUD_RA_TESTDATA" && pwd)"
else
    testdata="$(cd "$root/../shared/testdata" && pwd)"
fi
for d in snp tdx sgx; do
    if [[ ! -d "$testdata/$d" ]]; then
        echo "fuzz.sh: seed vectors not found at $testdata/$d (set CLOUD_RA_TESTDATA to the shared/testdata directory)" >&2
        exit 2
    fi
done
# The seed directories of a target, by its name.
seed_dirs() {
    case "$1" in
        dcap_*) echo tdx sgx ;;
        evidence_detect) echo snp tdx sgx nitro azure tpm/gce-cos-85 ;;
        nitro_document) echo nitro ;;
        eventlog) echo ccel tpm/eventlogs ;;
        jwt | azure_hcl) echo azure ;;
        gotpm) echo tpm/gce-cos-85 ;;
        measure_ovmf) echo refvals/snp/sev-snp-measure refvals/gcp/gce-tcb-verifier/derived ;;
        measure_eif) echo nitro ;;
        measure_gce_endorsement) echo refvals/gcp ;;
        measure_kernel) echo refvals/snp/sev-snp-measure ;;
        *) echo snp ;;
    esac
}
toolchain="${FUZZ_TOOLCHAIN:-$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$root/rust-toolchain.toml")}"
if [[ -z "$toolchain" ]]; then
    echo "fuzz.sh: no toolchain (set FUZZ_TOOLCHAIN)" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

start=$(date +%s)
stamp() { echo "== fuzz: $1 ($(($(date +%s) - start))s)"; }

cd "$root/fuzz"

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    stamp "installing cargo-fuzz"
    cargo "+$toolchain" install cargo-fuzz --locked
fi

stamp "building all targets (toolchain $toolchain, sanitizer $sanitizer)"
cargo "+$toolchain" fuzz build -s "$sanitizer"

mapfile -t targets < <(cargo "+$toolchain" fuzz list)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz.sh: no fuzz targets found" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/cloud-ra-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${targets[@]}"; do
    corpus="$work/$t"
    mkdir -p "$corpus"
    # Flatten <dir>/<source>/<file> into one directory, keeping names unique. A hex-text quote
    # (*.hex) is also seeded as the binary it decodes to, which is what the quote parser reads.
    for d in $(seed_dirs "$t"); do
        while IFS= read -r -d '' f; do
            rel="$d/${f#"$testdata/$d"/}"
            cp -- "$f" "$corpus/${rel//\//__}"
            if [[ "$f" == *.hex ]]; then
                perl -0777 -ne 's/\s+//g; s/^0x//i; print pack("H*", $_)' "$f" >"$corpus/${rel//\//__}.bin"
            fi
        done < <(find "$testdata/$d" -type f -print0)
    done

    stamp "running $t for ${seconds}s ($(find "$corpus" -type f | wc -l) seeds)"
    # libFuzzer's progress lines go to a log: on success only its final stats are shown, on
    # failure the tail of the log.
    log="$work/$t.log"
    if cargo "+$toolchain" fuzz run -s "$sanitizer" "$t" "$corpus" -- \
        -max_total_time="$seconds" -print_final_stats=1 -print_funcs=0 >"$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | tr '\n' ' ' || true
        echo
    else
        tail -n 80 "$log" >&2
        # cargo fuzz run rebuilds first: a non-zero status is a crash, a leak, a timeout or OOM
        # reported by libFuzzer, or a build error (see the log above).
        if compgen -G "$root/fuzz/artifacts/$t/*" >/dev/null; then
            echo "fuzz.sh: target $t FAILED; reproducer(s):" >&2
            ls -1 "$root/fuzz/artifacts/$t/" >&2
            echo "  re-run one with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo +$toolchain fuzz run -s $sanitizer $t artifacts/$t/<file>" >&2
        else
            echo "fuzz.sh: target $t FAILED without a reproducer (build error? see the log above)" >&2
        fi
        failed+=("$t")
    fi
done

stamp "done"
if [[ ${#failed[@]} -ne 0 ]]; then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
