package soap

import (
	"testing"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     string
		ok       bool
	}{
		{"empty", `<a/>`, "", true},
		{"one text", `<a>abc</a>`, "abc", true},
		{"text around a comment", `<a>ab<!--c-->cd</a>`, "abcd", true},
		{"text and CDATA", `<a>ab<![CDATA[<c>]]>d</a>`, "ab<c>d", true},
		{"comment only", `<a><!--c--></a>`, "", true},
		{"child element", `<a>ab<b/>cd</a>`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, _, err := xmlscan.Parse([]byte(tc.in), xmlscan.Limits{})
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", tc.in, err)
			}
			got, ok := Text(doc.Root())
			if got != tc.want || ok != tc.ok {
				t.Errorf("Text(%s) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestNames_Table(t *testing.T) {
	t.Parallel()
	tr, err := xmlscan.ParseTree([]byte(`<a xmlns:p="urn:p"><p:b/></a>`), xmlscan.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := NewNames(tr.Names)
	b := tr.Doc.Root().ChildElements()[0]
	if got, ok := n.Table(b); got != tr.Names || !ok {
		t.Errorf("Table(parsed element) = %p, %v, want %p, true", got, ok, tr.Names)
	}
	if _, ok := n.Table(b.CreateElement("c")); ok {
		t.Error("Table(element added later) = true, want false")
	}
	if _, ok := (Names{}).Table(b); ok {
		t.Error("zero Names: Table() = true, want false")
	}
}
