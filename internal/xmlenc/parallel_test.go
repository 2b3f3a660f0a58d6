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
			buf, got, err := decodeBase64Room([]byte(text), 5, 7, smallParallel, 8)
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
		// The second half moves down by several chunks' worth.
		{"LF every 64, large", wrap(enc(bytes.Repeat(raw, 4*cryptChunk/len(raw))), 64, "\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := base64.StdEncoding.DecodeString(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, base64.StdEncoding.DecodedLen(len(tc.text)))
			n, ok := decodeHalves(newPairTable(), dst, []byte(tc.text))
			if !ok {
				t.Fatalf("decodeHalves(%s) declined", tc.name)
			}
			if !bytes.Equal(dst[:n], want) {
				t.Fatalf("decodeHalves(%s) = %d bytes, want the %d bytes decoded", tc.name, n, len(want))
			}
		})
	}
}

// TestDecodePieces: unwrapped text decodes in pieces as the standard
// decoder decodes it whole, and a piece that does not decode to three
// bytes for every four characters declines, leaving the whole decode to
// decide.
func TestDecodePieces(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 3*decodePiece/4*3+100)
	rand.Read(raw)
	text := base64.StdEncoding.EncodeToString(raw)
	at := func(i int, s string) string { return text[:i] + s + text[i:] }
	cases := []struct {
		name string
		text string
		ok   bool
	}{
		{"whole pieces and a rest", text, true},
		{"padded", base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), true},
		{"exactly two pieces", text[:2*decodePiece], true},
		{"space in a middle piece", at(decodePiece+5, " "), false},
		{"LF in the first piece", at(7, "\n"), false},
		{"padding ends a piece", base64.StdEncoding.EncodeToString(raw[:decodePiece/4*3-1]) + text, false},
		{"invalid in the last piece", at(len(text)-3, "!"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := make([]byte, base64.StdEncoding.DecodedLen(len(tc.text)))
			n, ok := decodePieces(newPairTable(), dst, []byte(tc.text), decodePiece)
			if ok != tc.ok {
				t.Fatalf("decodePieces(%s) ok = %v, want %v", tc.name, ok, tc.ok)
			}
			if !ok {
				return
			}
			want, err := base64.StdEncoding.DecodeString(tc.text)
			if err != nil || !bytes.Equal(dst[:n], want) {
				t.Fatalf("decodePieces(%s) = %d bytes; the standard decoder: %d bytes, %v", tc.name, n, len(want), err)
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
	if n, ok := decodeHalves(newPairTable(), dst, text); ok {
		t.Fatalf("decodeHalves accepted padding in the middle (%d bytes)", n)
	}
}

// TestDecryptData_halves: data decrypted on two goroutines is the data
// encrypted, for every CBC and GCM cipher and sizes around block and
// piece boundaries; with AES-GCM, every byte changed, in IV, ciphertext
// or tag, fails the tag, and the ciphertext stays undecrypted.
func TestDecryptData_halves(t *testing.T) {
	t.Parallel()
	cbcSizes := []int{0, 15, 16, 17, 100, 4096, 4097, 4*cryptChunk + 8}
	// GCM halves of several chunks end on and off a chunk boundary.
	gcmSizes := []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 4096, 4097, 70000, 4 * cryptChunk, 5*cryptChunk + 17}
	for _, alg := range []string{AES128CBC, AES256CBC, TripleDESCBC, AES128GCM, AES192GCM, AES256GCM} {
		c, _ := LookupCipher(alg)
		key := make([]byte, c.KeySize)
		iv := make([]byte, c.IVSize)
		rand.Read(key)
		rand.Read(iv)
		sizes := cbcSizes
		if c.GCM {
			sizes = gcmSizes
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", alg, size), func(t *testing.T) {
				pt := make([]byte, size)
				rand.Read(pt)
				ct, err := EncryptData(alg, key, iv, pt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := decryptData(alg, key, bytes.Clone(ct), smallParallel)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("DecryptData = %d bytes, %v; want the %d bytes encrypted", len(got), err, size)
				}
				if !c.GCM {
					return
				}
				for _, i := range []int{0, c.IVSize - 1, c.IVSize, c.IVSize + size/2, len(ct) - 17, len(ct) - 16, len(ct) - 1} {
					if i < 0 || i >= len(ct) {
						continue
					}
					bad := bytes.Clone(ct)
					bad[i] ^= 0x01
					kept := bytes.Clone(bad)
					if got, err := decryptData(alg, key, bad, smallParallel); err != ErrData {
						t.Fatalf("DecryptData with byte %d changed = %d bytes, %v; want %v", i, len(got), err, ErrData)
					}
					if !bytes.Equal(bad, kept) {
						t.Fatalf("DecryptData with byte %d changed decrypted what failed the tag", i)
					}
				}
			})
		}
	}
}

func TestGF_mul(t *testing.T) {
	t.Parallel()
	one := gf{hi: 1 << 63}
	x := gf{0x66e94bd4ef8a2c3b, 0x884cfa59ca342b2e}
	y := gf{0x0388dace60b6a392, 0xf328c2b971b2fe78}
	cases := []struct {
		name      string
		got, want gf
	}{
		{"x·1", x.mul(one), x},
		{"1·x", one.mul(x), x},
		{"x·0", x.mul(gf{}), gf{}},
		{"commutes", x.mul(y), y.mul(x)},
		// NIST SP 800-38D test case 2: X1 = C·H.
		{"test case 2", y.mul(x), gf{0x5e2ec74691706288, 0x2c85b0685353deb7}},
		{"x^0", x.pow(0), one},
		{"x^1", x.pow(1), x},
		{"x^5", x.pow(5), x.mul(x).mul(x).mul(x).mul(x)},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %x, want %x", tc.name, tc.got, tc.want)
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
		_, got, err := decodeBase64Room(text, 3, 3, 1, 4)
		_, want, werr := decodeBase64Room(text, 3, 3, len(text)+1, 4)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decodeBase64Room(%q) in halves = %x, %v; whole %x, %v", text, got, err, want, werr)
		}
		got, err = decryptData(AES128CBC, key, bytes.Clone(ct), 1)
		want, werr = decryptData(AES128CBC, key, bytes.Clone(ct), len(ct)+1)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("decryptData(%x) in halves = %x, %v; one pass %x, %v", ct, got, err, want, werr)
		}
		// GCM in halves: what the standard library's one pass accepts,
		// for the fuzzed bytes as ciphertext and for their encryption.
		sealed, err := EncryptData(AES128GCM, key, key[:12], ct)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{ct, sealed} {
			got, err = decryptData(AES128GCM, key, bytes.Clone(in), 1)
			want, werr = decryptData(AES128GCM, key, bytes.Clone(in), len(in)+1)
			if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("decryptData(GCM, %x) in halves = %x, %v; one pass %x, %v", in, got, err, want, werr)
			}
		}
		if got, err := decryptData(AES128GCM, key, sealed, 1); err != nil || !bytes.Equal(got, ct) {
			t.Fatalf("decryptData(GCM) in halves of its encryption = %x, %v; want %x", got, err, ct)
		}
	})
}

// BenchmarkDecryptData_16MB compares one pass with two halves on a 16 MB
// CipherValue; decryption is in place, so each iteration decrypts a fresh
// copy, which the copy-only line measures.
func BenchmarkDecryptData_16MB(b *testing.B) {
	for _, alg := range []string{AES256GCM, AES128CBC} {
		c, _ := LookupCipher(alg)
		key := make([]byte, c.KeySize)
		iv := make([]byte, c.IVSize)
		pt := make([]byte, 16<<20)
		ct, err := EncryptData(alg, key, iv, pt)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, len(ct))
		for _, way := range []struct {
			name string
			min  int
		}{{"copy-only", -1}, {"one-pass", len(ct) + 1}, {"halves", 1}} {
			b.Run(alg[strings.LastIndex(alg, "#")+1:]+"/"+way.name, func(b *testing.B) {
				b.SetBytes(int64(len(pt)))
				for b.Loop() {
					copy(buf, ct)
					if way.min < 0 {
						continue
					}
					if _, err := decryptData(alg, key, buf, way.min); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
