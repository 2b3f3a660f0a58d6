"""Decrypts the messages of internal/bench/gen with xmlsec1 (libxmlsec1 with
its OpenSSL back end, through Debian's python3-xmlsec binding), in one
process, and prints one JSON object per line, as internal/bench/measure does.

    python3 peer_xmlsec.py time DIR [WARMUP N LARGE_WARMUP LARGE_N]
    python3 peer_xmlsec.py rss DIR NAME [SMALL]

time: each message is parsed and decrypted once and checked against
DIR/manifest.tsv, then WARMUP times untimed and N times timed (messages of
1 MB and more: LARGE_WARMUP and LARGE_N); one iteration is lxml parsing of
the message bytes plus xmlsec decryption of its EncryptedData, with the key
loaded once. The median is reported. On the first small message each
decryption is followed by the own RSA operation alone, OpenSSL's RSA-OAEP
decryption of the EncryptedKey (python3-cryptography, same libcrypto), and
the median of the differences is reported as the XML overhead; xmlsec
decrypting the EncryptedKey element alone is timed as well.

rss: decrypts SMALL once, reads VmHWM from /proc/self/status as the
baseline, then reads and decrypts NAME once and reads VmHWM again.

    python3 peer_xmlsec.py signed-time DIR [WARMUP N LARGE_WARMUP LARGE_N]
    python3 peer_xmlsec.py signed-rss DIR NAME [SMALL]

The same for the signed messages of DIR/signed.tsv: one iteration parses
the message, registers the wsu:Id attributes as IDs, verifies the
ds:Signature with xmlsec.SignatureContext.verify (SignedInfo and every
Reference) with the signer's certificate, and decrypts the EncryptedData
before verifying (sign-then-encrypt) or after (encrypt-then-sign): xmlsec
decrypts the EncryptedKey of the Security header, then the EncryptedData
with the AES key it yields. On every small message each iteration is paired
with the RSA operations alone, through python3-cryptography: the
rsa-sha256 verification of the canonical SignedInfo, and the RSA-OAEP
decryption of the EncryptedKey if there is one.
"""

import base64
import json
import os
import sys
import time

import xmlsec
from lxml import etree

XENC = "http://www.w3.org/2001/04/xmlenc#"
DS = "http://www.w3.org/2000/09/xmldsig#"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
LARGE = 1 << 20

# huge_tree lifts libxml2's 10 MB limit on one text node: the CipherValue
# of a 16 MB body is about 22 MB of base64.
PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


def read_manifest(d, file="manifest.tsv"):
    entries = []
    with open(os.path.join(d, file)) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            name, payload, elements, chars = line.split("\t")
            entries.append((name, int(payload), int(elements), int(chars)))
    return entries


def keys_manager(d):
    mgr = xmlsec.KeysManager()
    mgr.add_key(xmlsec.Key.from_file(os.path.join(d, "key.pem"), xmlsec.constants.KeyDataFormatPem))
    return mgr


def decrypt(mgr, data):
    doc = etree.fromstring(data, PARSER)
    ed = doc.find(".//{%s}EncryptedData" % XENC)
    if ed is None:
        raise RuntimeError("no EncryptedData")
    xmlsec.EncryptionContext(mgr).decrypt(ed)
    return doc


def check(entry, doc):
    name, _, want_elements, want_chars = entry
    body = doc.find("{%s}Body" % SOAP11)
    elements, chars = 0, len(body.text or "")
    for e in body.iterdescendants():
        elements += 1
        chars += len(e.text or "") + len(e.tail or "")
    if elements != want_elements or chars != want_chars:
        raise RuntimeError("%s: decrypted Body has %d elements and %d characters, want %d and %d"
                           % (name, elements, chars, want_elements, want_chars))


def median(warmup, n, f):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(n):
        start = time.perf_counter_ns()
        f()
        ts.append(time.perf_counter_ns() - start)
    return middle(ts) / 1e3


def emit(**rec):
    print(json.dumps(rec), flush=True)


def paired(warmup, n, a, b):
    """Runs a and b alternately, warmup times untimed and n times timed, and
    returns the medians of a's durations, of b's, and of a - b per pair."""
    for _ in range(warmup):
        a()
        b()
    ta, tb, td = [], [], []
    for _ in range(n):
        start = time.perf_counter_ns()
        a()
        mid = time.perf_counter_ns()
        b()
        end = time.perf_counter_ns()
        ta.append(mid - start)
        tb.append(end - mid)
        td.append((mid - start) - (end - mid))
    return tuple(middle(v) / 1e3 for v in (ta, tb, td))


def middle(v):
    v.sort()
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def rsa_ops(d, mgr, data):
    """Returns OpenSSL's RSA-OAEP decryption of the message's EncryptedKey
    (through python3-cryptography, which uses the same libcrypto as
    xmlsec), or None without python3-cryptography, and xmlsec's decryption
    of the EncryptedKey element alone."""
    doc = etree.fromstring(data, PARSER)
    ek = doc.find(".//{%s}EncryptedKey" % XENC)
    value = ek.find("{%s}CipherData/{%s}CipherValue" % (XENC, XENC)).text
    ct = base64.b64decode("".join(value.split()))
    # The EncryptedKey element is not replaced by decrypting it, so the same
    # node can be decrypted again.
    xmlsec_ek = lambda: xmlsec.EncryptionContext(mgr).decrypt(ek)
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        return None, xmlsec_ek
    with open(os.path.join(d, "key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return (lambda: key.decrypt(ct, oaep)), xmlsec_ek


def time_all(d, warmup, n, large_warmup, large_n):
    mgr = keys_manager(d)
    rsa_done = False
    for entry in read_manifest(d):
        name, payload = entry[0], entry[1]
        with open(os.path.join(d, name + ".xml"), "rb") as f:
            data = f.read()
        check(entry, decrypt(mgr, data))
        w, k = (large_warmup, large_n) if payload >= LARGE else (warmup, n)
        run = lambda: decrypt(mgr, data)
        if not rsa_done and payload < LARGE:
            # On the first small message, alternate whole decryptions with
            # the RSA operation alone, so that both see the same machine and
            # their difference, the XML overhead, is not swamped by changes
            # in load between two separate loops.
            rsa_op, xmlsec_ek = rsa_ops(d, mgr, data)
            emit(impl="xmlsec1", what="rsa-encryptedkey", median_us=median(w, k, xmlsec_ek), n=k)
            total, op, overhead = paired(w, k, run, rsa_op or xmlsec_ek)
            emit(impl="xmlsec1", what="decrypt", file=name, median_us=total, n=k)
            emit(impl="xmlsec1", what="rsa", median_us=op, n=k)
            emit(impl="xmlsec1", what="overhead", file=name, median_us=overhead, n=k)
            rsa_done = True
        else:
            emit(impl="xmlsec1", what="decrypt", file=name, median_us=median(w, k, run), n=k)


def signer_key(d):
    return xmlsec.Key.from_file(os.path.join(d, "signer.pem"), xmlsec.constants.KeyDataFormatCertPem)


def decrypt_wss(mgr, doc):
    """Decrypts the EncryptedData of doc with the key of the Security
    header's EncryptedKey, as WS-Security lays them out."""
    ek = doc.find(".//{%s}EncryptedKey" % XENC)
    ed = doc.find(".//{%s}EncryptedData" % XENC)
    if ek is None or ed is None:
        raise RuntimeError("no EncryptedKey or EncryptedData")
    cek = xmlsec.EncryptionContext(mgr).decrypt(ek)
    ctx = xmlsec.EncryptionContext()
    ctx.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataAes, cek)
    ctx.decrypt(ed)


def verify(mgr, signer, name, data):
    """Verifies (and decrypts) a message of signed.tsv; raises if xmlsec
    rejects it."""
    doc = etree.fromstring(data, PARSER)
    if name.startswith("sign-then-encrypt-"):
        decrypt_wss(mgr, doc)
    xmlsec.tree.add_ids(doc, ["Id"])
    sig = doc.find(".//{%s}Signature" % DS)
    if sig is None:
        raise RuntimeError("%s: no Signature" % name)
    # A SignatureContext keeps the state of one verification; the key,
    # loaded once, is copied into each.
    ctx = xmlsec.SignatureContext()
    ctx.key = signer
    ctx.verify(sig)
    if name.startswith("encrypt-then-sign-"):
        decrypt_wss(mgr, doc)
    return doc


def signed_rsa_ops(d, name, data):
    """Returns the RSA operations of a signed message alone, through
    python3-cryptography (OpenSSL's libcrypto, as xmlsec uses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    with open(os.path.join(d, "signer.pem"), "rb") as f:
        pub = x509.load_pem_x509_certificate(f.read()).public_key()
    with open(os.path.join(d, name + ".signedinfo"), "rb") as f:
        si = f.read()
    with open(os.path.join(d, name + ".sigvalue"), "rb") as f:
        value = f.read()
    decrypt_ek = None
    if not name.startswith("signed-"):
        with open(os.path.join(d, "key.pem"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        doc = etree.fromstring(data, PARSER)
        ek = doc.find(".//{%s}EncryptedKey" % XENC)
        ct = base64.b64decode("".join(ek.find("{%s}CipherData/{%s}CipherValue" % (XENC, XENC)).text.split()))
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        decrypt_ek = lambda: key.decrypt(ct, oaep)

    def ops():
        pub.verify(value, si, padding.PKCS1v15(), hashes.SHA256())
        if decrypt_ek:
            decrypt_ek()

    ops()
    return ops


def time_signed(d, warmup, n, large_warmup, large_n):
    mgr, signer = keys_manager(d), signer_key(d)
    for entry in read_manifest(d, "signed.tsv"):
        name, payload = entry[0], entry[1]
        with open(os.path.join(d, name + ".xml"), "rb") as f:
            data = f.read()
        check(entry, verify(mgr, signer, name, data))
        run = lambda: verify(mgr, signer, name, data)
        if payload >= LARGE:
            emit(impl="xmlsec1", what="verify", file=name, median_us=median(large_warmup, large_n, run), n=large_n)
            continue
        total, op, overhead = paired(warmup, n, run, signed_rsa_ops(d, name, data))
        emit(impl="xmlsec1", what="verify", file=name, median_us=total, n=n)
        emit(impl="xmlsec1", what="verify-rsa", file=name, median_us=op, n=n)
        emit(impl="xmlsec1", what="verify-overhead", file=name, median_us=overhead, n=n)


def peak_rss_signed(d, name, small):
    entries = {e[0]: e for e in read_manifest(d, "signed.tsv")}
    mgr, signer = keys_manager(d), signer_key(d)
    with open(os.path.join(d, small + ".xml"), "rb") as f:
        verify(mgr, signer, small, f.read())
    base = vm_hwm()
    with open(os.path.join(d, name + ".xml"), "rb") as f:
        doc = verify(mgr, signer, name, f.read())
    peak = vm_hwm()
    check(entries[name], doc)
    emit(impl="xmlsec1", what="rss", file=name, baseline_kb=base, peak_kb=peak)


def vm_hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_rss(d, name, small):
    entries = {e[0]: e for e in read_manifest(d)}
    mgr = keys_manager(d)
    with open(os.path.join(d, small + ".xml"), "rb") as f:
        decrypt(mgr, f.read())
    base = vm_hwm()
    with open(os.path.join(d, name + ".xml"), "rb") as f:
        doc = decrypt(mgr, f.read())
    peak = vm_hwm()
    check(entries[name], doc)
    emit(impl="xmlsec1", what="rss", file=name, baseline_kb=base, peak_kb=peak)


def main(argv):
    if len(argv) >= 3 and argv[1] == "time":
        counts = [int(a) for a in argv[3:7]] or [300, 500, 2, 5]
        time_all(argv[2], *counts)
    elif len(argv) >= 3 and argv[1] == "signed-time":
        counts = [int(a) for a in argv[3:7]] or [300, 500, 2, 5]
        time_signed(argv[2], *counts)
    elif len(argv) >= 4 and argv[1] == "signed-rss":
        peak_rss_signed(argv[2], argv[3], argv[4] if len(argv) > 4 else "sign-then-encrypt-records-1KB")
    elif len(argv) >= 4 and argv[1] == "rss":
        peak_rss(argv[2], argv[3], argv[4] if len(argv) > 4 else "records-1KB-AES256GCM")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
