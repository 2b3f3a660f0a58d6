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
