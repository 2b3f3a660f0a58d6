package keystore

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPBKDF2PRF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		oid      asn1.ObjectIdentifier
		wantSize int // 0: not supported
	}{
		{name: "absent means HMAC-SHA-1", oid: nil, wantSize: 20},
		{name: "HMAC-SHA-1", oid: oidHMACSHA1, wantSize: 20},
		{name: "HMAC-SHA-224", oid: oidHMACSHA224, wantSize: 28},
		{name: "HMAC-SHA-256", oid: oidHMACSHA256, wantSize: 32},
		{name: "HMAC-SHA-384", oid: oidHMACSHA384, wantSize: 48},
		{name: "HMAC-SHA-512", oid: oidHMACSHA512, wantSize: 64},
		{name: "unknown", oid: asn1.ObjectIdentifier{1, 2, 3}},
		{name: "a cipher is no PRF", oid: oidAES256CBC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prf, ok := pbkdf2PRF(tc.oid)
			if ok != (tc.wantSize != 0) {
				t.Fatalf("pbkdf2PRF(%v) ok = %v, want %v", tc.oid, ok, !ok)
			}
			if !ok {
				return
			}
			if got := prf().Size(); got != tc.wantSize {
				t.Errorf("pbkdf2PRF(%v)().Size() = %d, want %d", tc.oid, got, tc.wantSize)
			}
		})
	}
}

func TestPBES2Cipher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		oid        asn1.ObjectIdentifier
		wantKeyLen int // 0: not supported
		wantBlock  int
	}{
		{name: "AES-128-CBC", oid: oidAES128CBC, wantKeyLen: 16, wantBlock: 16},
		{name: "AES-192-CBC", oid: oidAES192CBC, wantKeyLen: 24, wantBlock: 16},
		{name: "AES-256-CBC", oid: oidAES256CBC, wantKeyLen: 32, wantBlock: 16},
		{name: "3DES-CBC", oid: oidDESEDE3CBC, wantKeyLen: 24, wantBlock: 8},
		{name: "absent", oid: nil},
		{name: "unknown", oid: asn1.ObjectIdentifier{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keyLen, newCipher, ok := pbes2Cipher(tc.oid)
			if ok != (tc.wantKeyLen != 0) {
				t.Fatalf("pbes2Cipher(%v) ok = %v, want %v", tc.oid, ok, !ok)
			}
			if !ok {
				return
			}
			block, err := newCipher(make([]byte, keyLen))
			if err != nil {
				t.Fatalf("pbes2Cipher(%v) cipher with a %d-byte key: %v", tc.oid, keyLen, err)
			}
			got := [2]int{keyLen, block.BlockSize()}
			if diff := cmp.Diff([2]int{tc.wantKeyLen, tc.wantBlock}, got); diff != "" {
				t.Errorf("pbes2Cipher(%v) key length and block size mismatch (-want +got):\n%s", tc.oid, diff)
			}
		})
	}
}

func TestUnpadPKCS7(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want []byte // nil: refused
	}{
		{name: "one byte", in: []byte{'a', 'b', 'c', 1}, want: []byte("abc")},
		{name: "three bytes", in: []byte{'a', 3, 3, 3}, want: []byte("a")},
		{name: "full block", in: []byte{4, 4, 4, 4}, want: []byte{}},
		{name: "zero", in: []byte{'a', 'b', 'c', 0}},
		{name: "longer than a block", in: []byte{5, 5, 5, 5}},
		{name: "inconsistent pad byte", in: []byte{'a', 2, 3, 3}},
		{name: "pad byte in the middle", in: []byte{'a', 3, 'x', 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := unpadPKCS7(append([]byte(nil), tc.in...), 4)
			if ok != (tc.want != nil) {
				t.Fatalf("unpadPKCS7(%v) ok = %v, want %v", tc.in, ok, !ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("unpadPKCS7(%v) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// Structures whose outer layers decode but an inner one does not: each
// layer of an EncryptedPrivateKeyInfo is checked before the password is
// used, and every refusal is a PEM [*Error].
func TestDecryptPKCS8_layers(t *testing.T) {
	t.Parallel()
	der := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	alg := func(oid asn1.ObjectIdentifier, params []byte) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.RawValue{FullBytes: params}}
	}
	kdfOK := der(pbkdf2Params{Salt: []byte("saltsalt"), Iterations: 1})
	ivOK := der(make([]byte, 16))
	info := func(scheme asn1.ObjectIdentifier, params []byte) []byte {
		return der(encryptedPrivateKeyInfo{Algorithm: alg(scheme, params), Data: make([]byte, 16)})
	}
	pbes2 := func(kdf, cipher pkix.AlgorithmIdentifier) []byte {
		return info(oidPBES2, der(pbes2Params{KDF: kdf, Scheme: cipher}))
	}
	good := pbes2(alg(oidPBKDF2, kdfOK), alg(oidAES256CBC, ivOK))
	tests := []struct {
		name    string
		der     []byte
		wantErr error
	}{
		{"trailing bytes", append(append([]byte(nil), good...), 0), ErrMalformed},
		{"PBES1", info(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3}, der(0)), ErrEncryptedKey},
		{"PBES2 parameters not a sequence", info(oidPBES2, der(1)), ErrMalformed},
		{"key derivation not PBKDF2", pbes2(alg(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}, kdfOK), alg(oidAES256CBC, ivOK)), ErrEncryptedKey},
		{"PBKDF2 parameters not a sequence", pbes2(alg(oidPBKDF2, der(1)), alg(oidAES256CBC, ivOK)), ErrMalformed},
		{"negative iterations", pbes2(alg(oidPBKDF2, der(pbkdf2Params{Salt: []byte("s"), Iterations: -1})), alg(oidAES256CBC, ivOK)), ErrMalformed},
		{"cipher parameters not an octet string", pbes2(alg(oidPBKDF2, kdfOK), alg(oidAES256CBC, der(1))), ErrMalformed},
		{"IV of another cipher", pbes2(alg(oidPBKDF2, kdfOK), alg(oidDESEDE3CBC, ivOK)), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decryptPKCS8(tc.der, "pw")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("decryptPKCS8(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Source != "PEM" {
				t.Errorf("decryptPKCS8(%s) error = %#v, want a PEM *Error", tc.name, err)
			}
		})
	}
}
