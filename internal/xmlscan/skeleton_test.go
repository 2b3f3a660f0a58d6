package xmlscan

import (
	"bytes"
	"strings"
	"testing"
)

func TestCutText(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("QUJD", 300)
	msg := []byte(`<?xml version="1.0"?><!-- ` + big + ` --><a xmlns:p="urn:p" x="` + strings.Repeat("y", 2000) + `>"><b>` + big + `</b><c>short</c><![CDATA[` + big + `]]><d>` + big + `&amp;</d><p:b a="1">` + "\n" + big + "\n" + `</p:b><x>` + big + `</x><b/></a>`)
	s := CutText(msg, "b", 1000, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	if s.Cuts() != 2 {
		t.Fatalf("CutText() cut %d runs, want 2 (b and p:b)", s.Cuts())
	}
	if len(s.Data) > len(msg)-2*len(big)+100 {
		t.Fatalf("skeleton is %d bytes of %d", len(s.Data), len(msg))
	}
	doc, _, err := Parse(s.Data, Limits{})
	if err != nil {
		t.Fatalf("Parse(skeleton) error = %v", err)
	}
	b := doc.FindElement("//b")
	raw, k, ok := s.Lookup(b.Text())
	if !ok || k != 0 || string(raw) != big {
		t.Fatalf("Lookup(b) = %d bytes, %d, %v", len(raw), k, ok)
	}
	if _, _, ok := s.Lookup("wsrenew0102030405060708_9_"); ok {
		t.Fatal("Lookup(out of range) succeeded")
	}
	if _, _, ok := s.Lookup("wsrenewffffffffffffffff_0_"); ok {
		t.Fatal("Lookup(other nonce) succeeded")
	}
	// Replace c with an extra piece and expand: everything else comes back.
	c := doc.FindElement("//c")
	c.SetText(s.Marker(0))
	out, _ := doc.WriteToBytes()
	got := s.Expand(out, [][]byte{[]byte("<x/>")})
	want := bytes.Replace(msg, []byte("<c>short</c>"), []byte("<c><x/></c>"), 1)
	doc2, _, _ := Parse(want, Limits{})
	wantOut, _ := doc2.WriteToBytes()
	if !bytes.Equal(got, wantOut) {
		t.Fatalf("Expand() =\n%.300s\nwant\n%.300s", got, wantOut)
	}
}

func TestCutText_unscannable(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "no markup", `<!DOCTYPE a><a>` + strings.Repeat("x", 100) + `</a>`, `<a x="unterminated>` + strings.Repeat("x", 100), `<!-- open`} {
		if s := CutText([]byte(in), "a", 10, [8]byte{}); s.Cuts() != 0 || !bytes.Equal(s.Data, []byte(in)) {
			t.Errorf("CutText(%.20q) cut %d runs, want none", in, s.Cuts())
		}
	}
}
