package wssec_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

var (
	oldID      = testpki.Load(testpki.Old)
	newID      = testpki.Load(testpki.New)
	strangerID = testpki.Load(testpki.Stranger)
)

func keyOf(id testpki.Identity) wssec.Key {
	return wssec.Key{Decrypter: id.Key, Certificate: id.Certificate, Name: id.Name}
}

// twoKeyRing returns the ring of a renewal in progress: new is current, old
// is retained with no expiry yet.
func twoKeyRing(t testing.TB) *wssec.KeyRing {
	t.Helper()
	r := wssec.NewKeyRing(keyOf(newID))
	if err := r.Retain(keyOf(oldID), time.Time{}); err != nil {
		t.Fatalf("Retain(old) error = %v", err)
	}
	return r
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encrypt(t testing.TB, e *wssec.Encryptor, msg []byte) []byte {
	t.Helper()
	out, err := e.Encrypt(msg)
	if err != nil {
		t.Fatalf("Encrypt() error = %v", err)
	}
	return out
}

// normalize serializes an envelope without its Security headers and
// without a Header left empty, so that an original and its decryption
// compare equal.
func normalize(t testing.TB, envelope []byte) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	root := doc.Root()
	for _, h := range root.ChildElements() {
		if h.Tag != "Header" {
			continue
		}
		for _, s := range h.ChildElements() {
			if s.Tag == "Security" {
				h.RemoveChild(s)
			}
		}
		if len(h.ChildElements()) == 0 {
			root.RemoveChild(h)
		}
	}
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// edit parses msg, applies f to its tree and serializes it again, for
// tests that need a variation the encryptor does not produce.
func edit(t testing.TB, msg []byte, f func(doc *etree.Document)) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		t.Fatalf("edit: %v", err)
	}
	f(doc)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// find returns the first element with the local name, in document order.
func find(doc *etree.Document, local string) *etree.Element {
	return doc.FindElement("//" + local)
}

// syntheticKey returns a distinct ring key that reuses the old key pair
// under a new self-signed certificate, so that large rings need no key
// generation.
func syntheticKey(t testing.TB, serial int) wssec.Key {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(100000 + serial)),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("synthetic-%d", serial)},
		NotBefore:    t0, NotAfter: t0.AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &oldID.Key.PublicKey, oldID.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return wssec.Key{Decrypter: oldID.Key, Certificate: c}
}
