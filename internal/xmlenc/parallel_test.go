package xmlenc

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// smallParallel makes the two-way paths run on test-sized inputs.
const smallParallel = 16

// wrap inserts sep after every n characters.
func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + sep)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestDecodeBase64Room_halves(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 3000)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString
	cases := map[string]string{
		"plain":            enc(raw),
		"padded":           enc(raw[:2999]),
		"padded twice":     enc(raw[:2998]),
		"LF every 76":      wrap(enc(raw), 76, "\n"),
		"CRLF every 64":    wrap(enc(raw[:2999]), 64, "\r\n"),
		"LF every 3":       wrap(enc(raw[:1001]), 3, "\n"),
		"indented":         wrap(enc(raw), 76, "\n    "),
		"padding inside":   enc(raw[:1000]) + enc(raw[:1000]) + enc(raw[:998]),
		"padding at split": enc(raw[:1499]) + enc(raw[:1500]),
		"invalid":          enc(raw[:1500]) + "!" + enc(raw[:1500]),
		"LF every 64 + LF": wrap(enc(raw), 64, "\n") + "\n",
		"CRLF every 76":    wrap(enc(raw[:2999]), 76, "\r\n"),
		"LF every 4":       wrap(enc(raw[:2998]), 4, "\n"),
		"LF every 6":       wrap(enc(raw), 6, "\n"),
		"LF once, early":   enc(raw)[:10] + "\n" + enc(raw)[10:],
		"LF once, late":    enc(raw)[:3000] + "\n" + enc(raw)[3000:],
		"CR before middle": enc(raw)[:1998] + "\r" + enc(raw)[1998:],
		"short":            "QUJD",
		"lone LF":          "\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			want, werr := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
				if strings.ContainsRune(" \t\r\n", r) {
					return -1
				}
				return r
			}, text))
			buf, got, err := decodeBase64Room([]byte(text), 5, 7, smallParallel)
			if werr != nil {
				if err == nil {
					t.Fatalf("DecodeBase64Room accepted what the decoder refuses: %v", werr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("DecodeBase64Room = %d bytes, %v; want %d bytes", len(got), err, len(want))
			}
			if len(got) > 0 && &buf[5] != &got[0] || len(buf)-5-len(got) < 7 {
				t.Fatalf("DecodeBase64Room left no room: %d bytes, %d decoded", len(buf), len(got))
			}
		})
	}
}

// TestDecodeHalves_splits checks that the shapes producers write are
// decoded in two halves, not left to the whole decode.
func TestDecodeHalves_splits(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 3000)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString
	tests := []struct{ name, text string }{
		{"unwrapped", enc(raw)},
		{"unwrapped, padded", enc(raw[:2999])},
		{"LF every 64", wrap(enc(raw), 64, "\n")},
		{"CRLF every 76", wrap(enc(raw[:2998]), 76, "\r\n")},
		{"LF every 64, trailing LF", wrap(enc(raw), 64, "\n") + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := base64.StdEncoding.DecodeString(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, base64.StdEncoding.DecodedLen(len(tc.text)))
			n, ok := decodeHalves(dst, []byte(tc.text))
			if !ok {
				t.Fatalf("decodeHalves(%s) declined", tc.name)
			}
			if !bytes.Equal(dst[:n], want) {
				t.Fatalf("decodeHalves(%s) = %d bytes, want the %d bytes decoded", tc.name, n, len(want))
			}
		})
	}
}

func TestDecodeHalves_declines(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 600)
	rand.Read(raw)
	// Padding that ends the first half would decode to fewer bytes than
	// its characters promise: the whole decode must decide.
	text := []byte(base64.StdEncoding.EncodeToString(raw[:299]) + base64.StdEncoding.EncodeToString(raw[:301]))
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	if n, ok := decodeHalves(dst, text); ok {
		t.Fatalf("decodeHalves accepted padding in the middle (%d bytes)", n)
	}
}

func TestDecryptData_cbcHalves(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{AES128CBC, AES256CBC, TripleDESCBC} {
		c, _ := LookupCipher(alg)
		key := make([]byte, c.KeySize)
		iv := make([]byte, c.IVSize)
		rand.Read(key)
		rand.Read(iv)
		for _, size := range []int{0, 15, 16, 17, 100, 4096, 4097} {
			t.Run(fmt.Sprintf("%s/%d", alg, size), func(t *testing.T) {
				pt := make([]byte, size)
				rand.Read(pt)
				ct, err := EncryptData(alg, key, iv, pt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := decryptData(alg, key, ct, smallParallel)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("DecryptData = %d bytes, %v; want the %d bytes encrypted", len(got), err, size)
				}
			})
		}
	}
}

// FuzzTwoWay checks the parallel halves against the plain path: base64
// decoding in two halves accepts and returns what the whole decode does,
// and CBC decryption in two halves returns what one pass does.
func FuzzTwoWay(f *testing.F) {
	f.Add([]byte("QUJDREVG\nR0hJ\r\nSktM  TU5P"), []byte("0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Add([]byte("QUJD=QUJD"), []byte{})
	key := bytes.Repeat([]byte{7}, 16)
	f.Fuzz(func(t *testing.T, text, ct []byte) {
		_, got, err := decodeBase64Room(text, 3, 3, 1)
		_, want, werr := decodeBase64Room(text, 3, 3, len(text)+1)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decodeBase64Room(%q) in halves = %x, %v; whole %x, %v", text, got, err, want, werr)
		}
		got, err = decryptData(AES128CBC, key, bytes.Clone(ct), 1)
		want, werr = decryptData(AES128CBC, key, bytes.Clone(ct), len(ct)+1)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decryptData(%x) in halves = %x, %v; one pass %x, %v", ct, got, err, want, werr)
		}
	})
}
