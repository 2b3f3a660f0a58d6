// Command gen writes the encrypted SOAP responses that the peer comparison
// decrypts with every implementation, together with the fixture key they are
// encrypted for and a manifest.
//
// Usage:
//
//	go run ./internal/bench/gen -out DIR
//
// DIR receives:
//
//   - <shape>-<size>-<alg>.xml: a SOAP 1.1 response whose Body content is
//     encrypted with wssec.Encryptor (RSA-OAEP-MGF1P key transport, the
//     EncryptedKey inside EncryptedData/ds:KeyInfo, the certificate as the
//     key identifier). Shape "records" is tag-dense order records; shape
//     "document" is one large base64 field.
//   - key.pem, cert.pem: the fixture identity "old" (RSA-2048).
//   - manifest.tsv: one line per message with its name, the plaintext
//     envelope size in bytes (the payload that throughput and memory are
//     divided by), and the number of elements and text characters inside
//     the Body once decrypted, which every implementation checks.
//   - <order>-<shape>-<size>.xml: the same responses signed (Body and
//     Timestamp, rsa-sha256, exclusive C14N, SHA-256 digests, the signer's
//     certificate in a BinarySecurityToken) by the fixture identity
//     "receiver", in three orders: "signed" only, "sign-then-encrypt" and
//     "encrypt-then-sign", encrypted with AES-256-GCM as above but with the
//     EncryptedKey and its ReferenceList in the Security header. Each comes
//     with <name>.signedinfo, the canonical SignedInfo the signature
//     covers, and <name>.sigvalue, the signature value, so that every
//     implementation can time its RSA verification alone.
//   - signer.pem: the certificate of "receiver".
//   - signed.tsv: the signed messages, in the format of manifest.tsv; the
//     payload is the envelope before signing and encryption.
package main

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// message is one generated response.
type message struct {
	shape string
	size  int // Body content size to reach, in bytes
	label string
	alg   wssec.DataEncryption
}

var algNames = map[wssec.DataEncryption]string{
	wssec.AES256GCM: "AES256GCM",
	wssec.AES128CBC: "AES128CBC",
}

func main() {
	out := flag.String("out", "", "directory to write the messages into (created if missing)")
	flag.Parse()
	if *out == "" {
		log.Fatal("gen: -out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	id := testpki.Load(testpki.Old)
	if err := os.WriteFile(filepath.Join(*out, "key.pem"), id.KeyPEM, 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "cert.pem"), id.CertPEM, 0o644); err != nil {
		log.Fatal(err)
	}

	var msgs []message
	for _, alg := range []wssec.DataEncryption{wssec.AES256GCM, wssec.AES128CBC} {
		msgs = append(msgs,
			message{"records", 1 << 10, "1KB", alg},
			message{"records", 16 << 20, "16MB", alg},
			message{"document", 16 << 20, "16MB", alg},
		)
	}
	var manifest strings.Builder
	manifest.WriteString("# name\tpayload_bytes\tbody_elements\tbody_text_chars\n")
	for _, m := range msgs {
		plain, elems, chars := response(m.shape, m.size)
		enc := &wssec.Encryptor{
			Certificate:       id.Certificate,
			KeyTransport:      wssec.RSAOAEPMGF1P,
			DataEncryption:    m.alg,
			KeyIdentifier:     wssec.IdentifyByX509Certificate,
			EmbedEncryptedKey: true,
		}
		ct, err := enc.Encrypt(plain)
		if err != nil {
			log.Fatalf("gen: %s/%s: encrypt: %v", m.shape, m.label, err)
		}
		name := fmt.Sprintf("%s-%s-%s", m.shape, m.label, algNames[m.alg])
		if err := os.WriteFile(filepath.Join(*out, name+".xml"), ct, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(&manifest, "%s\t%d\t%d\t%d\n", name, len(plain), elems, chars)
	}
	if err := os.WriteFile(filepath.Join(*out, "manifest.tsv"), []byte(manifest.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := writeSigned(*out, id); err != nil {
		log.Fatal(err)
	}
}

// signedAt is the signed messages' Timestamp Created: fixed, so that the
// messages do not depend on when they were made. wsrenew verifies them
// with a clock set one minute later; the peers do not check Timestamps.
var signedAt = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// signedOrders are the orders of signing and encryption of the signed
// messages, as named in their file names.
var signedOrders = []string{"signed", "sign-then-encrypt", "encrypt-then-sign"}

// writeSigned writes the signed messages, signer.pem and signed.tsv into
// dir; recipient is the identity the encrypted ones are encrypted for.
func writeSigned(dir string, recipient testpki.Identity) error {
	signer := testpki.Load(testpki.Receiver)
	key, ok := signer.Signer.(*rsa.PrivateKey)
	if !ok {
		return errors.New("gen: the receiver fixture is not an RSA key")
	}
	if err := os.WriteFile(filepath.Join(dir, "signer.pem"), signer.CertPEM, 0o644); err != nil {
		return err
	}
	// WS-Security's layout, as WSS4J writes it: the EncryptedKey with its
	// ReferenceList in the Security header, whose order tells a receiver
	// whether the signature covers the encrypted or the decrypted Body.
	// (With the EncryptedKey inside the EncryptedData nothing in the
	// header says so.)
	enc := &wssec.Encryptor{
		Certificate:    recipient.Certificate,
		KeyTransport:   wssec.RSAOAEPMGF1P,
		DataEncryption: wssec.AES256GCM,
		KeyIdentifier:  wssec.IdentifyByX509Certificate,
	}
	var manifest strings.Builder
	manifest.WriteString("# name\tpayload_bytes\tbody_elements\tbody_text_chars\n")
	for _, m := range []message{{"records", 1 << 10, "1KB", ""}, {"records", 16 << 20, "16MB", ""}, {"document", 16 << 20, "16MB", ""}} {
		plain, elems, chars := response(m.shape, m.size)
		msgs, err := inOrders(plain, key, signer.Certificate.Raw, enc)
		if err != nil {
			return fmt.Errorf("gen: %s-%s: %w", m.shape, m.label, err)
		}
		for _, order := range signedOrders {
			out := msgs[order]
			name := fmt.Sprintf("%s-%s-%s", order, m.shape, m.label)
			for ext, b := range map[string][]byte{".xml": out.msg, ".signedinfo": out.signedInfo, ".sigvalue": out.value} {
				if err := os.WriteFile(filepath.Join(dir, name+ext), b, 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(&manifest, "%s\t%d\t%d\t%d\n", name, len(plain), elems, chars)
		}
	}
	return os.WriteFile(filepath.Join(dir, "signed.tsv"), []byte(manifest.String()), 0o644)
}

// response returns a SOAP 1.1 response whose Body content is about size
// bytes, with the number of elements below the Body and of text characters
// they hold, counted as the content is written. The payload uses the tns
// prefix declared on the Envelope, as real responses do, so the decrypted
// content is not well-formed on its own.
func response(shape string, size int) (envelope []byte, elements, chars int) {
	var b bytes.Buffer
	b.Grow(size + 512)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders">` +
		`<soapenv:Header/><soapenv:Body><tns:Response>`)
	switch shape {
	case "document":
		raw := make([]byte, size*3/4)
		for i := range raw {
			raw[i] = byte(i*131 + i>>8)
		}
		content := base64.StdEncoding.EncodeToString(raw)
		b.WriteString(`<tns:Name>invoice.pdf</tns:Name><tns:Content>`)
		b.WriteString(content)
		b.WriteString(`</tns:Content>`)
		elements, chars = 3, len("invoice.pdf")+len(content)
	default:
		elements = 1
		for i := 1; b.Len() < size; i++ {
			customer, total := fmt.Sprintf("Customer %d", i), fmt.Sprintf("%d.50", i)
			fmt.Fprintf(&b, `<tns:Order id="o-%d"><tns:Customer>%s</tns:Customer><tns:Total currency="EUR">%s</tns:Total></tns:Order>`, i, customer, total)
			elements += 3
			chars += len(customer) + len(total)
		}
	}
	b.WriteString(`</tns:Response></soapenv:Body></soapenv:Envelope>`)
	return b.Bytes(), elements, chars
}
