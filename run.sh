#!/usr/bin/env bash
# sitekeeper set-up and entry point for a fresh Debian 12 machine.
#   ./run.sh demo    install what is missing, build the sitekeeper binary, run the demo on local servers
#   ./run.sh test    install what is missing, build, run every test (ctest -L unit for the fast ones)
#   ./run.sh build   install what is missing and build
#   ./run.sh bench   install BENCH_PACKAGES too, build and run the benchmarks in tests/bench
#   ./run.sh fuzz    build the libFuzzer targets (clang, ASan + UBSan) and run each for FUZZ_SECONDS (default 60)
#
# ./run.sh test also builds the unit tests and fuzz targets with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer in $SAN_BUILD_DIR and runs them there (SK_NO_SANITIZERS=1 skips that).
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
SAN_BUILD_DIR=${SAN_BUILD_DIR:-build-sanitize}

PACKAGES=(build-essential cmake pkg-config git
  libsoci-dev libpq-dev libsqlite3-dev unixodbc-dev odbc-postgresql
  libboost-dev libboost-filesystem-dev libboost-system-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libssl-dev prometheus-cpp-dev
  postgresql-15 postgresql-client-15 postgresql-contrib sqlite3 procps tzdata iproute2 nftables
  clang libclang-rt-14-dev
  haproxy     # the routing test runs deploy/haproxy.cfg
  prometheus  # promtool lints /metrics
  chromium    # the status page test loads the page in headless Chromium
  etcd-server etcd-client  # the etcd client tests run a 3-member cluster and set up users with etcdctl
  man-db groff-base systemd)  # the man page rendered by man -l, the unit checked by systemd-analyze verify
# Only ./run.sh bench installs these: the peer the failover benchmark measures sitekeeper against.
BENCH_PACKAGES=(postgresql-15-repmgr)

# install_missing [EXTRA_PACKAGE...]: PACKAGES and the extra ones, those not installed yet.
install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "==> installing: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build [TARGET...]: configure once, then build the named targets (all of them by default).
build() {
  install_missing
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j2 ${1:+--target "$@"}
}

# The sanitizer build: clang, ASan + UBSan, unit tests and fuzz targets only (no servers).
build_sanitized() {
  install_missing
  CC=clang CXX=clang++ cmake -S . -B "$SAN_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSK_SANITIZE=ON >/dev/null
  cmake --build "$SAN_BUILD_DIR" -j2 --target unit_tests fuzzers
}

case "${1:-}" in
  build) build ;;
  test)
    build
    (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 -j2 ${CTEST_ARGS:-})
    if [[ ${SK_NO_SANITIZERS:-0} != 1 ]]; then
      echo "==> unit tests and fuzz targets under AddressSanitizer + UndefinedBehaviorSanitizer ($SAN_BUILD_DIR)"
      build_sanitized
      (cd "$SAN_BUILD_DIR" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure --timeout 300 -j2 -L 'unit|fuzz')
    fi
    ;;
  fuzz)
    build_sanitized
    secs=${FUZZ_SECONDS:-60}
    for f in "$SAN_BUILD_DIR"/fuzz_*; do
      [[ -x $f ]] || continue
      name=${f##*/fuzz_}
      mkdir -p "$SAN_BUILD_DIR/fuzz-corpus/$name" "$SAN_BUILD_DIR/fuzz-artifacts/$name"
      echo "==> fuzz $name for ${secs}s"
      "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$SAN_BUILD_DIR/fuzz-artifacts/$name/" \
        "$SAN_BUILD_DIR/fuzz-corpus/$name" "tests/fuzz/corpus/$name" 2>&1 |
        grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|crash-|Done' || true
    done
    ;;
  # The demo needs the binary only; the test suite is built by ./run.sh test.
  demo) build sitekeeper; exec demo/demo.sh "$BUILD_DIR/sitekeeper" ;;
  bench) install_missing "${BENCH_PACKAGES[@]}"; build; exec tests/bench/run_all.sh "$BUILD_DIR" ;;
  *) echo "usage: ./run.sh demo|test|build|bench|fuzz" >&2; exit 2 ;;
esac
