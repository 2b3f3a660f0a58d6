package main

import (
	"fmt"
	"io"
	"math"
)

// signedOrders are the orders of signing and encryption of the signed
// messages, as gen names them, with their labels.
var signedOrders = []struct{ id, label string }{
	{"signed", "signed only"},
	{"sign-then-encrypt", "sign-then-encrypt"},
	{"encrypt-then-sign", "encrypt-then-sign"},
}

// The signed messages of one order.
func signedSmall(order string) string   { return order + "-records-1KB" }
func signedRecords(order string) string { return order + "-records-16MB" }
func signedDoc(order string) string     { return order + "-document-16MB" }

// best returns, per round, the highest (or with lowest, the lowest) of
// the peers' values, ignoring peers that were not measured.
func best(ms []metric, lowest bool) metric {
	return func(k int) float64 {
		v := math.NaN()
		for _, m := range ms {
			x := m(k)
			switch {
			case math.IsNaN(x):
			case math.IsNaN(v), lowest && x < v, !lowest && x > v:
				v = x
			}
		}
		return v
	}
}

// rssTimes returns the peak RSS growth of impl on file divided by the
// file's payload, formatted.
func (r *results) rssTimes(impl, file string) string {
	return times(r.rssBytes(impl, file) / r.payload[file])
}

// printSigned prints the tables of the signed messages files (the names of
// signed.tsv).
func (r *results) printSigned(w io.Writer, files []string) {
	us, mb := func(v float64) string { return group(v) }, func(v float64) string { return fixed(v, 1) }
	first := signedOrders[0].id
	fmt.Fprintf(w, "\n### Signed responses\n\n")
	fmt.Fprintf(w, "Signed by RSA-2048 with rsa-sha256 over the Body and a Timestamp (exclusive C14N, SHA-256 digests, the signer's certificate in a BinarySecurityToken); "+
		"the encrypted orders with AES-256-GCM and RSA-OAEP, the EncryptedKey and its ReferenceList in the Security header. "+
		"1 KB = %s B, 16 MB tag-dense = %s B and 16 MB with one base64 field = %s B of envelope before signing and encryption. ",
		group(r.payload[signedSmall(first)]), group(r.payload[signedRecords(first)]), group(r.payload[signedDoc(first)]))
	fmt.Fprintf(w, "One iteration verifies the signature (SignedInfo and both References) with the signer's key and decrypts the Body, in the message's order, from the message bytes. "+
		"Own RSA ops: one PKCS#1 v1.5 verification of the canonical SignedInfo, and one RSA-OAEP decryption of the EncryptedKey if encrypted "+
		"(wsrenew: crypto/rsa; xmlsec1: OpenSSL through python3-cryptography; Santuario: the JCE's SHA256withRSA and RSA/ECB/OAEPPadding). "+
		"XML work: the median, over 1 KB iterations each followed by the RSA operations alone, of the difference. "+
		"Medians over the rounds as above, lowest and highest round in parentheses.\n\n")

	fmt.Fprintln(w, "| order | implementation | 1 KB µs/msg | own RSA ops µs | XML work µs (total − RSA ops, paired) | 16 MB tag-dense MB/s | 16 MB one base64 field MB/s | peak RSS ÷ payload (tag-dense; base64) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	impls := append([]impl{{"wsrenew", "wsrenew (Go)"}}, signedPeers...)
	for _, o := range signedOrders {
		for _, im := range impls {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s; %s |\n", o.label, im.name,
				r.show(r.us(im.id, "verify", signedSmall(o.id)), us),
				r.show(r.us(im.id, "verify-rsa", signedSmall(o.id)), us),
				r.show(r.us(im.id, "verify-overhead", signedSmall(o.id)), us),
				r.show(r.mbps(im.id, "verify", signedRecords(o.id)), mb),
				r.show(r.mbps(im.id, "verify", signedDoc(o.id)), mb),
				r.rssTimes(im.id, signedRecords(o.id)), r.rssTimes(im.id, signedDoc(o.id)))
		}
	}

	fmt.Fprintf(w, "\nwsrenew against the better peer, per round (throughput: ours ÷ the faster peer's, target ≥ 10×; XML work: ours ÷ the lower peer's, target ≤ 1×; memory: ours, target ≤ 3× the payload):\n\n")
	fmt.Fprintln(w, "| order | 16 MB tag-dense MB/s ÷ faster peer | 16 MB base64 MB/s ÷ faster peer | 1 KB XML work ÷ lower peer | peak RSS ÷ payload (tag-dense; base64) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	for _, o := range signedOrders {
		var rec, doc, xml []metric
		for _, p := range signedPeers {
			rec = append(rec, r.mbps(p.id, "verify", signedRecords(o.id)))
			doc = append(doc, r.mbps(p.id, "verify", signedDoc(o.id)))
			xml = append(xml, r.us(p.id, "verify-overhead", signedSmall(o.id)))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s; %s |\n", o.label,
			r.show(div(r.mbps("wsrenew", "verify", signedRecords(o.id)), best(rec, false)), times),
			r.show(div(r.mbps("wsrenew", "verify", signedDoc(o.id)), best(doc, false)), times),
			r.show(div(r.us("wsrenew", "verify-overhead", signedSmall(o.id)), best(xml, true)), times),
			r.rssTimes("wsrenew", signedRecords(o.id)), r.rssTimes("wsrenew", signedDoc(o.id)))
	}

	fmt.Fprintf(w, "\nEvery signed message (median over the rounds; for 16 MB also MB/s, and peak RSS growth in MiB and ÷ payload):\n\n")
	fmt.Fprintln(w, "| message | wsrenew | xmlsec1 | Santuario |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: |")
	for _, f := range files {
		fmt.Fprintf(w, "| %s", f)
		for _, id := range []string{"wsrenew", "xmlsec1", "santuario"} {
			fmt.Fprintf(w, " | %s", r.cell(id, "verify", f))
		}
		fmt.Fprintln(w, " |")
	}
}

// signedPeers are the peers as they verify signed messages.
var signedPeers = []impl{
	{"xmlsec1", "xmlsec1 (python3-xmlsec, OpenSSL)"},
	{"santuario", "Santuario (XMLSignature + XMLCipher, JCE)"},
}
