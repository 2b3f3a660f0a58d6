package xmlscan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScratch checks that a scan borrowing a Scratch, one used before
// and one outgrown, reads what a scan without one reads, and that the
// Scratch keeps nothing of it.
func TestScratch(t *testing.T) {
	t.Parallel()
	var deep, wide, decls strings.Builder
	for i := range 40 {
		fmt.Fprintf(&deep, "<e%d>", i)
	}
	for i := 39; i >= 0; i-- {
		fmt.Fprintf(&deep, "</e%d>", i)
	}
	wide.WriteString("<a")
	for i := range 20 {
		fmt.Fprintf(&wide, ` x%d="%d"`, i, i)
	}
	wide.WriteString("/>")
	decls.WriteString("<a")
	for i := range 20 {
		fmt.Fprintf(&decls, ` xmlns:p%d="urn:%d"`, i, i)
	}
	decls.WriteString("><p19:b p3:y='1'/></a>")
	docs := []struct{ name, in string }{
		{"plain", `<a x="1"><b>t</b><c/></a>`},
		{"deeper than the scratch", deep.String()},
		{"more attributes than the scratch", wide.String()},
		{"more declarations than the scratch", decls.String()},
		{"malformed", `<a><b></a>`},
		{"unbound prefix", `<a><p:b/></a>`},
		{"plain again", `<a xmlns="urn:d" id="1"><b>t</b></a>`},
		{"repeated tags", "<a>" + strings.Repeat(`<b x="1" p:y="2"/>`, 20) + "</a>"},
		{"repeated tags, one bad value", "<a>" + strings.Repeat(`<b x="1" p:y="2"/>`, 20) + `<b x="&bad;" p:y="2"/></a>`},
		{"repeated tags, one unbound prefix", "<a>" + strings.Repeat(`<b x="1" p:y="2"/>`, 20) + `<b x="1" q:y="2"/></a>`},
		{"repeated tags again", "<a>" + strings.Repeat(`<b x="1" p:y="2"/>`, 20) + "</a>"},
	}
	lim := Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100}
	var sc Scratch
	for _, tc := range docs {
		want, wantErr := ParseTree([]byte(tc.in), lim, nil)
		got, err := ParseTreeScratch([]byte(tc.in), lim, nil, &sc)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: ParseTreeScratch() error = %v, want %v", tc.name, err, wantErr)
		}
		if err == nil {
			w, _ := want.Doc.WriteToString()
			g, _ := got.Doc.WriteToString()
			if diff := cmp.Diff(w, g); diff != "" || got.Elements != want.Elements {
				t.Errorf("%s: ParseTreeScratch() differs from ParseTree (-want +got):\n%s", tc.name, diff)
			}
		}
		if !stacksClear(sc.st) {
			t.Errorf("%s: the Scratch's stacks hold something of the parse", tc.name)
		}
		// The tree is lent until Reset: another parse meanwhile builds
		// its own, and leaves this one as it was.
		if err == nil {
			before, _ := got.Doc.WriteToString()
			if _, err := ParseTreeScratch([]byte(`<x y="1"><z/></x>`), lim, nil, &sc); err != nil {
				t.Fatalf("%s: second ParseTreeScratch() error = %v", tc.name, err)
			}
			if after, _ := got.Doc.WriteToString(); after != before {
				t.Errorf("%s: a second parse changed the lent tree to %q", tc.name, after)
			}
		}
		sc.Reset()
		if !reflect.ValueOf(sc.tree.Tree).IsZero() || !reflect.ValueOf(sc.tree.names.first).IsZero() {
			t.Errorf("%s: Reset left the tree or its declarations", tc.name)
		}
		for _, mem := range []any{sc.els[:cap(sc.els)], sc.toks[:cap(sc.toks)], sc.attr[:cap(sc.attr)]} {
			v := reflect.ValueOf(mem)
			for i := range v.Len() {
				if !v.Index(i).IsZero() {
					t.Fatalf("%s: Reset left %T item %d set", tc.name, mem, i)
				}
			}
		}
		if len(sc.tree.names.els) != 0 || sc.lent {
			t.Errorf("%s: Reset left %d names, lent %v", tc.name, len(sc.tree.names.els), sc.lent)
		}
		fc := FragmentCheck{Limits: lim, Context: map[string]string{"p": "urn:p"}}
		wantInfo, wantErr := ScanFragment([]byte(tc.in), fc)
		fc.Scratch = &sc
		info, err := ScanFragment([]byte(tc.in), fc)
		if info != wantInfo || (err == nil) != (wantErr == nil) {
			t.Errorf("%s: ScanFragment() with Scratch = %+v, %v; without %+v, %v", tc.name, info, err, wantInfo, wantErr)
		}
		if !stacksClear(sc.st) {
			t.Errorf("%s: the Scratch's stacks hold something of the scan", tc.name)
		}
		for i := range sc.memo.t {
			if sc.memo.used || sc.memo.t[i].tag != nil {
				t.Fatalf("%s: the Scratch's tag memo holds a tag of the scan", tc.name)
			}
		}
	}
}

// stacksClear reports whether st holds nothing of a scan: no pointer into
// its input or tree (marks are plain numbers).
func stacksClear(st stacks) bool {
	st.marks = [len(st.marks)]int{}
	return reflect.ValueOf(st).IsZero()
}
