#!/usr/bin/env bash
# Regenerates the import fixtures of the keystore tests from the shared test
# PKI (internal/testpki/pki). The outputs are committed; run this only to
# replace them, and update README.md with the tool versions it prints.
#
# Requires: openssl (3.x, with the legacy provider for -legacy) and keytool
# (any JDK that writes PKCS#12 key stores).
set -euo pipefail
cd "$(dirname "$0")"
pki=../../internal/testpki/pki
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

p12pass=p12-test-password
pempass=pem-test-password

openssl version
keytool -J-Duser.language=en -help 2>&1 | head -1 || true
java -version 2>&1 | head -1

# PKCS#12 written by OpenSSL 3 with its defaults: PBES2/PBKDF2-HMAC-SHA-256/
# AES-256-CBC for key and certificates, HMAC-SHA-256 MAC.
openssl pkcs12 -export -inkey "$pki/old.key" -in "$pki/old.pem" -certfile "$pki/ca.pem" \
  -name old -passout "pass:$p12pass" -out openssl-modern.p12

# The same with -legacy: RC2-40-CBC certificates, 3DES key, HMAC-SHA-1 MAC,
# as OpenSSL 1.x wrote them.
openssl pkcs12 -export -legacy -inkey "$pki/old.key" -in "$pki/old.pem" -certfile "$pki/ca.pem" \
  -name old -passout "pass:$p12pass" -out openssl-legacy.p12

# 3DES for certificates and key, SHA-1 MAC (openssl -descert; Windows-style).
openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 \
  -inkey "$pki/old.key" -in "$pki/old.pem" -name old -passout "pass:$p12pass" -out openssl-3des.p12

# keytool: a PKCS#12 key store written by Java's own PKCS12 KeyStore, from an
# OpenSSL export of the "new" identity. With -J-Dkeystore.pkcs12.legacy Java
# writes the legacy algorithms (RC2-40 certificates, 3DES key, HMAC-SHA-1).
openssl pkcs12 -export -inkey "$pki/new.key" -in "$pki/new.pem" -certfile "$pki/ca.pem" \
  -name new -passout "pass:$p12pass" -out "$tmp/new.p12"
rm -f keytool.p12 keytool-legacy.p12
keytool -importkeystore -noprompt -srckeystore "$tmp/new.p12" -srcstoretype PKCS12 \
  -srcstorepass "$p12pass" -srcalias new -destkeystore keytool.p12 -deststoretype PKCS12 \
  -deststorepass "$p12pass" -destalias new 2>/dev/null
keytool -J-Dkeystore.pkcs12.legacy -importkeystore -noprompt -srckeystore "$tmp/new.p12" \
  -srcstoretype PKCS12 -srcstorepass "$p12pass" -srcalias new -destkeystore keytool-legacy.p12 \
  -deststoretype PKCS12 -deststorepass "$p12pass" -destalias new 2>/dev/null

# PEM private keys of the "old" identity.
openssl rsa -in "$pki/old.key" -traditional -out old-pkcs1.pem 2>/dev/null
openssl pkcs8 -topk8 -in "$pki/old.key" -v2 aes-256-cbc -v2prf hmacWithSHA256 \
  -passout "pass:$pempass" -out old-pkcs8-aes256.pem
openssl pkcs8 -topk8 -in "$pki/old.key" -v2 des3 -v2prf hmacWithSHA1 \
  -passout "pass:$pempass" -out old-pkcs8-des3.pem
openssl pkcs8 -topk8 -in "$pki/old.key" -v1 PBE-SHA1-3DES \
  -passout "pass:$pempass" -out old-pkcs8-pbes1.pem
openssl pkcs8 -topk8 -in "$pki/old.key" -scrypt \
  -passout "pass:$pempass" -out old-pkcs8-scrypt.pem
openssl rsa -in "$pki/old.key" -traditional -aes256 -passout "pass:$pempass" \
  -out old-pkcs1-encrypted.pem 2>/dev/null

# What openssl pkcs12 -nodes prints: Bag Attributes text, key, certificates.
openssl pkcs12 -in openssl-modern.p12 -nodes -passin "pass:$p12pass" -out old-bundle.pem
# The same without the key: the certificate and its CA.
openssl pkcs12 -in openssl-modern.p12 -nokeys -passin "pass:$p12pass" -out old-chain.pem

chmod 0644 ./*.p12 ./*.pem
