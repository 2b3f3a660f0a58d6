package wsrenew_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// signedSidecar is the part of testdata/signed/*.json this test uses; see
// testdata/README.md.
type signedSidecar struct {
	Order        string   `json:"order"`
	Signer       string   `json:"signer"`
	EncryptedFor string   `json:"encrypted_for"`
	Signed       []string `json:"signed"`
	Created      string   `json:"created"`
	At           string   `json:"at"`
	Expect       string   `json:"expect"`
	ExpectWith   *struct {
		AllowSHA1 bool     `json:"allow_sha1"`
		Trust     []string `json:"trust"`
	} `json:"expect_with"`
}

// TestSignedVectors verifies the messages WSS4J signed (and encrypted, in
// both orders): the default expectation trusts only the partner's current
// signing certificate, refuses SHA-1 and requires the Body and Timestamp
// signed, with the clock one minute after the Timestamp's Created; the
// alternative policy of expect_with must then succeed.
func TestSignedVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "signed", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d signed vectors, want at least 25", len(files))
	}
	oldK, newK := testpki.Load(testpki.Old), testpki.Load(testpki.New)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var side signedSidecar
			if err := json.Unmarshal(readFile(t, f), &side); err != nil {
				t.Fatal(err)
			}
			msg := readSignedVector(t, strings.TrimSuffix(f, ".json"))
			at := testpki.Load(testpki.Receiver).Certificate.NotBefore.Add(time.Hour)
			if side.Created != "" {
				c, err := time.Parse(time.RFC3339Nano, side.Created)
				if err != nil {
					t.Fatal(err)
				}
				at = c.Add(time.Minute)
			}
			if side.At != "" {
				if at, err = time.Parse(time.RFC3339Nano, side.At); err != nil {
					t.Fatal(err)
				}
			}
			run := func(trust []string, allowSHA1 bool) error {
				clk := fakeclock.New(at)
				tr, err := wssec.NewTrustRing(testpki.Load(trust[0]).Certificate, wssec.RingOptions{Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range trust[1:] {
					if err := tr.Retain(testpki.Load(n).Certificate, time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
				ring := wssec.NewKeyRing(wssec.Key{Decrypter: newK.Key, Certificate: newK.Certificate})
				if err := ring.Retain(wssec.Key{Decrypter: oldK.Key, Certificate: oldK.Certificate}, time.Time{}); err != nil {
					t.Fatal(err)
				}
				d := &wssec.Decryptor{Keys: ring, Signers: tr, Policy: wssec.Policy{
					AllowPlaintextBody:  side.Order == "sign",
					AllowSHA1Signatures: allowSHA1,
				}}
				res, err := d.Decrypt(msg)
				if err == nil {
					if !res.SignedBody() || len(res.Signers) == 0 {
						t.Errorf("Decrypt() succeeded without a signed Body")
					}
					if side.EncryptedFor != "" && res.Decrypted == 0 {
						t.Errorf("Decrypt() decrypted nothing of a message encrypted for %s", side.EncryptedFor)
					}
				}
				return err
			}
			want, ok := sentinels[side.Expect]
			if !ok {
				t.Fatalf("unknown expect %q", side.Expect)
			}
			err := run([]string{testpki.Receiver}, false)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %s", name, err, side.Expect)
			}
			if w := side.ExpectWith; w != nil {
				trust := w.Trust
				if len(trust) == 0 {
					trust = []string{testpki.Receiver}
				}
				if err := run(trust, w.AllowSHA1); err != nil {
					t.Fatalf("Decrypt(%s) with %+v error = %v, want success", name, *w, err)
				}
			}
		})
	}
}

// readSignedVector reads base.xml, or base.xml.gz for the vectors stored
// compressed (see testdata/README.md).
func readSignedVector(t *testing.T, base string) []byte {
	t.Helper()
	gz, err := os.ReadFile(base + ".xml.gz")
	if errors.Is(err, os.ErrNotExist) {
		return readFile(t, base+".xml")
	}
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
