package c14n

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
)

// CanonicalizeBytes writes the exclusive canonical form of one element of
// a document straight from the document's bytes, without a tree: the
// element whose start tag is the n-th in document order (0 is the root),
// which must be written qname (prefix:local, as in the document). It
// writes exactly what [Canonicalize] writes for that element of the tree
// the module's parser reads from doc, copying text and tags that are
// already canonical as they stand and rewriting only what is not.
//
// doc must be a document that parser accepted (or one whose only changes
// since are text runs holding no markup), because CanonicalizeBytes
// checks the structure it walks but not every rule of XML: it is a
// second reading of bytes already judged, for the price of a copy. An
// input it cannot read, or whose n-th element is not named qname, is
// [ErrUnsupported]. Only the exclusive methods are supported; any other
// is [ErrUnsupported].
//
// The bytes read before the element are bounded by maxSkip (0 means no
// bound) rather than by [Options.MaxBytes], which bounds what is written:
// a caller that canonicalizes many elements of one document bounds both
// what it reads and what it writes. CanonicalizeBytes returns the number
// of bytes written and the number read before the element. Writes to w
// are buffered; an error from w is returned wrapped. Other errors:
// [ErrUnboundPrefix], [ErrTooLarge] (for either bound). doc is not
// modified.
func CanonicalizeBytes(w io.Writer, doc []byte, n int, qname string, opt Options, maxSkip int64) (written, skipped int64, err error) {
	if !opt.Exclusive {
		return 0, 0, fmt.Errorf("%w: reading bytes needs an exclusive method", ErrUnsupported)
	}
	c := newByteCanon(w, doc, opt, maxSkip)
	if err := c.run(n, qname); err != nil {
		return c.out.n, c.skipped, err
	}
	return c.out.n, c.skipped, c.out.flush()
}

// Found says which element [CanonicalizeBytesMatch] wrote and what
// that cost.
type Found struct {
	// Ordinal is the element's place among the start tags in document
	// order (0 is the root), and QName its name as written: the n and
	// qname that make [CanonicalizeBytes] write the same.
	Ordinal int
	QName   string
	// Written counts the bytes written, Skipped those read before the
	// element.
	Written, Skipped int64
}

// Guard bounds a reading of bytes that no parser has judged yet.
type Guard struct {
	// MaxDepth bounds the elements open at once and MaxAttributes the
	// attributes of one start tag (declarations included); 0 means no
	// bound. Beyond either the reading stops with [ErrUnsupported].
	MaxDepth, MaxAttributes int
	// Stop, if set, is read between pieces of markup: once true, the
	// reading stops with [ErrStopped].
	Stop *atomic.Bool
}

// CanonicalizeBytesMatch is [CanonicalizeBytes] for the first element
// of doc that the function is accepts, given its depth (the root at 1),
// its namespace URI and its local name, rather than for an element known
// by its place; is sees each start tag before that element. It is meant
// to run on a second goroutine while a parser judges doc: it reads any
// input without panicking, without an allocation that grows faster than
// doc (with g bounding depth and attributes), and in time linear in doc
// and the output. For a doc the parser refuses it returns an error or
// some output; a caller uses neither before the parser accepted doc.
// Its output for an accepted doc is exactly what CanonicalizeBytes
// writes for (Found.Ordinal, Found.QName). A doc with no such element is
// [ErrUnsupported]; other errors as for CanonicalizeBytes, and
// [ErrStopped]. If w is a [ChunkWriter], output goes to it in buffers
// it provides. doc is not modified, and is read until the call returns.
func CanonicalizeBytesMatch(w io.Writer, doc []byte, is func(depth int, ns string, local []byte) bool, opt Options, maxSkip int64, g Guard) (Found, error) {
	if !opt.Exclusive || is == nil {
		return Found{}, fmt.Errorf("%w: reading bytes needs an exclusive method and an element", ErrUnsupported)
	}
	c := newByteCanon(w, doc, opt, maxSkip)
	c.match, c.guard = is, g
	err := c.run(-1, "")
	f := Found{Ordinal: c.found, QName: c.foundName, Written: c.out.n, Skipped: c.skipped}
	if err == nil {
		err = c.out.flush()
	}
	return f, err
}

// newByteCanon prepares the reading of doc.
func newByteCanon(w io.Writer, doc []byte, opt Options, maxSkip int64) *byteCanon {
	c := &byteCanon{canon: canon{
		opt:      opt,
		out:      newWriter(w, opt.MaxBytes),
		inScope:  scope{m: map[string]string{}},
		rendered: scope{m: map[string]string{}},
	}, doc: doc, names: map[string]string{}, maxSkip: maxSkip}
	for _, p := range strings.Fields(opt.InclusivePrefixes) {
		if p == "#default" {
			p = ""
		}
		if c.incl == nil {
			c.incl = map[string]bool{}
		}
		c.incl[p] = true
	}
	return c
}

// byteCanon is a canon that reads bytes.
type byteCanon struct {
	canon
	doc   []byte
	names map[string]string // prefixes, interned
	raw   []rawAttr         // the attributes of the current start tag
	open  []openTag         // elements open, outermost first
	buf   []byte            // scratch for decoded values
	// maxSkip bounds what is read before the element (0: no bound);
	// skipped is what was.
	maxSkip, skipped int64
	// The walk: where it is, how many start tags it passed, and
	// len(open) once the element is open (-1 before).
	pos, ordinal, apex int
	// recent are the prefixes interned last, tried before names.
	// tag is the start tag just read, as written, and tagCanonical
	// whether it is written as the canonical form writes it, given its
	// attributes' order and no declaration to add.
	tag          []byte
	tagCanonical bool
	recent       [4]string
	nextRecent   int
	known        knownPrefixes
	// match, when set, names the element instead of its place, and
	// found and foundName are then where it was and its name; guard
	// bounds the reading.
	match     func(depth int, ns string, local []byte) bool
	found     int
	foundName string
	guard     Guard
	// memo holds start tags written as they stand, by a hash of their
	// first bytes (see recall).
	memo [8]tagMemo
}

// tagMemo is a start tag inside the element that startKnown wrote as it
// stands, with the versions of the scopes it was written in: while both
// are the same, the same bytes are written the same way again.
type tagMemo struct {
	tag     []byte // the whole tag, a slice of the document
	nameLen int
	in, out uint64
}

// memoSlot returns the memo slot for a start tag at the start of t,
// which holds at least 8 bytes.
func memoSlot(t []byte) int {
	return int(binary.LittleEndian.Uint64(t) * 0x9E3779B97F4A7C15 >> 61)
}

// recall writes the start tag at c.pos if it is one remembered, and
// reports whether it did. Most tags of a large element repeat one of a
// few: these skip the reading of names and attributes.
func (c *byteCanon) recall() bool {
	rest := c.doc[c.pos:]
	if len(rest) < 8 {
		return false
	}
	m := &c.memo[memoSlot(rest)]
	if m.tag == nil || m.in != c.inScope.ver || m.out != c.rendered.ver || c.known.in != m.in || c.known.out != m.out ||
		len(rest) < len(m.tag) || !bytes.Equal(rest[:len(m.tag)], m.tag) {
		return false
	}
	if g := c.guard.MaxDepth; g > 0 && len(c.open) >= g {
		return false
	}
	c.open = append(c.open, openTag{name: rest[1 : 1+m.nameLen], scopeMark: len(c.inScope.undo), renderedMark: len(c.rendered.undo)})
	c.tag = rest[:len(m.tag)]
	c.pos += len(m.tag)
	c.ordinal++
	c.out.span(c.tag)
	return true
}

// remember keeps the start tag just written as it stands by startKnown.
func (c *byteCanon) remember(nameLen int) {
	if len(c.doc)-(c.pos-len(c.tag)) < 8 || c.tag[len(c.tag)-2] == '/' {
		return
	}
	start := c.doc[c.pos-len(c.tag):]
	c.memo[memoSlot(start)] = tagMemo{tag: c.tag, nameLen: nameLen, in: c.known.in, out: c.known.out}
}

// knownPrefixes are prefixes whose declarations the output shows as
// they are in scope (for the default namespace: needs no declaration),
// with their URIs, as long as neither scope has changed since (in and
// out are the scopes' versions). Inside a large element most start tags
// declare nothing and use prefixes already shown; with these such a tag
// is written without a map lookup or a sort of its prefixes.
type knownPrefixes struct {
	prefix  [8]string
	uri     [8]string
	n       int
	in, out uint64
}

// rawAttr is an attribute as written in a start tag.
type rawAttr struct {
	name   []byte // the qualified name
	prefix string // its prefix, "" if none
	local  []byte // its local part
	value  []byte // the value as written, without quotes
	decl   bool   // a namespace declaration
	of     string // the prefix it declares ("" for the default)
	uri    string // an attribute's namespace URI
}

type openTag struct {
	name         []byte
	scopeMark    int
	renderedMark int
}

func malformedBytes(what string) error {
	return fmt.Errorf("%w: %s in the document's bytes", ErrUnsupported, what)
}

// run walks doc from the start, tracking the namespace declarations in
// scope, and writes the n-th element once it reaches it.
func (c *byteCanon) run(n int, qname string) error {
	d := c.doc
	if bytes.HasPrefix(d, []byte("\xef\xbb\xbf")) {
		c.pos = 3
	}
	if bytes.HasPrefix(d[c.pos:], []byte("<?xml")) {
		end := bytes.Index(d[c.pos:], []byte("?>"))
		if end < 0 {
			return malformedBytes("unterminated XML declaration")
		}
		c.pos += end + 2
	}
	c.ordinal, c.apex = -1, -1
	for c.pos < len(d) {
		lt := bytes.IndexByte(d[c.pos:], '<')
		end := len(d)
		if lt >= 0 {
			end = c.pos + lt
		}
		if c.apex >= 0 && end > c.pos {
			c.text(d[c.pos:end])
		}
		if lt < 0 {
			break
		}
		c.pos = end
		if c.apex < 0 {
			c.skipped = int64(c.pos)
			if c.maxSkip > 0 && c.skipped > c.maxSkip {
				return ErrTooLarge
			}
		}
		if c.guard.Stop != nil && c.guard.Stop.Load() {
			return ErrStopped
		}
		done, err := c.markup(n, qname)
		if err != nil || done {
			return err
		}
		if c.out.err != nil {
			return c.out.err
		}
	}
	return malformedBytes("no such element")
}

// markup reads the markup at c.pos, and reports whether the element is
// complete.
func (c *byteCanon) markup(n int, qname string) (bool, error) {
	rest := c.doc[c.pos:]
	// Most markup is a tag: decide on the second byte first.
	if len(rest) > 1 && rest[1] != '!' && rest[1] != '?' && rest[1] != '/' {
		return c.element(n, qname)
	}
	switch {
	case len(rest) > 1 && rest[1] == '/':
		return c.endTag(rest)
	case bytes.HasPrefix(rest, []byte("<!--")):
		e := bytes.Index(rest[4:], []byte("-->"))
		if e < 0 {
			return false, malformedBytes("unterminated comment")
		}
		if c.apex >= 0 && c.opt.Comments {
			c.out.span(rest[:4+e+3])
		}
		c.pos += 4 + e + 3
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		e := bytes.Index(rest[9:], []byte("]]>"))
		if e < 0 {
			return false, malformedBytes("unterminated CDATA section")
		}
		if c.apex >= 0 {
			c.cdata(rest[9 : 9+e])
		}
		c.pos += 9 + e + 3
	case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
		return false, malformedBytes("directive or processing instruction")
	default:
		return c.element(n, qname)
	}
	return false, nil
}

// endTag reads the end tag at the start of rest, and reports whether the
// element is complete.
func (c *byteCanon) endTag(rest []byte) (bool, error) {
	if len(c.open) > 0 {
		// Most end tags are written "</name>".
		name := c.open[len(c.open)-1].name
		if e := 2 + len(name); e < len(rest) && rest[e] == '>' && bytes.Equal(rest[2:e], name) {
			c.pos += e + 1
			return c.close(rest[:e+1]), nil
		}
	}
	e := bytes.IndexByte(rest, '>')
	if e < 0 || len(c.open) == 0 {
		return false, malformedBytes("end tag")
	}
	if !bytes.Equal(bytes.TrimRight(rest[2:e], " \t\r\n"), c.open[len(c.open)-1].name) {
		return false, malformedBytes("mismatched end tag")
	}
	c.pos += e + 1
	return c.close(nil), nil
}

// element reads the start tag at c.pos and writes it if it is the
// element's or inside it.
func (c *byteCanon) element(n int, qname string) (bool, error) {
	if c.apex >= 0 && c.incl == nil && c.recall() {
		return false, c.out.err
	}
	size, empty, err := c.startTag(c.doc[c.pos:])
	if err != nil {
		return false, err
	}
	c.tag = c.doc[c.pos : c.pos+size]
	c.pos += size
	c.ordinal++
	if g := c.guard; (g.MaxDepth > 0 && len(c.open) > g.MaxDepth) || (g.MaxAttributes > 0 && len(c.raw) > g.MaxAttributes) {
		return false, malformedBytes("element beyond the depth or attribute bound")
	}
	switch {
	case c.apex < 0 && c.match != nil:
		if !c.matches() {
			break
		}
		c.found, c.foundName = c.ordinal, string(c.open[len(c.open)-1].name)
		c.apex = len(c.open)
		err = c.start(true)
	case c.apex < 0 && c.ordinal == n:
		if name := c.open[len(c.open)-1].name; string(name) != qname {
			return false, fmt.Errorf("%w: element %d is %s, not %s", ErrUnsupported, n, name, qname)
		}
		c.apex = len(c.open)
		err = c.start(true)
	case c.apex >= 0:
		err = c.start(false)
	}
	if err != nil || !empty {
		return false, err
	}
	return c.close(nil), nil
}

// close ends the innermost open element, writing its end tag inside the
// element written, and reports whether that element is now complete.
// end is the end tag as written if it is canonical, else nil.
func (c *byteCanon) close(end []byte) bool {
	top := c.open[len(c.open)-1]
	switch {
	case c.apex < 0:
	case end != nil:
		c.out.span(end)
	default:
		c.out.str("</")
		c.out.write(top.name)
		c.out.byte('>')
	}
	c.inScope.restore(top.scopeMark)
	c.rendered.restore(top.renderedMark)
	c.open = c.open[:len(c.open)-1]
	return c.apex >= 0 && len(c.open) < c.apex
}

// matches reports whether the element just pushed is the one c.match
// names. An unbound prefix is not.
func (c *byteCanon) matches() bool {
	p, local := splitName(c.open[len(c.open)-1].name)
	ns, ok := c.inScope.m[string(p)]
	if !ok && len(p) > 0 {
		return false
	}
	return c.match(len(c.open), ns, local)
}
