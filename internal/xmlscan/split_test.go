package xmlscan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// scanResult is what a scan reports: its result, its error and the Id
// values it passed to the callback.
type scanResult struct {
	info FragmentInfo
	err  error
	ids  []string
}

// splitCheck returns the check the split tests use; memoAt says when the
// scans start remembering start tags.
func splitCheck(ids *[]string, lim Limits, memoAt int) FragmentCheck {
	return FragmentCheck{
		memoAt:    memoAt,
		Context:   scanCtx,
		Limits:    lim,
		Forbidden: forbiddenForTest,
		ID: func(id string) error {
			*ids = append(*ids, id)
			if id == "reject" {
				return errRejectedID
			}
			return nil
		},
	}
}

var errRejectedID = errors.New("rejected id")

// compareSplit scans data whole and split at every '<' (up to max
// positions) and fails when a split that decided disagrees with the whole
// scan. It returns how many splits decided.
func compareSplit(t *testing.T, data []byte, lim Limits, max int) int {
	t.Helper()
	var whole scanResult
	fc := splitCheck(&whole.ids, lim, -1)
	whole.info, whole.err = scanWhole(data, &fc)
	decided := 0
	for at, n := 0, 0; n < max; n++ {
		i := bytes.IndexByte(data[at:], '<')
		if i < 0 {
			break
		}
		at += i
		var got scanResult
		fc := splitCheck(&got.ids, lim, 1)
		var done bool
		got.info, got.err, done = scanSplitAt(data, &fc, at)
		if done {
			decided++
			if got.info != whole.info || (got.err == nil) != (whole.err == nil) || !errors.Is(whole.err, got.err) ||
				strings.Join(got.ids, ",") != strings.Join(whole.ids, ",") {
				t.Fatalf("%q split at %d = %+v, %v, ids %q; whole %+v, %v, ids %q",
					data, at, got.info, got.err, got.ids, whole.info, whole.err, whole.ids)
			}
		} else if len(got.ids) != 0 {
			t.Fatalf("%q split at %d gave way to a whole scan after reporting ids %q", data, at, got.ids)
		}
		at++
	}
	return decided
}

func TestScanSplit(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100}
	for _, in := range []string{
		`<tns:a x="1"><tns:b>t</tns:b><tns:c/></tns:a><tns:d>u</tns:d>`,
		`<p:a xmlns:p="urn:p"><p:b/><p:c p:x="1"/></p:a>`,
		`<a xmlns="urn:d"><b/><c xmlns="urn:e"><d/></c><e/></a>`,
		`<a xmlns:s="` + nsSOAP11 + `"><b/><s:Body/></a>`,
		`<a xmlns:x="` + nsSOAP11 + `"><b/><c xmlns:x="urn:x"><x:Body/></c></a>`,
		`<a xmlns:w="` + NSWSU + `"><b w:Id="i1"/><c Id="i2"/><d xml:id="i3"/></a><e wsu:Id="i4"/>`,
		`<a xmlns:w="urn:not-wsu"><b w:Id="no"/></a>`,
		`<a Id="i1"><b Id="reject"/><c Id="i3"/></a>`,
		`<a xmlns:p="urn:p" xmlns:q="urn:p"><b p:x="1" q:x="2"/></a>`,
		`<a xmlns:p="urn:p" xmlns:q="urn:q"><b p:x="1" q:x="2"/></a>`,
		`<a><!-- <b> --><![CDATA[<c>]]><d/></a>`,
		`<a>x</a>y<b/>`,
		`<a><b></a></b>`,
		`<a><b/></c>`,
		`<a><b/>`,
		`<a/></b>`,
		`<a><x:b/></a>`,
		`<a><b x:c="1"/></a>`,
		`<a>&amp;<b/>&#x41;</a>`,
		`<a xmlns:p="urn:p"><p:b/></a><p:c/>`,
		`<tns:Body/>`,
		`<soapenv:Body/>`,
		`<a><soapenv:Body/></a>`,
	} {
		t.Run(in, func(t *testing.T) {
			compareSplit(t, []byte(in), lim, 64)
		})
	}
	// More than eight attributes: the sorted duplicate check, with
	// prefixes bound before the split only (where the same local name
	// has prefixes not yet resolved, the half gives way to a whole scan).
	decls, attrs := "", ""
	for i := range 9 {
		decls += fmt.Sprintf(` xmlns:p%d="urn:%d"`, i, i)
		attrs += fmt.Sprintf(` p%d:x="1"`, i)
	}
	for _, in := range []string{
		`<a` + decls + `><b/><c` + attrs + `/><d` + attrs + ` x="1" tns:x="2"/></a>`,
		`<a` + decls + ` xmlns:q="urn:3"><b/><c` + attrs + ` q:x="2"/></a>`,
		`<a` + decls + `><b/><c` + attrs + ` p4:x="2"/></a>`,
		`<a` + decls + `><b/><c xmlns:p4="urn:other"` + attrs + `/><d xmlns:p4="urn:3"` + attrs + `/></a>`,
		`<a` + decls + `><b/><c` + attrs + ` wsu:Id="i1" p1:Id="no" Id="i2"/></a>`,
	} {
		t.Run("many attributes", func(t *testing.T) {
			compareSplit(t, []byte(in), lim, 64)
		})
	}
}

func TestScanSplit_limits(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("<a>", 6) + strings.Repeat("</a>", 6)
	decls := `<a xmlns:p="urn:p" xmlns:q="urn:q"><b xmlns:r="urn:r"/><c/></a>`
	for _, tc := range []struct {
		in  string
		lim Limits
	}{
		{deep, Limits{MaxDepth: 6}},
		{deep, Limits{MaxDepth: 5}},
		{deep, Limits{MaxDepth: 8, DepthOffset: 2}},
		{deep, Limits{MaxDepth: 8, DepthOffset: 3}},
		{deep, Limits{MaxElements: 6}},
		{deep, Limits{MaxElements: 5}},
		{deep, Limits{MaxElements: 9, ElementsOffset: 3}},
		{decls, Limits{MaxNamespaces: 6}},
		{decls, Limits{MaxNamespaces: 5}},
	} {
		t.Run(fmt.Sprintf("%s/%+v", tc.in, tc.lim), func(t *testing.T) {
			compareSplit(t, []byte(tc.in), tc.lim, 64)
		})
	}
}

// TestScanFragment_split runs the two goroutines on a fragment above the
// split size, and the fallback when the split falls into a comment.
func TestScanFragment_split(t *testing.T) {
	t.Parallel()
	var records bytes.Buffer
	records.WriteString(`<ns1:Orders xmlns:ns1="urn:orders" xmlns:w="` + NSWSU + `">`)
	for i := 0; records.Len() < 1<<16; i++ {
		fmt.Fprintf(&records, `<ns1:Order w:Id="o-%d"><ns1:Total>%d</ns1:Total></ns1:Order>`, i, i)
	}
	records.WriteString(`</ns1:Orders>`)
	comment := []byte(`<a><!--` + strings.Repeat("<b>", 1<<14) + `--></a>`)
	for _, data := range [][]byte{records.Bytes(), comment} {
		var wantIDs, gotIDs []string
		fc := splitCheck(&wantIDs, Limits{}, -1)
		want, werr := scanWhole(data, &fc)
		fc = splitCheck(&gotIDs, Limits{}, 0)
		fc.splitAt = 1 << 10
		got, err := ScanFragment(data, fc)
		if got != want || err != nil || werr != nil || strings.Join(gotIDs, ",") != strings.Join(wantIDs, ",") {
			t.Fatalf("ScanFragment = %+v, %v, %d ids; whole scan %+v, %v, %d ids", got, err, len(gotIDs), want, werr, len(wantIDs))
		}
	}
}

// FuzzScanSplit checks that a split scan that decides agrees with the
// whole scan, wherever the split falls.
func FuzzScanSplit(f *testing.F) {
	for _, s := range []string{
		`<tns:a x="1"><b>t&amp;</b></tns:a>`, `<p:a xmlns:p="urn:p"><p:b/></p:a>`,
		`<a xmlns:w="` + NSWSU + `"><b w:Id="i"/></a>`, `<a><!--<c>--><![CDATA[<d>]]></a>`,
		`<a xmlns="urn:d"><b xmlns=""/></a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareSplit(t, data, Limits{MaxDepth: 8, MaxAttributes: 8, MaxNamespaces: 8, MaxElements: 16}, 16)
	})
}
