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
	var err error
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
	q := bytes.IndexByte(t[j+1:], t[j])
	if q < 0 {
		return 0, malformedBytes("attribute value")
	}
	a.value = t[j+1 : j+1+q]
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
