#!/usr/bin/env bash
# sitekeeper set-up and entry point for a fresh Debian 12 machine.
#   ./run.sh demo    install what is missing, build the sitekeeper binary, run the demo on local servers
#   ./run.sh test    install what is missing, build, run every test (ctest -L unit for the fast ones)
#   ./run.sh build   install what is missing and build
#   ./run.sh bench   build and run the benchmarks in tests/bench
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(build-essential cmake pkg-config git
  libsoci-dev libpq-dev libsqlite3-dev unixodbc-dev odbc-postgresql
  libboost-dev libboost-filesystem-dev libboost-system-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libssl-dev prometheus-cpp-dev
  postgresql-15 postgresql-client-15 postgresql-contrib sqlite3 procps tzdata)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
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

case "${1:-}" in
  build) build ;;
  test)
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure --timeout 900 -j2 ${CTEST_ARGS:-}
    ;;
  # The demo needs the binary only; the test suite is built by ./run.sh test.
  demo) build sitekeeper; exec demo/demo.sh "$BUILD_DIR/sitekeeper" ;;
  bench) build; exec tests/bench/run_all.sh "$BUILD_DIR" ;;
  *) echo "usage: ./run.sh demo|test|build|bench" >&2; exit 2 ;;
esac
