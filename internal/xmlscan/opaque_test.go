package xmlscan

import (
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

func bodyOpaque(ids *[]string, forbidden *[]string) *Opaque {
	return &Opaque{
		Is: func(depth int, ns string, local []byte) bool {
			return depth == 2 && ns == "urn:s" && string(local) == "B"
		},
		Forbidden: func(ns string, local []byte) bool {
			*forbidden = append(*forbidden, string(local))
			return string(local) == "F"
		},
		ID: func(id string) error {
			*ids = append(*ids, id)
			return nil
		},
	}
}

// TestParseOpaque: the named element's content is checked (well-formed,
// namespaces, limits, Forbidden and ID) but not built, and the tree goes
// on after it.
func TestParseOpaque(t *testing.T) {
	t.Parallel()
	many := `<s:E xmlns:s="urn:s"><s:B>` + strings.Repeat(`<r a="1"><x>t</x></r>`, 200) + `</s:B><s:T/></s:E>`
	tests := []struct {
		name         string
		doc          string
		lim          Limits
		wantErr      error
		wantElements int // in the content
		wantTree     []string
		wantIDs      []string
	}{
		{"content left out", `<s:E xmlns:s="urn:s" xmlns:w="urn:w"><s:H w:Id="h"/><s:B><p:a xmlns:p="urn:p" Id="x"><b/>text</p:a><c/></s:B><s:T/></s:E>`, Limits{}, nil, 3, []string{"E", "H", "B", "T"}, []string{"x"}},
		{"many, remembered tags", many, Limits{}, nil, 400, []string{"E", "B", "T"}, nil},
		{"empty element not named", `<s:E xmlns:s="urn:s"><s:B/><s:B><a/></s:B></s:E>`, Limits{}, nil, 1, []string{"E", "B", "B"}, nil},
		{"malformed content", `<s:E xmlns:s="urn:s"><s:B><a></b></s:B></s:E>`, Limits{}, ErrSyntax, 0, nil, nil},
		{"unbound prefix in content", `<s:E xmlns:s="urn:s"><s:B><q:a/></s:B></s:E>`, Limits{}, ErrSyntax, 0, nil, nil},
		{"forbidden in content", `<s:E xmlns:s="urn:s"><s:B><F/></s:B></s:E>`, Limits{}, ErrSyntax, 0, nil, nil},
		{"forbidden outside is not asked", `<s:E xmlns:s="urn:s"><F/><s:B><a/></s:B></s:E>`, Limits{}, nil, 1, []string{"E", "F", "B"}, nil},
		{"limit in content", many, Limits{MaxElements: 100}, nil, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ids, forbidden []string
			op := bodyOpaque(&ids, &forbidden)
			doc, n, err := parseOpaque([]byte(tc.doc), tc.lim, op)
			if tc.lim.MaxElements > 0 {
				var le *LimitError
				if !errors.As(err, &le) {
					t.Fatalf("ParseOpaque(%s) error = %v, want a limit", tc.name, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseOpaque(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var tree []string
			for _, el := range append([]*etree.Element{doc.Root()}, descendants(doc.Root())...) {
				tree = append(tree, el.Tag)
			}
			if diff := cmp.Diff(tc.wantTree, tree); diff != "" {
				t.Errorf("ParseOpaque(%s) tree (-want +got):\n%s", tc.name, diff)
			}
			if op.Element == nil || op.Element.Tag != "B" || len(op.Element.Child) != 0 {
				t.Errorf("ParseOpaque(%s) Element = %v, want the first B, without children", tc.name, op.Element)
			}
			if op.Elements != tc.wantElements || n != len(tree)+tc.wantElements {
				t.Errorf("ParseOpaque(%s) counts = %d, %d, want %d, %d", tc.name, op.Elements, n, tc.wantElements, len(tree)+tc.wantElements)
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("ParseOpaque(%s) Ids (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func descendants(el *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}

// FuzzParseOpaque compares ParseOpaque, leaving out the content of the
// first element at depth 2, with Parse: both accept or refuse the same
// documents, count the same elements, and build the same tree but for
// that content.
func FuzzParseOpaque(f *testing.F) {
	f.Add([]byte(`<s:E xmlns:s="urn:s" xmlns:w="urn:w"><s:H w:Id="h"/><s:B><p:a xmlns:p="urn:p" Id="x"><b/>text</p:a><c/></s:B><s:T/></s:E>`))
	f.Add([]byte(`<a><b>` + strings.Repeat(`<r a="1"><x>t</x></r>`, 70) + `</b><c/></a>`))
	f.Add([]byte(`<a><b><c></b></c></a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxElements: 1000, MaxDepth: 20}
		full, n, err := Parse(data, lim)
		op := &Opaque{Is: func(depth int, _ string, _ []byte) bool { return depth == 2 }}
		part, m, opErr := parseOpaque(data, lim, op)
		if (err == nil) != (opErr == nil) {
			t.Fatalf("Parse error = %v, ParseOpaque error = %v", err, opErr)
		}
		if err != nil {
			return
		}
		if n != m {
			t.Fatalf("Parse counts %d elements, ParseOpaque %d", n, m)
		}
		if op.Element != nil {
			// Empty the same element of the full tree.
			k := 0
			for _, el := range descendants(part.Root()) {
				if el == op.Element {
					break
				}
				k++
			}
			el := descendants(full.Root())[k]
			if got := len(descendants(el)) + 0; got != op.Elements {
				t.Fatalf("ParseOpaque content elements = %d, Parse %d", op.Elements, got)
			}
			for len(el.Child) > 0 {
				el.RemoveChildAt(0)
			}
		}
		a, _ := full.WriteToString()
		b, _ := part.WriteToString()
		if a != b {
			t.Fatalf("trees differ:\nParse       %q\nParseOpaque %q", a, b)
		}
	})
}

// parseOpaque reads data with ParseTree and op, returning the tree and
// the element count.
func parseOpaque(data []byte, lim Limits, op *Opaque) (*etree.Document, int, error) {
	tr, err := ParseTree(data, lim, op)
	if err != nil {
		return nil, 0, err
	}
	return tr.Doc, tr.Elements, nil
}
