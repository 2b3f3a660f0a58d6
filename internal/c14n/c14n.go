package c14n

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Algorithm identifiers.
const (
	ExclusiveURI               = "http://www.w3.org/2001/10/xml-exc-c14n#"
	ExclusiveWithCommentsURI   = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	Inclusive10URI             = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	Inclusive10WithCommentsURI = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	Inclusive11URI             = "http://www.w3.org/2006/12/xml-c14n11"
	Inclusive11WithCommentsURI = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
)

const nsXML = "http://www.w3.org/XML/1998/namespace"

// bufferSize is the output buffer of one Canonicalize call: small, as a
// verifier canonicalizes a few small elements (SignedInfo, a Timestamp)
// per message, and large enough that writing a large element into a hash
// costs one call per 4 KiB.
const bufferSize = 4 << 10

// Method is one of the canonicalization algorithms.
type Method struct {
	// Exclusive selects Exclusive XML Canonicalization; otherwise
	// Canonical XML (inclusive).
	Exclusive bool
	// V11 selects Canonical XML 1.1 (inclusive only).
	V11 bool
	// Comments keeps comments.
	Comments bool
}

// MethodFor returns the method an algorithm URI names, and false for an
// URI that names none.
func MethodFor(uri string) (Method, bool) {
	switch uri {
	case ExclusiveURI:
		return Method{Exclusive: true}, true
	case ExclusiveWithCommentsURI:
		return Method{Exclusive: true, Comments: true}, true
	case Inclusive10URI:
		return Method{}, true
	case Inclusive10WithCommentsURI:
		return Method{Comments: true}, true
	case Inclusive11URI:
		return Method{V11: true}, true
	case Inclusive11WithCommentsURI:
		return Method{V11: true, Comments: true}, true
	}
	return Method{}, false
}

// Options says how [Canonicalize] writes.
type Options struct {
	Method
	// InclusivePrefixes is the PrefixList of an InclusiveNamespaces
	// element: prefixes separated by white space, "#default" for the
	// default namespace. Their declarations are treated as Canonical XML
	// treats every declaration. Only used with an exclusive method.
	InclusivePrefixes string
	// MaxBytes bounds the output; 0 means no bound. Output beyond it
	// stops the walk with [ErrTooLarge].
	MaxBytes int64
}

// Canonicalize writes the canonical form of the subtree rooted at el to w
// and returns the number of bytes written. It reads the namespace
// declarations (and, for Canonical XML, the xml: attributes) of el's
// ancestors and does not modify the tree. Writes to w are buffered; an
// error from w is returned wrapped. Other errors: [ErrUnboundPrefix],
// [ErrUnsupported], [ErrTooLarge].
func Canonicalize(w io.Writer, el *etree.Element, opt Options) (int64, error) {
	if el == nil {
		return 0, fmt.Errorf("%w: nil element", ErrUnsupported)
	}
	c := &canon{
		opt:      opt,
		out:      writer{w: w, max: opt.MaxBytes, buf: make([]byte, 0, bufferSize)},
		inScope:  scope{m: map[string]string{}},
		rendered: scope{m: map[string]string{}},
	}
	if opt.Exclusive {
		for _, p := range strings.Fields(opt.InclusivePrefixes) {
			if p == "#default" {
				p = ""
			}
			if c.incl == nil {
				c.incl = map[string]bool{}
			}
			c.incl[p] = true
		}
	}
	if err := c.context(el); err != nil {
		return 0, err
	}
	if err := c.walk(el); err != nil {
		return c.out.n, err
	}
	return c.out.n, c.out.flush()
}

// scope maps prefixes to URIs with an undo log, so that leaving an
// element restores its parent's map in time proportional to what the
// element changed.
type scope struct {
	m    map[string]string
	undo []undo
	// ver changes whenever m does, so that a reader can tell that what
	// it learned from m still holds.
	ver uint64
}

type undo struct {
	prefix, old string
	had         bool
}

func (s *scope) set(prefix, uri string) {
	old, had := s.m[prefix]
	s.undo = append(s.undo, undo{prefix, old, had})
	s.m[prefix] = uri
	s.ver++
}

func (s *scope) restore(mark int) {
	if len(s.undo) > mark {
		s.ver++
	}
	for i := len(s.undo) - 1; i >= mark; i-- {
		u := s.undo[i]
		if u.had {
			s.m[u.prefix] = u.old
		} else {
			delete(s.m, u.prefix)
		}
	}
	s.undo = s.undo[:mark]
}

type canon struct {
	opt      Options
	out      writer
	incl     map[string]bool // exclusive: the InclusiveNamespaces prefixes
	inScope  scope           // declarations in scope
	rendered scope           // declarations in effect in the output
	// inherited are the xml: attributes of the apex's ancestors that
	// Canonical XML copies onto the apex.
	inherited []etree.Attr
	// scratch, reused from element to element
	prefixes []string
	attrs    []sortedAttr
}

type sortedAttr struct {
	uri string
	a   *etree.Attr
}

// context reads what el's ancestors contribute: the namespaces in scope
// and, for Canonical XML, the inherited xml: attributes.
func (c *canon) context(el *etree.Element) error {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	seenXML := map[string]bool{}
	for i := range el.Attr {
		if el.Attr[i].Space == "xml" {
			seenXML[el.Attr[i].Key] = true
		}
	}
	// Outermost first, so that nearer declarations override.
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attr {
			if p, ok := nsDecl(&a); ok {
				c.inScope.m[p] = a.Value
			}
		}
	}
	if c.opt.Exclusive {
		return nil
	}
	for _, anc := range chain {
		for _, a := range anc.Attr {
			if a.Space != "xml" || seenXML[a.Key] {
				continue
			}
			seenXML[a.Key] = true
			if c.opt.V11 {
				switch a.Key {
				case "id":
					continue // not inherited in 1.1
				case "base":
					return fmt.Errorf("%w: xml:base on an ancestor under Canonical XML 1.1", ErrUnsupported)
				}
			}
			c.inherited = append(c.inherited, a)
		}
	}
	return nil
}

// nsDecl reports whether a is a namespace declaration and which prefix it
// declares ("" for the default namespace).
func nsDecl(a *etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

type frame struct {
	el           *etree.Element
	next         int // index of the next child to write
	scopeMark    int
	renderedMark int
}

// walk writes the subtree in document order with an explicit stack, so
// that deep trees need no deep call stack.
func (c *canon) walk(apex *etree.Element) error {
	stack := []frame{}
	open := func(el *etree.Element) error {
		f := frame{el: el, scopeMark: len(c.inScope.undo), renderedMark: len(c.rendered.undo)}
		if err := c.start(el, len(stack) == 0); err != nil {
			return err
		}
		stack = append(stack, f)
		return nil
	}
	if err := open(apex); err != nil {
		return err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == len(f.el.Child) {
			c.endTag(f.el)
			c.inScope.restore(f.scopeMark)
			c.rendered.restore(f.renderedMark)
			stack = stack[:len(stack)-1]
			if c.out.err != nil {
				return c.out.err
			}
			continue
		}
		tok := f.el.Child[f.next]
		f.next++
		switch t := tok.(type) {
		case *etree.Element:
			if err := open(t); err != nil {
				return err
			}
		case *etree.CharData:
			c.text(t.Data)
		case *etree.Comment:
			if c.opt.Comments {
				c.out.str("<!--")
				c.out.str(t.Data)
				c.out.str("-->")
			}
		case *etree.ProcInst:
			c.out.str("<?")
			c.out.str(t.Target)
			if t.Inst != "" {
				c.out.byte(' ')
				c.out.str(t.Inst)
			}
			c.out.str("?>")
		default:
			return fmt.Errorf("%w: %T inside an element", ErrUnsupported, tok)
		}
		if c.out.err != nil {
			return c.out.err
		}
	}
	return nil
}

// start writes el's start tag: its name, the namespace declarations the
// output needs there, and its attributes, each group in canonical order.
func (c *canon) start(el *etree.Element, apex bool) error {
	for i := range el.Attr {
		if p, ok := nsDecl(&el.Attr[i]); ok {
			c.inScope.set(p, el.Attr[i].Value)
		}
	}

	ps := c.outputPrefixes(el, apex)

	c.out.byte('<')
	c.qname(el.Space, el.Tag)
	if el.Space != "" && el.Space != "xml" {
		if c.inScope.m[el.Space] == "" {
			return fmt.Errorf("%w: %s", ErrUnboundPrefix, el.Space)
		}
	}
	c.nsDecls(ps)

	if err := c.attributes(el, apex); err != nil {
		return err
	}
	c.out.byte('>')
	return c.out.err
}

// outputPrefixes returns, sorted and without duplicates, the prefixes
// whose declarations may be output on el's start tag ("" is the default
// namespace), and keeps them in c.prefixes for reuse.
func (c *canon) outputPrefixes(el *etree.Element, apex bool) []string {
	ps := c.prefixes[:0]
	if c.opt.Exclusive {
		ps = append(ps, el.Space) // "" is the default namespace
		for i := range el.Attr {
			a := &el.Attr[i]
			if a.Space != "" && a.Space != "xmlns" && a.Space != "xml" {
				ps = append(ps, a.Space)
			}
		}
		if c.incl != nil {
			if apex {
				for p := range c.incl {
					ps = append(ps, p)
				}
			} else {
				for i := range el.Attr {
					if p, ok := nsDecl(&el.Attr[i]); ok && c.incl[p] {
						ps = append(ps, p)
					}
				}
			}
		}
	} else if apex {
		for p := range c.inScope.m {
			ps = append(ps, p)
		}
	} else {
		for i := range el.Attr {
			if p, ok := nsDecl(&el.Attr[i]); ok {
				ps = append(ps, p)
			}
		}
	}
	slices.Sort(ps)
	ps = slices.Compact(ps)
	c.prefixes = ps
	return ps
}

// nsDecls writes the namespace declarations of ps that the output does
// not show yet, and records them as shown.
func (c *canon) nsDecls(ps []string) {
	for _, p := range ps {
		c.declare(p)
	}
}

// declare writes the declaration of prefix p if the output does not show
// it yet, and records it as shown.
func (c *canon) declare(p string) {
	if p == "xml" {
		return
	}
	uri, bound := c.inScope.m[p]
	r, shown := c.rendered.m[p]
	if p == "" {
		// xmlns="" undoes a default namespace the output shows.
		if uri == r || (uri == "" && !shown) {
			return
		}
	} else if !bound || uri == "" || (shown && r == uri) {
		return
	}
	c.rendered.set(p, uri)
	if p == "" {
		c.out.str(` xmlns="`)
	} else {
		c.out.str(` xmlns:`)
		c.out.str(p)
		c.out.str(`="`)
	}
	c.attrValue(uri)
	c.out.byte('"')
}

// attributes writes el's attributes other than namespace declarations,
// with, at the apex, the inherited xml: attributes, in canonical order.
// An attribute whose prefix is not bound is an error, and nothing is
// written then.
func (c *canon) attributes(el *etree.Element, apex bool) error {
	as := c.attrs[:0]
	for i := range el.Attr {
		a := &el.Attr[i]
		if _, ok := nsDecl(a); ok {
			continue
		}
		var uri string
		switch a.Space {
		case "":
		case "xml":
			uri = nsXML
		default:
			uri = c.inScope.m[a.Space]
			if uri == "" {
				return fmt.Errorf("%w: %s", ErrUnboundPrefix, a.Space)
			}
		}
		as = append(as, sortedAttr{uri, a})
	}
	if apex {
		for i := range c.inherited {
			as = append(as, sortedAttr{nsXML, &c.inherited[i]})
		}
	}
	slices.SortFunc(as, func(x, y sortedAttr) int {
		if n := strings.Compare(x.uri, y.uri); n != 0 {
			return n
		}
		return strings.Compare(x.a.Key, y.a.Key)
	})
	c.attrs = as
	for _, sa := range as {
		c.out.byte(' ')
		c.qname(sa.a.Space, sa.a.Key)
		c.out.str(`="`)
		c.attrValue(sa.a.Value)
		c.out.byte('"')
	}
	return nil
}

func (c *canon) endTag(el *etree.Element) {
	c.out.str("</")
	c.qname(el.Space, el.Tag)
	c.out.byte('>')
}

func (c *canon) qname(space, local string) {
	if space != "" {
		c.out.str(space)
		c.out.byte(':')
	}
	c.out.str(local)
}

// textEscapes and attrEscapes are the replacements C14N makes in
// character data (&, <, > and CR) and in attribute values (&, <, " and
// the white space characters other than space).
var (
	textEscapes = escapes(map[byte]string{'&': "&amp;", '<': "&lt;", '>': "&gt;", '\r': "&#xD;"})
	attrEscapes = escapes(map[byte]string{'&': "&amp;", '<': "&lt;", '"': "&quot;", '\t': "&#x9;", '\n': "&#xA;", '\r': "&#xD;"})
)

func escapes(m map[byte]string) *[256]string {
	var t [256]string
	for b, rep := range m {
		t[b] = rep
	}
	return &t
}

// text writes character data.
func (c *canon) text(s string) { c.escaped(s, textEscapes) }

// attrValue writes an attribute value.
func (c *canon) attrValue(s string) { c.escaped(s, attrEscapes) }

// escaped writes s with each byte that has a replacement in esc replaced.
func (c *canon) escaped(s string, esc *[256]string) {
	start := 0
	for i := 0; i < len(s); i++ {
		rep := esc[s[i]]
		if rep == "" {
			continue
		}
		c.out.str(s[start:i])
		c.out.str(rep)
		start = i + 1
	}
	c.out.str(s[start:])
}
