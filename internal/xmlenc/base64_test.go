package xmlenc

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func TestPairTable_decode(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 300)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString
	every := make([]byte, 64*3) // every alphabet character in every position
	for i := range every {
		every[i] = byte(i * 67 / 3)
	}
	cases := []struct {
		name string
		text string
	}{
		{"empty", ""},
		{"one group", enc(raw[:3])},
		{"two groups", enc(raw[:6])},
		{"long", enc(raw)},
		{"padded once", enc(raw[:299])},
		{"padded twice", enc(raw[:298])},
		{"every character", enc(every)},
		{"alphabet", stdAlphabet + stdAlphabet[:4]},
		{"line break", enc(raw)[:100] + "\n" + enc(raw)[100:]},
		{"CRLF", enc(raw)[:8] + "\r\n" + enc(raw)[8:]},
		{"space", enc(raw)[:16] + " " + enc(raw)[16:]},
		{"invalid early", "!" + enc(raw)},
		{"invalid late", enc(raw)[:200] + "*" + enc(raw)[201:]},
		{"high byte", enc(raw)[:40] + "\xff" + enc(raw)[41:]},
		{"NUL", enc(raw)[:40] + "\x00" + enc(raw)[41:]},
		{"padding inside", enc(raw[:1]) + enc(raw)},
		{"padding then more", enc(raw[:2]) + "QUJD"},
		{"trailing garbage", enc(raw) + "Q"},
		{"URL alphabet", "-_-_" + enc(raw)},
	}
	tab := newPairTable()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := make([]byte, base64.StdEncoding.DecodedLen(len(tc.text)))
			wn, werr := base64.StdEncoding.Decode(want, []byte(tc.text))
			got := make([]byte, len(want))
			n, err := tab.decode(got, []byte(tc.text))
			if (err == nil) != (werr == nil) || (err == nil && !bytes.Equal(got[:n], want[:wn])) {
				t.Fatalf("decode(%.40q) = %d bytes, %v; want %d bytes, %v", tc.text, n, err, wn, werr)
			}
		})
	}
}

// FuzzPairTable checks decode against the standard decoder.
func FuzzPairTable(f *testing.F) {
	f.Add([]byte("QUJDREVGR0hJSktM"))
	f.Add([]byte("QUJDREVG\nR0hJSktM=="))
	f.Add([]byte("QUJDREVGR0hJSk=="))
	tab := newPairTable()
	f.Fuzz(func(t *testing.T, text []byte) {
		want := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
		wn, werr := base64.StdEncoding.Decode(want, text)
		got := make([]byte, len(want))
		n, err := tab.decode(got, text)
		if (err == nil) != (werr == nil) || (err == nil && !bytes.Equal(got[:n], want[:wn])) {
			t.Fatalf("decode(%q) = %x, %v; want %x, %v", text, got[:n], err, want[:wn], werr)
		}
	})
}

// BenchmarkPairTable_decode compares decode with the standard decoder on
// the base64 of 16 MB, the table's construction included.
func BenchmarkPairTable_decode(b *testing.B) {
	raw := make([]byte, 16<<20)
	rand.Read(raw)
	text := []byte(base64.StdEncoding.EncodeToString(raw))
	dst := make([]byte, len(raw))
	for _, bc := range []struct {
		name   string
		decode func() (int, error)
	}{
		{"standard", func() (int, error) { return base64.StdEncoding.Decode(dst, text) }},
		{"pairTable", func() (int, error) { return newPairTable().decode(dst, text) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if n, err := bc.decode(); err != nil || n != len(raw) {
					b.Fatal(n, err)
				}
			}
		})
	}
}
