package c14n

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
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
	c := &byteCanon{canon: canon{
		opt:      opt,
		out:      writer{w: w, max: opt.MaxBytes, buf: make([]byte, 0, bufferSize)},
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
	if err := c.run(n, qname); err != nil {
		return c.out.n, c.skipped, err
	}
	return c.out.n, c.skipped, c.out.flush()
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
	pos := 0
	if bytes.HasPrefix(d, []byte("\xef\xbb\xbf")) {
		pos = 3
	}
	if bytes.HasPrefix(d[pos:], []byte("<?xml")) {
		end := bytes.Index(d[pos:], []byte("?>"))
		if end < 0 {
			return malformedBytes("unterminated XML declaration")
		}
		pos += end + 2
	}
	ordinal := -1
	apex := -1 // len(c.open) once the element is open; -1 before
	for pos < len(d) {
		lt := bytes.IndexByte(d[pos:], '<')
		end := len(d)
		if lt >= 0 {
			end = pos + lt
		}
		if apex >= 0 && end > pos {
			c.text(d[pos:end])
		}
		if lt < 0 {
			break
		}
		pos = end
		if apex < 0 {
			c.skipped = int64(pos)
			if c.maxSkip > 0 && c.skipped > c.maxSkip {
				return ErrTooLarge
			}
		}
		rest := d[pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			e := bytes.Index(rest[4:], []byte("-->"))
			if e < 0 {
				return malformedBytes("unterminated comment")
			}
			if apex >= 0 && c.opt.Comments {
				c.out.str("<!--")
				c.out.write(rest[4 : 4+e])
				c.out.str("-->")
			}
			pos += 4 + e + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			e := bytes.Index(rest[9:], []byte("]]>"))
			if e < 0 {
				return malformedBytes("unterminated CDATA section")
			}
			if apex >= 0 {
				c.cdata(rest[9 : 9+e])
			}
			pos += 9 + e + 3
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			return malformedBytes("directive or processing instruction")
		case len(rest) > 1 && rest[1] == '/':
			e := bytes.IndexByte(rest, '>')
			if e < 0 || len(c.open) == 0 {
				return malformedBytes("end tag")
			}
			top := c.open[len(c.open)-1]
			if !bytes.Equal(bytes.TrimRight(rest[2:e], " \t\r\n"), top.name) {
				return malformedBytes("mismatched end tag")
			}
			pos += e + 1
			if done := c.close(apex); done {
				return c.out.err
			}
		default:
			size, empty, err := c.startTag(rest)
			if err != nil {
				return err
			}
			pos += size
			ordinal++
			name := c.open[len(c.open)-1].name
			switch {
			case apex < 0 && ordinal == n:
				if string(name) != qname {
					return fmt.Errorf("%w: element %d is %s, not %s", ErrUnsupported, n, name, qname)
				}
				apex = len(c.open)
				if err := c.start(true); err != nil {
					return err
				}
			case apex >= 0:
				if err := c.start(false); err != nil {
					return err
				}
			}
			if empty {
				if done := c.close(apex); done {
					return c.out.err
				}
			}
		}
		if c.out.err != nil {
			return c.out.err
		}
	}
	return malformedBytes("no such element")
}

// close ends the innermost open element, writing its end tag inside the
// element written, and reports whether that element is now complete.
func (c *byteCanon) close(apex int) bool {
	top := c.open[len(c.open)-1]
	if apex >= 0 {
		c.out.str("</")
		c.out.write(top.name)
		c.out.byte('>')
	}
	c.inScope.restore(top.scopeMark)
	c.rendered.restore(top.renderedMark)
	c.open = c.open[:len(c.open)-1]
	return apex >= 0 && len(c.open) < apex
}

// startTag reads the start tag at the start of t into c.raw, opens its
// element and enters its declarations into scope. It returns the tag's
// length and whether it is an empty-element tag.
func (c *byteCanon) startTag(t []byte) (int, bool, error) {
	i := 1
	for i < len(t) && !isSpaceByte(t[i]) && t[i] != '/' && t[i] != '>' {
		i++
	}
	name := t[1:i]
	if len(name) == 0 {
		return 0, false, malformedBytes("start tag")
	}
	c.raw = c.raw[:0]
	for {
		sawSpace := false
		for i < len(t) && isSpaceByte(t[i]) {
			i, sawSpace = i+1, true
		}
		if i >= len(t) {
			return 0, false, malformedBytes("unterminated start tag")
		}
		if t[i] == '>' {
			i++
			break
		}
		if t[i] == '/' {
			if i+1 >= len(t) || t[i+1] != '>' {
				return 0, false, malformedBytes("start tag")
			}
			c.push(name)
			return i + 2, true, nil
		}
		if !sawSpace {
			return 0, false, malformedBytes("start tag")
		}
		j := i
		for j < len(t) && t[j] != '=' && !isSpaceByte(t[j]) && t[j] != '>' && t[j] != '/' {
			j++
		}
		a := rawAttr{name: t[i:j]}
		for j < len(t) && isSpaceByte(t[j]) {
			j++
		}
		if len(a.name) == 0 || j >= len(t) || t[j] != '=' {
			return 0, false, malformedBytes("attribute")
		}
		j++
		for j < len(t) && isSpaceByte(t[j]) {
			j++
		}
		if j >= len(t) || (t[j] != '"' && t[j] != '\'') {
			return 0, false, malformedBytes("attribute value")
		}
		q := bytes.IndexByte(t[j+1:], t[j])
		if q < 0 {
			return 0, false, malformedBytes("attribute value")
		}
		a.value = t[j+1 : j+1+q]
		i = j + 1 + q + 1
		c.raw = append(c.raw, a)
	}
	c.push(name)
	return i, false, nil
}

// push opens the element name with the attributes in c.raw.
func (c *byteCanon) push(name []byte) {
	c.open = append(c.open, openTag{name: name, scopeMark: len(c.inScope.undo), renderedMark: len(c.rendered.undo)})
	for k := range c.raw {
		a := &c.raw[k]
		p, local := splitName(a.name)
		a.local = local
		switch {
		case p == nil && string(local) == "xmlns":
			a.decl, a.of = true, ""
		case string(p) == "xmlns":
			a.decl, a.of = true, c.intern(local)
		default:
			a.prefix = c.intern(p)
		}
		if a.decl {
			c.inScope.set(a.of, c.attrString(a.value))
		}
	}
}

// start writes the start tag of the element just pushed, as canon.start
// writes an element's.
func (c *byteCanon) start(apex bool) error {
	name := c.open[len(c.open)-1].name
	p, _ := splitName(name)
	space := c.intern(p)

	ps := c.prefixes[:0]
	ps = append(ps, space)
	for k := range c.raw {
		a := &c.raw[k]
		if !a.decl && a.prefix != "" && a.prefix != "xml" {
			ps = append(ps, a.prefix)
		}
	}
	if c.incl != nil {
		if apex {
			for p := range c.incl {
				ps = append(ps, p)
			}
		} else {
			for k := range c.raw {
				if a := &c.raw[k]; a.decl && c.incl[a.of] {
					ps = append(ps, a.of)
				}
			}
		}
	}
	if len(ps) > 1 {
		slices.Sort(ps)
		ps = slices.Compact(ps)
	}
	c.prefixes = ps

	c.out.byte('<')
	c.out.write(name)
	if space != "" && space != "xml" && c.inScope.m[space] == "" {
		return fmt.Errorf("%w: %s", ErrUnboundPrefix, space)
	}
	for _, p := range ps {
		c.declare(p)
	}

	as := c.raw[:0:0]
	if len(c.raw) > 0 {
		// Drop the declarations, keeping the slice's own storage.
		as = c.raw[:0]
		for k := range c.raw {
			a := c.raw[k]
			if a.decl {
				continue
			}
			switch a.prefix {
			case "":
			case "xml":
				a.uri = nsXML
			default:
				a.uri = c.inScope.m[a.prefix]
				if a.uri == "" {
					return fmt.Errorf("%w: %s", ErrUnboundPrefix, a.prefix)
				}
			}
			as = append(as, a)
		}
		if len(as) > 1 {
			slices.SortFunc(as, func(x, y rawAttr) int {
				if n := strings.Compare(x.uri, y.uri); n != 0 {
					return n
				}
				return bytes.Compare(x.local, y.local)
			})
		}
	}
	for k := range as {
		c.out.byte(' ')
		c.out.write(as[k].name)
		c.out.str(`="`)
		c.attrBytes(as[k].value)
		c.out.byte('"')
	}
	c.out.byte('>')
	return c.out.err
}

// declare writes the declaration of prefix p where the output needs it.
func (c *byteCanon) declare(p string) {
	if p == "xml" {
		return
	}
	uri, bound := c.inScope.m[p]
	r, shown := c.rendered.m[p]
	if p == "" {
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

// intern returns b as a string, the same string each time.
func (c *byteCanon) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := c.names[string(b)]; ok {
		return s
	}
	s := string(b)
	c.names[s] = s
	return s
}

func splitName(n []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return nil, n
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// needsText and needsAttr mark the bytes of character data and of
// attribute values as written that the canonical form does not copy as
// they stand.
var (
	needsText = byteSet("&>\r")
	needsAttr = byteSet("&<\"\t\n\r")
)

func byteSet(s string) *[256]bool {
	var t [256]bool
	for i := range len(s) {
		t[s[i]] = true
	}
	return &t
}

// text writes character data as written: line ends normalized, then
// references resolved (XML 1.0, 2.11 and 4.6), then escaped as canonical
// XML escapes it.
func (c *byteCanon) text(t []byte) {
	c.value(t, needsText, textEscapes, false)
}

// cdata writes the content of a CDATA section: line ends normalized,
// nothing resolved.
func (c *byteCanon) cdata(t []byte) {
	start := 0
	for i := 0; i < len(t); i++ {
		b := t[i]
		if b != '&' && b != '<' && b != '>' && b != '\r' {
			continue
		}
		c.out.write(t[start:i])
		start = i + 1
		if b == '\r' {
			if i+1 < len(t) && t[i+1] == '\n' {
				continue
			}
			c.out.byte('\n')
			continue
		}
		c.out.str(textEscapes[b])
	}
	c.out.write(t[start:])
}

// attrBytes writes an attribute value as written: line ends normalized,
// literal white space made a space, references resolved (XML 1.0, 3.3.3),
// then escaped as canonical XML escapes attribute values.
func (c *byteCanon) attrBytes(v []byte) {
	c.value(v, needsAttr, attrEscapes, true)
}

// value writes text or an attribute value as written, copying the runs
// that need nothing.
func (c *byteCanon) value(v []byte, needs *[256]bool, esc *[256]string, attr bool) {
	start := 0
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !needs[b] {
			continue
		}
		c.out.write(v[start:i])
		start = i + 1
		switch b {
		case '\r':
			if i+1 < len(v) && v[i+1] == '\n' {
				continue // the LF that follows stands for both
			}
			if attr {
				c.out.byte(' ')
			} else {
				c.out.byte('\n')
			}
		case '\t', '\n':
			if attr {
				c.out.byte(' ')
			} else {
				c.out.byte(b)
			}
		case '&':
			r, size := resolve(v[i:])
			if size == 0 {
				// Not a reference the parser would have accepted.
				c.out.fail(malformedBytes("reference"))
				return
			}
			i += size - 1
			start = i + 1
			if r < utf8.RuneSelf && esc[r] != "" {
				c.out.str(esc[r])
				continue
			}
			var tmp [utf8.UTFMax]byte
			c.out.write(utf8.AppendRune(tmp[:0], r))
		default:
			c.out.str(esc[b])
		}
	}
	c.out.write(v[start:])
}

// resolve reads the reference at the start of v and returns the
// character it stands for and its length, or a length of 0.
func resolve(v []byte) (rune, int) {
	end := bytes.IndexByte(v, ';')
	if end < 2 || end > 12 {
		return 0, 0
	}
	body := v[1:end]
	switch string(body) {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "apos":
		return '\'', end + 1
	case "quot":
		return '"', end + 1
	}
	if body[0] != '#' || len(body) < 2 {
		return 0, 0
	}
	var r rune
	digits, base := body[1:], rune(10)
	if body[1] == 'x' {
		digits, base = body[2:], 16
	}
	if len(digits) == 0 {
		return 0, 0
	}
	for _, d := range digits {
		var v rune
		switch {
		case d >= '0' && d <= '9':
			v = rune(d - '0')
		case base == 16 && d >= 'a' && d <= 'f':
			v = rune(d-'a') + 10
		case base == 16 && d >= 'A' && d <= 'F':
			v = rune(d-'A') + 10
		default:
			return 0, 0
		}
		if r = r*base + v; r > utf8.MaxRune {
			return 0, 0
		}
	}
	if !utf8.ValidRune(r) {
		return 0, 0
	}
	return r, end + 1
}

// attrString returns an attribute value as the parser reads it.
func (c *byteCanon) attrString(v []byte) string {
	if bytes.IndexAny(v, "&\t\n\r") < 0 {
		return string(v)
	}
	b := c.buf[:0]
	for i := 0; i < len(v); i++ {
		switch x := v[i]; x {
		case '\r':
			if i+1 < len(v) && v[i+1] == '\n' {
				continue
			}
			b = append(b, ' ')
		case '\t', '\n':
			b = append(b, ' ')
		case '&':
			r, size := resolve(v[i:])
			if size == 0 {
				b = append(b, x)
				continue
			}
			b = utf8.AppendRune(b, r)
			i += size - 1
		default:
			b = append(b, x)
		}
	}
	c.buf = b
	return string(b)
}
