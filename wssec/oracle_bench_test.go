package wssec_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"testing"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// BenchmarkDecrypt_failure reports how long each kind of failure takes, to
// state honestly how close they are: the error is one and the same, but
// timing is a separate channel. Compare the ns/op of the lines; the
// security document quotes them.
func BenchmarkDecrypt_failure(b *testing.B) {
	msg := response("records", 1<<10)
	mk := func(kt wssec.KeyTransport) ([]byte, []byte) {
		out := encrypt(b, &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: kt, DataEncryption: wssec.AES128CBC}, msg)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(out); err != nil {
			b.Fatal(err)
		}
		ekv, _ := base64.StdEncoding.DecodeString(cipherValue(doc, "EncryptedKey").Text())
		var cek []byte
		var err error
		if kt == wssec.RSA15 {
			cek, err = rsa.DecryptPKCS1v15(nil, oldID.Key, ekv) //nolint:staticcheck // the test recovers its own key
		} else {
			cek, err = rsa.DecryptOAEP(sha1.New(), nil, oldID.Key, ekv, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		return out, cek
	}
	// withData replaces the EncryptedData's CipherValue with CBC of raw
	// (already padded) under cek.
	withData := func(out, cek, raw []byte) []byte {
		block, _ := aes.NewCipher(cek)
		ct := make([]byte, 16+len(raw))
		cipher.NewCBCEncrypter(block, ct[:16]).CryptBlocks(ct[16:], raw)
		return edit(b, out, func(d *etree.Document) {
			cipherValue(d, "EncryptedData").SetText(base64.StdEncoding.EncodeToString(ct))
		})
	}
	pad := func(p []byte) []byte {
		n := 16 - len(p)%16
		return append(append([]byte(nil), p...), bytes.Repeat([]byte{byte(n)}, n)...)
	}
	oaep, oaepKey := mk(wssec.RSAOAEPMGF1P)
	v15, v15Key := mk(wssec.RSA15)
	body := msg[bytes.Index(msg, []byte("<tns:Response>")):bytes.Index(msg, []byte("</soapenv:Body>"))]
	badPad := append(pad(body)[:len(pad(body))-1], 0) // pad length 0
	cases := []struct {
		name string
		msg  []byte
		kt   wssec.KeyTransport
	}{
		{"oaep/good", oaep, ""},
		{"oaep/bad-padding", withData(oaep, oaepKey, badPad), ""},
		{"oaep/good-padding-bad-xml", withData(oaep, oaepKey, pad(append([]byte("<tns:Unclosed>"), body...))), ""},
		{"oaep/bad-key", edit(b, oaep, flip("EncryptedKey", 7)), ""},
		{"rsa15/good", v15, wssec.RSA15},
		{"rsa15/bad-key", edit(b, v15, flip("EncryptedKey", 7)), wssec.RSA15},
		{"rsa15/bad-data", withData(v15, v15Key, badPad), wssec.RSA15},
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID)), Policy: wssec.Policy{AllowRSA15: true}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			_, want := d.Decrypt(c.msg)
			for b.Loop() {
				if _, err := d.Decrypt(c.msg); err != want { //nolint:errorlint
					b.Fatalf("error changed: %v", err)
				}
			}
		})
	}
}
