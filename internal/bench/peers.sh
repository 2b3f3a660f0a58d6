#!/usr/bin/env bash
# Decrypts the same generated messages with wsrenew, xmlsec1 (Debian's
# python3-xmlsec binding) and Apache Santuario (Debian's
# libxml-security-java), one implementation at a time, and prints one
# Markdown report: the machine, then the tables. See README.md.
#
# Usage: internal/bench/peers.sh   (as root on Debian 12, from anywhere in
# the repository; installs what is missing, which is idempotent)
#
# Iteration counts can be changed through the environment:
#   SMALL_WARMUP (default 300; Santuario: JAVA_SMALL_WARMUP, default 2000),
#   SMALL_N (500), LARGE_WARMUP (2), LARGE_N (5), and the number of
#   rounds, ROUNDS (3). If BENCH_OUT names a directory, the raw results
#   (results.jsonl), manifest.tsv and signed.tsv are copied there, for
#   go run ./internal/bench/report -manifest BENCH_OUT/manifest.tsv -signed BENCH_OUT/signed.tsv BENCH_OUT/results.jsonl
#
# The signed messages (signed only, sign-then-encrypt, encrypt-then-sign)
# run in the same rounds, with SIGNED_LARGE_WARMUP (default 1) and
# SIGNED_LARGE_N (3) for 16 MB; SIGNED=0 leaves them out, and PLAIN=0
# leaves out the decrypt-only messages (and the PKCS#11 row) instead, for
# a run of the signed tables alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
started=$(date +%s)

SMALL_WARMUP=${SMALL_WARMUP:-300}
JAVA_SMALL_WARMUP=${JAVA_SMALL_WARMUP:-2000}
SMALL_N=${SMALL_N:-500}
LARGE_WARMUP=${LARGE_WARMUP:-2}
LARGE_N=${LARGE_N:-5}
ROUNDS=${ROUNDS:-3}
SIGNED=${SIGNED:-1}
PLAIN=${PLAIN:-1}
SIGNED_LARGE_WARMUP=${SIGNED_LARGE_WARMUP:-1}
SIGNED_LARGE_N=${SIGNED_LARGE_N:-3}

# Debian's python3, where python3-xmlsec is installed; a python3 earlier on
# PATH (a virtualenv, pyenv) would not see it.
PY=/usr/bin/python3
JARS=(xmlsec commons-logging commons-codec slf4j-api slf4j-nop woodstox-core stax2-api)

log() { echo "peers.sh: $*" >&2; }

install() {
  local need=()
  command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
  command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
  command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
  [ -x /usr/bin/time ] || need+=(time)
  for pkg in python3 python3-xmlsec python3-cryptography libxml-security-java \
    libcommons-logging-java libstax2-api-java libwoodstox-java libslf4j-java; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# Signed messages: each implementation verifies (and decrypts) every
# message of signed.tsv once, and fails if it rejects one, before timing it.
signed_round() {
  local r=$1
  log "round $r/$ROUNDS: signed messages, wsrenew"
  "$work/measure" -dir "$msgs" -signed -mode time -warmup "$SMALL_WARMUP" -n "$SMALL_N" \
    -large-warmup "$SIGNED_LARGE_WARMUP" -large-n "$SIGNED_LARGE_N" | tag "$r" >>"$results"
  log "round $r/$ROUNDS: signed messages, xmlsec1"
  "$PY" "$here/peer_xmlsec.py" signed-time "$msgs" "$SMALL_WARMUP" "$SMALL_N" "$SIGNED_LARGE_WARMUP" "$SIGNED_LARGE_N" | tag "$r" >>"$results"
  log "round $r/$ROUNDS: signed messages, Santuario"
  "${java[@]}" signed-time "$msgs" "$JAVA_SMALL_WARMUP" "$SMALL_N" "$SIGNED_LARGE_WARMUP" "$SIGNED_LARGE_N" | tag "$r" >>"$results"
}

signed_rss() {
  local f
  for f in $(awk -F'\t' '!/^#/ && $2 >= 1048576 {print $1}' "$msgs/signed.tsv"); do
    log "peak RSS for $f"
    "$work/measure" -dir "$msgs" -signed -mode rss -file "$f" >>"$results"
    "$PY" "$here/peer_xmlsec.py" signed-rss "$msgs" "$f" >>"$results"
    "${java[@]}" signed-rss "$msgs" "$f" >>"$results"
  done
}

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

install

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
msgs=$work/messages
results=$work/results.jsonl

log "building"
go build -o "$work/gen" ./internal/bench/gen
go build -o "$work/measure" ./internal/bench/measure
go build -o "$work/report" ./internal/bench/report
cp=""
for j in "${JARS[@]}"; do cp="$cp:/usr/share/java/$j.jar"; done
cp=${cp#:}
mkdir -p "$work/classes"
javac -nowarn -encoding UTF-8 -d "$work/classes" -cp "$cp" "$here/java/SantuarioPeer.java"
java=(java -cp "$work/classes:$cp" SantuarioPeer)

log "generating messages"
"$work/gen" -out "$msgs"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- wssec internal/soap internal/xmlscan internal/xmlenc 2>/dev/null)" ]; then
  commit="$commit, with uncommitted changes in wssec or internal/"
fi
# The PKCS#11 row: the fixture key, imported into a SoftHSM2 token of our
# own, and OpenSSL's RSA operation with the key kept and with the RSA object
# rebuilt for every operation, as SoftHSM2 does (openssl_rsa.c). Without
# SoftHSM2 the row is left out.
module=""
token_uri=""
pkcs11_setup() {
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && module=$m && break
  done
  [ -n "$module" ] || return 0
  if ! command -v cc >/dev/null 2>&1 || [ ! -e /usr/include/openssl/rsa.h ]; then
    log "apt-get install gcc libc6-dev libssl-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev libssl-dev >/dev/null
  fi
  cc -O2 -o "$work/openssl_rsa" "$here/openssl_rsa.c" -lcrypto
  mkdir -p "$work/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/softhsm/tokens" >"$work/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf WSRENEW_BENCH_PIN=bench-pin
  softhsm2-util --init-token --free --label wsrenew-bench --pin "$WSRENEW_BENCH_PIN" --so-pin so-bench-pin >/dev/null
  softhsm2-util --import "$msgs/key.pem" --token wsrenew-bench --label bench --id 01 --pin "$WSRENEW_BENCH_PIN" >/dev/null
  token_uri="pkcs11:token=wsrenew-bench;object=bench;id=%01?module-path=$module"
}
pkcs11_round() {
  [ -n "$token_uri" ] || return 0
  log "round $1/$ROUNDS: wsrenew with the key in SoftHSM2, OpenSSL's RSA operation"
  "$work/measure" -dir "$msgs" -mode time -warmup "$SMALL_WARMUP" -n "$SMALL_N" -pkcs11 "$token_uri" | tag "$1" >>"$results"
  "$work/openssl_rsa" "$msgs/key.pem" "$SMALL_WARMUP" "$SMALL_N" | tag "$1" >>"$results"
}
if [ "$PLAIN" = 0 ] && [ "$SIGNED" = 0 ]; then
  log "PLAIN=0 and SIGNED=0 leave nothing to measure"
  exit 2
fi
[ "$PLAIN" = 0 ] || pkcs11_setup
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bigs=$(awk -F'\t' '!/^#/ && $2 >= 1048576 {print $1}' "$msgs/manifest.tsv")

# One measurement at a time: never two at once on a small machine. The
# timings run in rounds, each implementation once per round, so that a
# change in machine load falls on all of them; the report takes the median
# over the rounds and shows the spread.
tag() { sed "s/^{/{\"round\": $1, /"; }
loads=()
for r in $(seq 1 "$ROUNDS"); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  if [ "$PLAIN" != 0 ]; then
    log "round $r/$ROUNDS: wsrenew and the Go floors"
    "$work/measure" -dir "$msgs" -mode time -warmup "$SMALL_WARMUP" -n "$SMALL_N" \
      -large-warmup "$LARGE_WARMUP" -large-n "$LARGE_N" | tag "$r" >>"$results"
    pkcs11_round "$r"
    log "round $r/$ROUNDS: xmlsec1"
    "$PY" "$here/peer_xmlsec.py" time "$msgs" "$SMALL_WARMUP" "$SMALL_N" "$LARGE_WARMUP" "$LARGE_N" | tag "$r" >>"$results"
    log "round $r/$ROUNDS: Santuario"
    "${java[@]}" time "$msgs" "$JAVA_SMALL_WARMUP" "$SMALL_N" "$LARGE_WARMUP" "$LARGE_N" | tag "$r" >>"$results"
  fi
  [ "$SIGNED" = 0 ] || signed_round "$r"
done
if [ "$PLAIN" != 0 ]; then
  for f in $bigs; do
    log "peak RSS for $f"
    "$work/measure" -dir "$msgs" -mode rss -file "$f" >>"$results"
    "$PY" "$here/peer_xmlsec.py" rss "$msgs" "$f" >>"$results"
    "${java[@]}" rss "$msgs" "$f" >>"$results"
  done
fi
[ "$SIGNED" = 0 ] || signed_rss
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "## Peer comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "- load average (1, 5, 15 min): $load_before before, $load_after after the measurements; 1 min at the start of each round: ${loads[*]}"
echo "- wsrenew at commit $commit; $(go version)"
echo "- $(java -version 2>&1 | head -1); Santuario: libxml-security-java $(pkgver libxml-security-java), JVM defaults ($(java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '$2 == "MaxHeapSize" {printf "max heap %.0f MiB", $4/1048576}'), $(java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '$2 ~ /^Use(Serial|Parallel|G1|Z|Shenandoah|Epsilon)GC$/ && $4 == "true" {print $2}'))"
[ -n "$module" ] && echo "- SoftHSM2 $(softhsm2-util --version) ($module), through crypto11, for the PKCS#11 row"
echo "- $(xmlsec1 --version) (libxmlsec1 $(pkgver libxmlsec1)), python3-xmlsec $(pkgver python3-xmlsec), $("$PY" --version), $(openssl version | cut -d' ' -f1-2)"
echo "- $ROUNDS rounds; per round and message: 1 KB: $SMALL_WARMUP warm-up ($JAVA_SMALL_WARMUP for Santuario) + $SMALL_N timed$([ "$PLAIN" = 0 ] && echo "; decrypt-only messages left out (PLAIN=0)" || echo "; 16 MB: $LARGE_WARMUP warm-up + $LARGE_N timed")$([ "$SIGNED" = 0 ] || echo "; signed 16 MB: $SIGNED_LARGE_WARMUP warm-up + $SIGNED_LARGE_N timed")"
echo
report_flags=()
[ "$SIGNED" = 0 ] || report_flags=(-signed "$msgs/signed.tsv")
[ "$PLAIN" != 0 ] || report_flags+=(-plain=false)
"$work/report" -manifest "$msgs/manifest.tsv" "${report_flags[@]}" "$results"
if [ -n "${BENCH_OUT:-}" ]; then
  mkdir -p "$BENCH_OUT"
  cp "$results" "$msgs/manifest.tsv" "$msgs/signed.tsv" "$BENCH_OUT/"
fi
echo
echo "Run time: $(($(date +%s) - started)) s."
