package xmlenc

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeCipherValueInto checks that decoding into reused memory
// gives what DecodeCipherValue gives, error included, and uses that
// memory where it should.
func TestDecodeCipherValueInto(t *testing.T) {
	t.Parallel()
	plain := bytes.Repeat([]byte{1, 2, 3, 250}, 100)
	enc := base64.StdEncoding.EncodeToString(plain)
	runs := map[string][]byte{
		"#plain":    []byte(enc),
		"#wrapped":  []byte(enc[:100] + "\n" + enc[100:]),
		"#indented": []byte(enc[:100] + "\n    " + enc[100:]),
		"#invalid":  []byte(enc[:100] + "*" + enc[101:]),
	}
	lim := Limits{CipherText: func(text string) ([]byte, bool) {
		raw, ok := runs[text]
		return raw, ok
	}}
	for _, tc := range []struct {
		name, text string
		dst        int // capacity of dst
		inDst      bool
	}{
		{"run held elsewhere", "#plain", 1024, true},
		{"run with line breaks", "#wrapped", 1024, true},
		{"run with indentation", "#indented", 1024, false},
		{"invalid run", "#invalid", 1024, false},
		{"dst too small", "#plain", 100, false},
		{"no dst", "#plain", 0, false},
		{"text in place", enc, 1024, false},
		{"text in place, invalid", strings.Repeat("*", 8), 1024, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			el := parse(t, `<xenc:CipherValue `+ns+`>`+tc.text+`</xenc:CipherValue>`)
			want, wantErr := DecodeCipherValue(el, lim)
			dst := bytes.Repeat([]byte{0xee}, tc.dst)
			got, err := DecodeCipherValueInto(dst, el, lim)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("DecodeCipherValueInto() error = %v, want %v", err, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DecodeCipherValueInto() differs from DecodeCipherValue (-want +got):\n%s", diff)
			}
			inDst := len(got) > 0 && len(dst) > 0 && &got[0] == &dst[0]
			if inDst != tc.inDst {
				t.Errorf("DecodeCipherValueInto() decoded into dst = %v, want %v", inDst, tc.inDst)
			}
		})
	}
}
