package soap

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// Limits bound the work one parse may do. Zero fields mean no limit; the
// wssec package always passes its policy's non-zero values.
type Limits struct {
	MaxDepth       int // element nesting, the root at depth 1
	MaxElements    int // elements in the input
	MaxAttributes  int // attributes on one element, namespace declarations included
	MaxNamespaces  int // namespace declarations in scope at any element
	MaxAttrValue   int // bytes in one attribute value
	MaxNameBytes   int // bytes in one element or attribute name
	DepthOffset    int // depth of the context a fragment is parsed in
	ElementsOffset int // elements already counted against MaxElements
}

// ErrSyntax is wrapped by errors about input that is not well-formed or not
// acceptable XML for a SOAP message.
var ErrSyntax = errors.New("soap: malformed XML")

// LimitError reports which limit the input exceeded.
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("soap: limit %s (%d) exceeded", e.Limit, e.Max)
}

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// Parse reads a whole document into a tree and returns it with the number
// of elements it holds. A leading UTF-8 byte order mark and an XML
// declaration (UTF-8 only) are accepted; exactly one root element must
// follow, with only white space and comments around it. It uses the same
// tokenizer as [ScanFragment], so the two agree on what is well-formed.
func Parse(data []byte, lim Limits) (*etree.Document, int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc := etree.NewDocument()
	s := fscan{d: data, fc: &FragmentCheck{Limits: lim}, document: true, tree: []*etree.Element{&doc.Element}}
	if bytes.HasPrefix(data, []byte("<?xml")) && len(data) > 5 && (isSpace(data[5]) || data[5] == '?') {
		end := bytes.Index(data, []byte("?>"))
		if end < 0 {
			return nil, 0, syntaxf("unterminated XML declaration")
		}
		inst := strings.TrimLeft(string(data[5:end]), " \t\r\n")
		if err := checkDecl(inst); err != nil {
			return nil, 0, err
		}
		doc.CreateProcInst("xml", inst)
		s.pos = end + 2
	}
	if err := s.run(); err != nil {
		return nil, 0, err
	}
	if doc.Root() == nil {
		return nil, 0, syntaxf("no root element")
	}
	return doc, s.elements, nil
}

// checkDecl accepts an XML declaration of version 1.0 that declares no
// encoding or UTF-8: the reader does no transcoding.
func checkDecl(inst string) error {
	version, ok := pseudoAttr(inst, "version")
	if !ok || version != "1.0" || !strings.HasPrefix(inst, "version") {
		return syntaxf("malformed XML declaration or version other than 1.0")
	}
	if !strings.Contains(inst, "encoding") {
		return nil
	}
	if v, ok := pseudoAttr(inst, "encoding"); !ok || !strings.EqualFold(v, "utf-8") {
		return syntaxf("encoding %q (only UTF-8 is accepted)", v)
	}
	return nil
}

// pseudoAttr returns the quoted value of name="..." in an XML declaration.
func pseudoAttr(inst, name string) (string, bool) {
	i := strings.Index(inst, name)
	if i < 0 {
		return "", false
	}
	rest := strings.TrimLeft(inst[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return "", false
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return "", false
	}
	end := strings.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return "", false
	}
	return rest[1 : 1+end], true
}
