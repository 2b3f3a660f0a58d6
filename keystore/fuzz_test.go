package keystore

import (
	"bytes"
	"errors"
	"testing"
)

// isOneOf reports whether err is one of the sentinels.
func isOneOf(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// The seed corpora live in testdata/fuzz; they hold real manifests, the
// PKCS#12 and PEM files of testdata, and the test PKI's certificates.

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"generation":1,"updated":"2026-01-01T00:00:00Z","entries":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data, "fuzz")
		if err != nil {
			var me *Error
			if !errors.As(err, &me) || !errors.Is(err, ErrCorruptManifest) {
				t.Fatalf("parseManifest() error = %#v, want a *Error", err)
			}
			return
		}
		// What parses writes back, and reads back the same.
		out, err := marshalManifest(m)
		if err != nil {
			t.Fatalf("marshalManifest() error = %v", err)
		}
		m2, err := parseManifest(out, "fuzz")
		if err != nil {
			t.Fatalf("parseManifest(marshalManifest()) error = %v", err)
		}
		out2, err := marshalManifest(m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("manifest round trip is unstable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParsePEM(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"), []byte(nil), "")
	f.Fuzz(func(t *testing.T, key, cert []byte, password string) {
		c, err := ParsePEM(key, cert, password)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !isOneOf(err, ErrMalformed, ErrEncryptedKey, ErrWrongPassword, ErrUnsupportedKey, ErrKeyMismatch) {
				t.Fatalf("ParsePEM() error = %#v, want a documented *Error", err)
			}
			return
		}
		if err := c.check("fuzz", weakRSABits); err != nil {
			t.Fatalf("ParsePEM() returned an unusable credential: %v", err)
		}
	})
}

func FuzzParsePKCS12(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		c, err := ParsePKCS12(data, password)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !isOneOf(err, ErrMalformed, ErrWrongPassword, ErrUnsupportedKey, ErrKeyMismatch) {
				t.Fatalf("ParsePKCS12() error = %#v, want a documented *Error", err)
			}
			return
		}
		if err := c.check("fuzz", weakRSABits); err != nil {
			t.Fatalf("ParsePKCS12() returned an unusable credential: %v", err)
		}
	})
}

func FuzzParseCertificates(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCertificates() error = %#v, want %v", err, ErrMalformed)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("ParseCertificates() returned no certificate and no error")
		}
	})
}
