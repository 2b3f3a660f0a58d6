#!/usr/bin/env bash
# Installs the third-party tools the interoperability vectors and live tests
# use: a JDK with Debian's WSS4J 1.6.19 and Santuario, xmlsec1, SoftHSM2 (the
# PKCS#11 module the hardware-key tests use, with gcc for cgo), and the pinned
# npm package xml-encryption. Idempotent; quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
for pkg in libwss4j-java libxml-security-java; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "install.sh: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

want=$(node -p 'require("./node/package.json").dependencies["xml-encryption"]')
have=$(node -p 'try { require("./node/node_modules/xml-encryption/package.json").version } catch (e) { "" }')
if [ "$want" != "$have" ]; then
  echo "install.sh: npm ci in $(pwd)/node"
  (cd node && npm ci --no-audit --no-fund --loglevel=error)
fi
