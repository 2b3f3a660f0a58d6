package c14n

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

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
	c.tagCanonical = true
	var err error
	for {
		from := i
		for i < len(t) && isSpaceByte(t[i]) {
			i++
		}
		if i >= len(t) {
			return 0, false, malformedBytes("unterminated start tag")
		}
		if t[i] == '>' {
			c.tagCanonical = c.tagCanonical && i == from
			i++
			break
		}
		if t[i] == '/' {
			if i+1 >= len(t) || t[i+1] != '>' {
				return 0, false, malformedBytes("start tag")
			}
			c.tagCanonical = false
			c.push(name)
			return i + 2, true, nil
		}
		if i == from {
			return 0, false, malformedBytes("start tag")
		}
		c.tagCanonical = c.tagCanonical && i == from+1 && t[from] == ' '
		if i, err = c.attribute(t, i); err != nil {
			return 0, false, err
		}
	}
	c.push(name)
	return i, false, nil
}

// attribute reads the attribute at t[i:] into c.raw and returns where
// it ends.
func (c *byteCanon) attribute(t []byte, i int) (int, error) {
	j := i
	for j < len(t) && t[j] != '=' && !isSpaceByte(t[j]) && t[j] != '>' && t[j] != '/' {
		j++
	}
	a := rawAttr{name: t[i:j]}
	for j < len(t) && isSpaceByte(t[j]) {
		j++
	}
	if len(a.name) == 0 || j >= len(t) || t[j] != '=' {
		return 0, malformedBytes("attribute")
	}
	j++
	for j < len(t) && isSpaceByte(t[j]) {
		j++
	}
	if j >= len(t) || (t[j] != '"' && t[j] != '\'') {
		return 0, malformedBytes("attribute value")
	}
	// A value in double quotes ends at the first byte the canonical
	// form would rewrite if that byte is the quote: one pass over most
	// values, which are short, finds the end and that the value can be
	// copied.
	v, q, clean := t[j+1:], -1, false
	if t[j] == '"' {
		for k, b := range v {
			if needsAttr[b] {
				if b == '"' {
					q, clean = k, true
				}
				break
			}
		}
	}
	if q < 0 {
		if q = bytes.IndexByte(v, t[j]); q < 0 {
			return 0, malformedBytes("attribute value")
		}
	}
	a.value = v[:q]
	// name="value", with nothing in the value to rewrite.
	c.tagCanonical = c.tagCanonical && clean && j == i+len(a.name)+1
	c.raw = append(c.raw, a)
	return j + 1 + q + 1, nil
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
	if !apex && c.incl == nil {
		if done, err := c.startKnown(); done {
			return err
		}
	}
	name := c.open[len(c.open)-1].name
	p, _ := splitName(name)
	space := c.intern(p)

	c.prefixes = c.visiblePrefixes(space, apex)

	c.out.byte('<')
	c.out.write(name)
	if space != "" && space != "xml" && c.inScope.m[space] == "" {
		return fmt.Errorf("%w: %s", ErrUnboundPrefix, space)
	}
	for _, p := range c.prefixes {
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
	c.attrsAndClose(as)
	if c.incl == nil {
		c.learn(c.prefixes)
	}
	return c.out.err
}

// attrsAndClose writes the attributes as, sorted, and ends the start tag.
func (c *byteCanon) attrsAndClose(as []rawAttr) {
	for k := range as {
		c.out.byte(' ')
		c.out.write(as[k].name)
		c.out.str(`="`)
		c.attrBytes(as[k].value)
		c.out.byte('"')
	}
	c.out.byte('>')
}

// startKnown writes the start tag of the element just pushed if it
// declares nothing and uses only known prefixes, so that canon.start
// would write no declaration; it reports whether it did. Without an
// InclusiveNamespaces PrefixList only.
func (c *byteCanon) startKnown() (bool, error) {
	k := &c.known
	if k.n == 0 || k.in != c.inScope.ver || k.out != c.rendered.ver {
		// A declaration on this tag changed the scope too.
		return false, nil
	}
	name := c.open[len(c.open)-1].name
	if p, _ := splitName(name); string(p) != "xml" && !k.has(p) {
		return false, nil
	}
	for i := range c.raw {
		a := &c.raw[i]
		switch a.prefix {
		case "":
			a.uri = ""
		case "xml":
			a.uri = nsXML
		default:
			uri, ok := k.uriOf(a.prefix)
			if !ok {
				return false, nil
			}
			a.uri = uri
		}
	}
	as := c.raw
	if len(as) > 1 && !slices.IsSortedFunc(as, compareAttrs) {
		slices.SortFunc(as, compareAttrs)
	} else if c.tagCanonical {
		c.out.span(c.tag)
		c.remember(len(name))
		return true, c.out.err
	}
	c.out.byte('<')
	c.out.write(name)
	c.attrsAndClose(as)
	return true, c.out.err
}

// compareAttrs orders attributes as the canonical form does: by
// namespace URI, then local name.
func compareAttrs(x, y rawAttr) int {
	if n := strings.Compare(x.uri, y.uri); n != 0 {
		return n
	}
	return bytes.Compare(x.local, y.local)
}

// learn records the prefixes ps of a start tag just written as known:
// declaring them again would write nothing until a scope changes.
func (c *byteCanon) learn(ps []string) {
	k := &c.known
	if k.in != c.inScope.ver || k.out != c.rendered.ver {
		k.n, k.in, k.out = 0, c.inScope.ver, c.rendered.ver
	}
	for _, p := range ps {
		uri := c.inScope.m[p]
		if p == "xml" || (p != "" && uri == "") || k.n == len(k.prefix) {
			continue
		}
		if _, ok := k.uriOf(p); !ok {
			k.prefix[k.n], k.uri[k.n] = p, uri
			k.n++
		}
	}
}

// has reports whether the prefix p, as written, is known.
func (k *knownPrefixes) has(p []byte) bool {
	for i := range k.n {
		if string(p) == k.prefix[i] {
			return true
		}
	}
	return false
}

// uriOf returns the URI of the known prefix p.
func (k *knownPrefixes) uriOf(p string) (string, bool) {
	for i := range k.n {
		if p == k.prefix[i] {
			return k.uri[i], true
		}
	}
	return "", false
}

// intern returns b as a string, the same string each time.
func (c *byteCanon) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, s := range c.recent {
		if string(b) == s {
			return s
		}
	}
	s, ok := c.names[string(b)]
	if !ok {
		s = string(b)
		c.names[s] = s
	}
	c.recent[c.nextRecent] = s
	c.nextRecent = (c.nextRecent + 1) % len(c.recent)
	return s
}

func splitName(n []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return nil, n
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// visiblePrefixes returns, sorted and without repeats, the prefixes the
// current start tag makes visibly utilized: its own, its attributes'
// (other than xml), and under inclusive C14N those of the
// InclusiveNamespaces list (all of them at the apex, the declared ones
// below it).
func (c *byteCanon) visiblePrefixes(space string, apex bool) []string {
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
	return ps
}
