package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveOAEP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		alg, digest, mgf string
		want             OAEPParams
		wantErr          bool
	}{
		{"mgf1p default", RSAOAEPMGF1P, "", "", OAEPParams{Digest: crypto.SHA1, MGF: crypto.SHA1}, false},
		// The classic interop trap: a SHA-256 DigestMethod on
		// rsa-oaep-mgf1p changes the OAEP digest but never the MGF.
		{"mgf1p sha256 keeps mgf1-sha1", RSAOAEPMGF1P, digestSHA256, "", OAEPParams{Digest: crypto.SHA256, MGF: crypto.SHA1}, false},
		// xmlsec 1.3 writes an MGF element under rsa-oaep-mgf1p: MGF1
		// with SHA-1 restates the algorithm; any other contradicts it.
		{"mgf1p with MGF sha1", RSAOAEPMGF1P, "", mgf1SHA1, OAEPParams{Digest: crypto.SHA1, MGF: crypto.SHA1}, false},
		{"mgf1p sha256 with MGF sha1", RSAOAEPMGF1P, digestSHA256, mgf1SHA1, OAEPParams{Digest: crypto.SHA256, MGF: crypto.SHA1}, false},
		{"mgf1p with MGF sha256", RSAOAEPMGF1P, "", mgf1SHA256, OAEPParams{}, true},
		{"mgf1p with MGF sha512", RSAOAEPMGF1P, digestSHA256, mgf1SHA512, OAEPParams{}, true},
		{"mgf1p with unknown MGF", RSAOAEPMGF1P, "", "urn:mgf", OAEPParams{}, true},
		{"oaep11 default", RSAOAEP, "", "", OAEPParams{Digest: crypto.SHA1, MGF: crypto.SHA1}, false},
		{"oaep11 sha256", RSAOAEP, digestSHA256, "", OAEPParams{Digest: crypto.SHA256, MGF: crypto.SHA1}, false},
		{"oaep11 sha512 mgf256", RSAOAEP, digestSHA512, mgf1SHA256, OAEPParams{Digest: crypto.SHA512, MGF: crypto.SHA256}, false},
		{"oaep11 sha224 mgf224", RSAOAEP, digestSHA224, mgf1SHA224, OAEPParams{Digest: crypto.SHA224, MGF: crypto.SHA224}, false},
		{"oaep11 sha384 mgf384", RSAOAEP, digestSHA384, mgf1SHA384, OAEPParams{Digest: crypto.SHA384, MGF: crypto.SHA384}, false},
		{"unknown digest", RSAOAEP, "urn:md5", "", OAEPParams{}, true},
		{"unknown mgf", RSAOAEP, "", "urn:mgf", OAEPParams{}, true},
		{"not oaep", RSA15, "", "", OAEPParams{}, true},
	}
	for _, tc := range tests {
		got, err := ResolveOAEP(tc.alg, tc.digest, tc.mgf, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("ResolveOAEP(%s) error = %v, wantErr %v", tc.name, err, tc.wantErr)
			continue
		}
		// Every refusal names the algorithm, so that callers report
		// it as not allowed rather than as a malformed message.
		var ue *UnsupportedError
		if tc.wantErr && !errors.As(err, &ue) {
			t.Errorf("ResolveOAEP(%s) error = %v, want *UnsupportedError", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
			t.Errorf("ResolveOAEP(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

func loadKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("../testpki/pki/old.key")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func TestKeyTransport(t *testing.T) {
	t.Parallel()
	k := loadKey(t)
	cek := bytes.Repeat([]byte{5}, 32)
	p := OAEPParams{Digest: crypto.SHA256, MGF: crypto.SHA1, Label: []byte("label")}
	wrapped, err := EncryptKey(rand.Reader, &k.PublicKey, RSAOAEP, p, cek)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecryptKeyOAEP(k, rand.Reader, p, wrapped, 32); err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("DecryptKeyOAEP = %x, %v; want the key", got, err)
	}
	for name, q := range map[string]OAEPParams{
		"wrong digest": {Digest: crypto.SHA1, MGF: crypto.SHA1, Label: p.Label},
		"wrong mgf":    {Digest: crypto.SHA256, MGF: crypto.SHA256, Label: p.Label},
		"wrong label":  {Digest: crypto.SHA256, MGF: crypto.SHA1},
	} {
		if _, err := DecryptKeyOAEP(k, rand.Reader, q, wrapped, 32); !errors.Is(err, ErrKeyTransport) {
			t.Errorf("DecryptKeyOAEP(%s) error = %v, want %v", name, err, ErrKeyTransport)
		}
	}
	if _, err := DecryptKeyOAEP(k, rand.Reader, p, wrapped, 16); !errors.Is(err, ErrKeyTransport) {
		t.Errorf("DecryptKeyOAEP(wrong length) error = %v, want %v", err, ErrKeyTransport)
	}

	// PKCS#1 v1.5: implicit rejection returns a key of the right length
	// and no error, whatever the ciphertext.
	w15, err := EncryptKey(rand.Reader, &k.PublicKey, RSA15, OAEPParams{}, cek)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecryptKeyPKCS1v15(k, rand.Reader, w15, 32); err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("DecryptKeyPKCS1v15 = %x, %v; want the key", got, err)
	}
	bad := append([]byte{}, w15...)
	bad[10] ^= 1
	for name, ct := range map[string][]byte{"corrupt": bad, "short": w15[:10], "empty": nil} {
		got, err := DecryptKeyPKCS1v15(k, rand.Reader, ct, 32)
		if err != nil || len(got) != 32 || bytes.Equal(got, cek) {
			t.Errorf("DecryptKeyPKCS1v15(%s) = %d bytes, %v; want a random 32-byte key and no error", name, len(got), err)
		}
	}
	if got, _ := DecryptKeyPKCS1v15(k, rand.Reader, w15, 16); len(got) != 16 {
		t.Errorf("DecryptKeyPKCS1v15(wrong length) = %d bytes, want 16", len(got))
	}
}
