#!/usr/bin/env bash
# Installs the system packages the build and the tests need (as root, via apt-get), or says which
# are missing. Used by scripts/test.sh and .ci/run.
set -euo pipefail

# A C compiler (aws-lc-sys), Chromium, PostgreSQL, and the TPM test tools.
need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
# `compare --html` and the verifier's dashboard are rendered in headless Chromium
# (crates/cli/tests/survey_cli.rs, crates/server/tests/dashboard.rs).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The verifier service's store tests run on PostgreSQL too (scripts/test.sh starts it).
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
# TPM paths: cloud-ra speaks TPM 2.0 itself (no libtss2); the tests run a real software TPM
# (swtpm socket on loopback) and cross-check quotes and NV reads with tpm2-tools.
command -v swtpm >/dev/null 2>&1 || need+=(swtpm)
command -v swtpm_setup >/dev/null 2>&1 || need+=(swtpm-tools)
command -v tpm2_getcap >/dev/null 2>&1 || need+=(tpm2-tools)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
fi
