package xmlscan

import (
	"bytes"
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
	// AllowAttrBreaks accepts a literal tab, line feed or carriage return
	// in an attribute value, which the tree holds normalized to a space
	// (XML 1.0, 3.3.3) while encoding/xml and etree read it as it stands.
	// If false, such a value is refused. Set it only for input whose
	// tree is written out again (the bytes passed on then hold the
	// normalized value), never where the input bytes are passed on.
	AllowAttrBreaks bool
}

// Parse reads a whole document into a tree and returns it with the number
// of elements it holds. A leading UTF-8 byte order mark and an XML
// declaration (UTF-8 only) are accepted; exactly one root element must
// follow, with only white space and comments around it. It uses the same
// tokenizer as [ScanFragment], so the two agree on what is well-formed.
// Code that looks names up in the tree uses [ParseTree] instead, which
// also resolves their namespace URIs.
func Parse(data []byte, lim Limits) (*etree.Document, int, error) {
	return parse(data, lim, nil, nil, nil, nil)
}

// Tree is a document [ParseTree] read.
type Tree struct {
	Doc      *etree.Document
	Names    *Names // the namespace URIs of the tree's names
	Elements int    // elements in the input, an Opaque's content included
}

// ParseTree is [Parse] that also resolves the namespace URI of every
// element's name, and the declarations in scope at every element, once
// while it builds the tree (see [Names]): the scope the scanner keeps to
// check prefixes anyway. With op not nil, the content of the element op
// names is checked but left out of the tree (see [Opaque]); the element
// count includes it.
func ParseTree(data []byte, lim Limits, op *Opaque) (*Tree, error) {
	return ParseTreeScratch(data, lim, op, nil)
}

// ParseTreeScratch is [ParseTree] borrowing sc's memory for the scan's
// stacks (see [Scratch]); sc may be nil.
func ParseTreeScratch(data []byte, lim Limits, op *Opaque, sc *Scratch) (*Tree, error) {
	// One allocation for the tree and its table, or none where sc lends
	// them. The map starts sized for an element per 128 bytes, about what
	// a small SOAP message holds, but for no more than 64: a large
	// message is mostly text, or an Opaque's content the tree leaves out,
	// and a large tree grows it.
	var t *treeMem
	var slabs *Scratch
	if sc != nil && !sc.lent {
		sc.lent = true
		t, slabs = &sc.tree, sc
	} else {
		t = new(treeMem)
	}
	if t.names.els == nil {
		t.names.els = make(map[*etree.Element]elemName, min(len(data)/128, 64))
	}
	t.names.decls = t.names.first[:0]
	doc, n, err := parse(data, lim, op, &t.names, sc, slabs)
	if err != nil {
		return nil, err
	}
	t.Tree = Tree{Doc: doc, Names: &t.names, Elements: n}
	return &t.Tree, nil
}

// treeMem is a Tree with its table.
type treeMem struct {
	Tree
	names Names
}

// parse reads data, borrowing sc's stacks and, with slabs, the first
// slabs of the tree from its memory.
func parse(data []byte, lim Limits, op *Opaque, names *Names, sc, slabs *Scratch) (*etree.Document, int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc := etree.NewDocument()
	s := fscan{d: data, document: true, opaque: op, nsTable: names}
	if sc != nil {
		sc.st.fc.Limits = lim
		s.fc = &sc.st.fc
		s.useScratch(sc)
		s.tree = append(sc.st.tree[:0], &doc.Element)
		defer sc.release()
	} else {
		s.fc, s.tree = &FragmentCheck{Limits: lim}, []*etree.Element{&doc.Element}
	}
	if len(data) <= srcMax {
		s.src = string(data)
		s.slabsFor(data, slabs)
	}
	if bytes.HasPrefix(data, []byte("<?xml")) && len(data) > 5 && (isSpace(data[5]) || data[5] == '?') {
		end := bytes.Index(data, []byte("?>"))
		if end < 0 {
			return nil, 0, syntaxf("unterminated XML declaration")
		}
		inst := strings.TrimLeft(s.str(data[5:end]), " \t\r\n")
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
// encoding or UTF-8 (the reader does no transcoding), read strictly by
// the grammar of XML 1.0 (2.8, production 23): version, then optionally
// encoding, then optionally standalone, each once, separated by white
// space. A declaration that parsers could read differently, such as one
// with two encodings (the first or the last may win), is refused.
func checkDecl(inst string) error {
	rest := inst
	seen := 0 // how many of version, encoding, standalone were passed
	for i := 0; ; i++ {
		trimmed := strings.TrimLeft(rest, " \t\r\n")
		if trimmed == "" {
			break
		}
		if i > 0 && len(trimmed) == len(rest) {
			return syntaxf("malformed XML declaration")
		}
		name, value, after, ok := nextPseudoAttr(trimmed)
		if !ok {
			return syntaxf("malformed XML declaration")
		}
		order := 0
		switch name {
		case "version":
			order = 1
		case "encoding":
			order = 2
		case "standalone":
			order = 3
		}
		if order <= seen || (i == 0) != (order == 1) {
			return syntaxf("malformed XML declaration: %s out of place or repeated", name)
		}
		seen = order
		switch name {
		case "version":
			if value != "1.0" {
				return syntaxf("XML version %q (only 1.0 is accepted)", value)
			}
		case "encoding":
			if !strings.EqualFold(value, "utf-8") {
				return syntaxf("encoding %q (only UTF-8 is accepted)", value)
			}
		case "standalone":
			if value != "yes" && value != "no" {
				return syntaxf("malformed XML declaration: standalone %q", value)
			}
		}
		rest = after
	}
	if seen == 0 {
		return syntaxf("malformed XML declaration or version other than 1.0")
	}
	return nil
}

// nextPseudoAttr reads name = "value" (or 'value') at the start of s.
func nextPseudoAttr(s string) (name, value, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		i++
	}
	name, s = s[:i], strings.TrimLeft(s[i:], " \t\r\n")
	if name == "" || !strings.HasPrefix(s, "=") {
		return "", "", "", false
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "", "", "", false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", "", false
	}
	return name, s[1 : 1+end], s[2+end:], true
}
