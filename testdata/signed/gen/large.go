package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// largeBodyElements is how many elements the Body of the large vector
// holds: two orders of magnitude beyond the 1,000 at which goxmldsig's
// namespace-detach helper gives up.
const largeBodyElements = 100_000

// largePlaintext is soap11_response.xml with its tns:Entries holding
// enough entries (each a tns:Entry with tns:Date, tns:Amount and
// tns:Text, so four elements) for the Body to hold at least n elements.
// It is a pure function of n, so the vector's content can be checked
// against it.
func largePlaintext(n int) ([]byte, error) {
	base, err := os.ReadFile(filepath.Join(plaintextDir, resp11))
	if err != nil {
		return nil, err
	}
	open, close := []byte("<tns:Entries>"), []byte("</tns:Entries>")
	i, j := bytes.Index(base, open), bytes.Index(base, close)
	if i < 0 || j < i {
		return nil, fmt.Errorf("%s has no tns:Entries", resp11)
	}
	var b bytes.Buffer
	b.Write(base[:i+len(open)])
	// The Body's other elements: GetStatementResponse, Statement,
	// AccountHolder, Iban, Balance, Entries, Note.
	const others = 7
	for k := 0; others+4*k < n; k++ {
		fmt.Fprintf(&b, `<tns:Entry xsi:type="tns:DebitEntry"><tns:Date xsi:type="xsd:date">2024-03-%02d</tns:Date><tns:Amount xsi:type="xsd:decimal">-%d.%02d</tns:Amount><tns:Text>Posten %d</tns:Text></tns:Entry>`,
			1+k%28, k%1000, k%100, k)
	}
	b.Write(base[j:])
	return b.Bytes(), nil
}

// compressVector replaces the vector name.xml by name.xml.gz. The gzip
// header carries no name and no time, so equal input gives equal output.
func compressVector(name string) error {
	raw, err := os.ReadFile(vectorPath(name))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(vectorPath(name)+".gz", b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Remove(vectorPath(name))
}

// mergeIndex rewrites VECTORS.md with the rows of vectors replacing or
// joining those already there, for a run restricted by -only.
func mergeIndex(vectors []*vector) error {
	old, err := os.ReadFile(filepath.Join(signedDir, "VECTORS.md"))
	if err != nil {
		return err
	}
	if err := writeIndex(vectors); err != nil {
		return err
	}
	fresh, err := os.ReadFile(filepath.Join(signedDir, "VECTORS.md"))
	if err != nil {
		return err
	}
	rows := map[string]string{}
	var head []string
	for _, src := range []string{string(old), string(fresh)} {
		for _, l := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
			if name, ok := rowName(l); ok {
				rows[name] = l
			} else if src == string(fresh) {
				head = append(head, l)
			}
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	out := strings.Join(head, "\n") + "\n"
	for _, n := range names {
		out += rows[n] + "\n"
	}
	return os.WriteFile(filepath.Join(signedDir, "VECTORS.md"), []byte(out), 0o644)
}

// rowName returns the vector name of a table row of VECTORS.md.
func rowName(l string) (string, bool) {
	if !strings.HasPrefix(l, "| wss4j_") {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
	return name, true
}
