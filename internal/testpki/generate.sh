#!/usr/bin/env bash
# Creates the fixture PKI used by the tests: a test CA, the tenant's key
# pairs and the partner's signing keys. The files are committed and every
# vector in the repository depends on them, so this script only creates
# identities that are missing; delete a pair of files to make it anew.
#
#   old           RSA-2048, the tenant's key before a renewal
#   new           RSA-3072, the tenant's key after it (same subject name)
#   stranger      RSA-2048, a key that is never in the ring
#   receiver      RSA-2048, the partner's signing key
#   receiver-new  RSA-2048, the partner's signing key after its renewal
#   receiver-ec   ECDSA P-256, a partner signing with ECDSA
#
# Requires: openssl (3.x).
set -euo pipefail
cd "$(dirname "$0")"
dir=pki
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/leaf.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment,dataEncipherment
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
cat >"$tmp/ca.ext" <<'EXT'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EXT

if [ ! -f "$dir/ca.key" ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/ca.key" 2>/dev/null
  openssl req -new -key "$dir/ca.key" -subj "/C=DE/O=wsrenew test/CN=wsrenew Test CA" -out "$tmp/ca.csr"
  openssl x509 -req -in "$tmp/ca.csr" -signkey "$dir/ca.key" -days 7300 -sha256 \
    -set_serial 1 -extfile "$tmp/ca.ext" -out "$dir/ca.pem" 2>/dev/null
fi

leaf() { # name bits-or-"ec" serial subject
  [ -f "$dir/$1.key" ] && return 0
  if [ "$2" = ec ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$dir/$1.key" 2>/dev/null
  fi
  openssl req -new -key "$dir/$1.key" -subj "$4" -out "$tmp/$1.csr"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -days 7300 \
    -sha256 -set_serial "$3" -extfile "$tmp/leaf.ext" -out "$dir/$1.pem" 2>/dev/null
}
leaf old 2048 4097 "/C=DE/O=Example Tenant/OU=Integration/CN=tenant.example"
leaf new 3072 8193 "/C=DE/O=Example Tenant/OU=Integration/CN=tenant.example"
leaf stranger 2048 12289 "/C=DE/O=Somebody Else/CN=stranger.example"
leaf receiver 2048 16385 "/C=DE/O=Example Partner/CN=partner.example"
leaf receiver-new 2048 20481 "/C=DE/O=Example Partner/CN=partner.example"
leaf receiver-ec ec 24577 "/C=DE/O=Example Partner/CN=partner-ec.example"
leaf legacy 1024 28673 "/C=DE/O=Example Tenant/OU=Integration/CN=legacy.tenant.example"
chmod 0644 "$dir"/*
