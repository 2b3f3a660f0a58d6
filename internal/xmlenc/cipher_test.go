package xmlenc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
)

func TestDecryptData_roundTrip(t *testing.T) {
	t.Parallel()
	for alg, c := range ciphers {
		for _, n := range []int{0, 1, 15, 16, 17, 1000} {
			key := bytes.Repeat([]byte{7}, c.KeySize)
			iv := bytes.Repeat([]byte{9}, c.IVSize)
			pt := bytes.Repeat([]byte("x"), n)
			ct, err := EncryptData(alg, key, iv, pt)
			if err != nil {
				t.Fatalf("EncryptData(%s, %d) error = %v", alg, n, err)
			}
			got, err := DecryptData(alg, key, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("DecryptData(%s, %d) = %q, %v; want the plaintext", alg, n, got, err)
			}
		}
	}
}

// TestDecryptData_iso10126 checks that only the last pad byte counts: XML
// Encryption senders such as WSS4J and xmlsec fill the others at random.
func TestDecryptData_iso10126(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 16)
	iv := bytes.Repeat([]byte{2}, 16)
	pt := []byte("<a>hello</a>")                                      // 12 bytes
	padded := append(append([]byte{}, pt...), 0xde, 0xad, 0xbe, 0x04) // random pad, length 4
	block, _ := aes.NewCipher(key)
	body := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, padded)
	got, err := DecryptData(AES128CBC, key, append(append([]byte{}, iv...), body...))
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("DecryptData(random padding) = %q, %v; want %q", got, err, pt)
	}
}

func TestDecryptData_errors(t *testing.T) {
	t.Parallel()
	key16 := bytes.Repeat([]byte{1}, 16)
	good, _ := EncryptData(AES128CBC, key16, make([]byte, 16), []byte("0123456789"))
	badPad := append([]byte{}, good...)
	badPad[len(badPad)-17] ^= 0xff // changes the last plaintext byte via CBC
	gcm, _ := EncryptData(AES128GCM, key16, make([]byte, 12), []byte("x"))
	tests := []struct {
		name    string
		alg     string
		key, ct []byte
		want    error
	}{
		{"cbc empty", AES128CBC, key16, nil, ErrData},
		{"cbc iv only", AES128CBC, key16, make([]byte, 16), ErrData},
		{"cbc partial block", AES128CBC, key16, make([]byte, 33), ErrData},
		{"cbc wrong key size", AES128CBC, key16[:8], good, ErrData},
		{"gcm short", AES128GCM, key16, make([]byte, 27), ErrData},
		{"gcm tag", AES128GCM, key16, append(gcm[:len(gcm)-1:len(gcm)-1], gcm[len(gcm)-1]^1), ErrData},
	}
	for _, tc := range tests {
		if _, err := DecryptData(tc.alg, tc.key, tc.ct); !errors.Is(err, tc.want) {
			t.Errorf("DecryptData(%s) error = %v, want %v", tc.name, err, tc.want)
		}
	}
	var ue *UnsupportedError
	if _, err := DecryptData("urn:x", key16, good); !errors.As(err, &ue) {
		t.Errorf("DecryptData(unknown) error = %v, want *UnsupportedError", err)
	}
	// A pad length of 0 or above the block size is refused.
	if _, err := DecryptData(AES128CBC, key16, badPad); err == nil {
		t.Log("flipped pad byte happened to stay valid") // possible: any value 1..16 is valid
	}
}
