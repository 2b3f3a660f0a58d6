package xmlscan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
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

// FuzzCutText checks the skeleton against a plain parse: with every cut
// run valid character data (CheckText, which the caller applies to the
// runs it uses), the skeleton parses exactly when the message does, into
// the same tree once each marker is read as the run it stands for.
func FuzzCutText(f *testing.F) {
	for _, s := range []string{
		`<a><b>QUJDRA==</b><c>x</c></a>`,
		"<p:a xmlns:p=\"urn:p\"><p:b>\r\nQUJD\r\n</p:b><b/><b>x&amp;y</b></p:a>",
		`<a><b>]]&gt;</b><b>x]]>y</b><b><![CDATA[z]]></b><!--<b>--></a>`,
		`<?xml version="1.0"?><a><b x='>'>text > more</b></a>`,
	} {
		f.Add([]byte(s), uint8(1))
	}
	nonce := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	lim := Limits{MaxDepth: 50, MaxElements: 1000, MaxAttributes: 16, MaxNamespaces: 16}
	f.Fuzz(func(t *testing.T, data []byte, min uint8) {
		if bytes.Contains(data, []byte("wsrenew")) {
			return // a run that looks like a marker: the nonce rules it out
		}
		s := CutText(data, "b", int(min)+1, nonce)
		for k := range s.Cuts() {
			if CheckText(s.Raw(k)) != nil {
				return
			}
		}
		doc, n, err := Parse(data, lim)
		sdoc, sn, serr := Parse(s.Data, lim)
		if (err == nil) != (serr == nil) {
			t.Fatalf("Parse(%q) error = %v; Parse(skeleton %q) error = %v", data, err, s.Data, serr)
		}
		if err != nil {
			return
		}
		for _, el := range sdoc.FindElements("//*") {
			for _, tok := range el.Child {
				if cd, ok := tok.(*etree.CharData); ok {
					if raw, _, ok := s.Lookup(cd.Data); ok {
						cd.Data = normalizeNewlines(raw)
					}
				}
			}
		}
		want, _ := doc.WriteToString()
		got, _ := sdoc.WriteToString()
		if got != want || n != sn {
			t.Fatalf("Parse(%q) =\n%q (%d elements)\nskeleton read back\n%q (%d elements)", data, want, n, got, sn)
		}
	})
}

// TestCutTextInto checks that a skeleton built in reused memory is the
// one CutText builds, and in that memory where it fits.
func TestCutTextInto(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("QUJD", 300)
	nonce := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	dst := bytes.Repeat([]byte("junk"), 200)
	for _, tc := range []struct {
		name string
		msg  string
		cuts int
	}{
		{"one run", `<a><b>` + big + `</b></a>`, 1},
		{"two runs", `<a><p:b xmlns:p="urn:p">` + big + `</p:b><b>` + big + `</b></a>`, 2},
		{"nothing to cut", `<a><b>short</b></a>`, 0},
		{"larger than dst", `<a x="` + strings.Repeat("y", 2000) + `"><b>` + big + `</b></a>`, 1},
	} {
		want := CutText([]byte(tc.msg), "b", 1000, nonce)
		got := CutTextInto(dst, []byte(tc.msg), "b", 1000, nonce)
		if got.Cuts() != tc.cuts || want.Cuts() != tc.cuts {
			t.Fatalf("%s: CutTextInto() cut %d runs, CutText %d, want %d", tc.name, got.Cuts(), want.Cuts(), tc.cuts)
		}
		if diff := cmp.Diff(string(want.Data), string(got.Data)); diff != "" {
			t.Errorf("%s: CutTextInto() Data differs from CutText (-want +got):\n%s", tc.name, diff)
		}
		inDst := len(got.Data) > 0 && &got.Data[:1][0] == &dst[:1][0]
		if fits := tc.cuts > 0 && len(got.Data) <= cap(dst); inDst != fits {
			t.Errorf("%s: CutTextInto() Data in dst = %v, want %v", tc.name, inDst, fits)
		}
	}
}

// TestTextEnd checks textEnd, on one goroutine and on two, against its
// definition, with '<' and '&' placed in the first chunk, in either half,
// on chunk and half boundaries, and nowhere.
func TestTextEnd(t *testing.T) {
	t.Parallel()
	const size = 5*textChunk + 123
	mid := textChunk + (size-textChunk)/2
	type mark struct {
		at int
		c  byte
	}
	cases := []struct {
		name  string
		marks []mark
	}{
		{"none", nil},
		{"lt at 0", []mark{{0, '<'}}},
		{"lt in first chunk", []mark{{100, '<'}}},
		{"lt ends first chunk", []mark{{textChunk - 1, '<'}}},
		{"lt starts first half", []mark{{textChunk, '<'}}},
		{"lt in first half", []mark{{2*textChunk + 7, '<'}}},
		{"lt ends first half", []mark{{mid - 1, '<'}}},
		{"lt starts second half", []mark{{mid, '<'}}},
		{"lt in second half", []mark{{mid + textChunk + 1, '<'}}},
		{"lt last", []mark{{size - 1, '<'}}},
		{"lt in both halves", []mark{{2 * textChunk, '<'}, {mid + 5, '<'}}},
		{"amp before lt", []mark{{10, '&'}, {mid + 5, '<'}}},
		{"amp in second half before lt", []mark{{mid + 1, '&'}, {mid + 5, '<'}}},
		{"amp after lt", []mark{{mid + 6, '&'}, {mid + 5, '<'}}},
		{"amp after lt in first chunk", []mark{{20, '<'}, {21, '&'}}},
		{"amp only", []mark{{mid + 9, '&'}}},
		{"amp in first half, lt in second", []mark{{3 * textChunk, '&'}, {size - 2, '<'}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bytes.Repeat([]byte("Q"), size)
			for _, m := range tc.marks {
				b[m.at] = m.c
			}
			wantN := bytes.IndexByte(b, '<')
			before := b
			if wantN >= 0 {
				before = b[:wantN]
			}
			wantAmp := bytes.IndexByte(before, '&') >= 0
			for _, from := range []int{1, size + 1} {
				if n, amp := textEnd(b, from); n != wantN || amp != wantAmp {
					t.Errorf("textEnd(from %d) = %d, %v; want %d, %v", from, n, amp, wantN, wantAmp)
				}
			}
		})
	}
}

// BenchmarkCutText cuts the CipherValue of a message carrying 16 MB of
// data (21 MB of base64), the search that locates the data before it is
// decoded.
func BenchmarkCutText(b *testing.B) {
	big := bytes.Repeat([]byte("QUJD"), 16<<20/3)
	msg := []byte(`<e:Envelope xmlns:e="urn:e" xmlns:x="urn:x"><e:Header><x:CipherValue>` + strings.Repeat("QUJD", 86) + `</x:CipherValue></e:Header><e:Body><x:EncryptedData><x:CipherValue>` + string(big) + `</x:CipherValue></x:EncryptedData></e:Body></e:Envelope>`)
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		if s := CutText(msg, "CipherValue", 1024, [8]byte{}); s.Cuts() != 1 {
			b.Fatalf("CutText() cut %d runs, want 1", s.Cuts())
		}
	}
}
