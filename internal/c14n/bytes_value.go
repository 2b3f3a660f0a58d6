package c14n

import (
	"bytes"
	"unicode/utf8"
)

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
	if len(t) >= longText {
		// A long run (a base64 field) mostly needs nothing: three
		// vectorized searches find where the byte loop has to start.
		k := len(t)
		for _, b := range []byte{'&', '>', '\r'} {
			if i := bytes.IndexByte(t[:k], b); i >= 0 {
				k = i
			}
		}
		c.out.span(t[:k])
		t = t[k:]
	}
	c.value(t, needsText, textEscapes, false)
}

// longText is the length from which text searches for the bytes it
// rewrites before it reads them one by one.
const longText = 256

// cdata writes the content of a CDATA section: line ends normalized,
// nothing resolved.
func (c *byteCanon) cdata(t []byte) {
	start := 0
	for i := 0; i < len(t); i++ {
		b := t[i]
		if b != '&' && b != '<' && b != '>' && b != '\r' {
			continue
		}
		c.out.span(t[start:i])
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
	c.out.span(t[start:])
}

// attrBytes writes an attribute value as written: line ends normalized,
// literal white space made a space, references resolved (XML 1.0, 3.3.3),
// then escaped as canonical XML escapes attribute values.
func (c *byteCanon) attrBytes(v []byte) {
	c.value(v, needsAttr, attrEscapes, true)
}

// value writes text or an attribute value as written, copying the runs
// that need nothing. v is a slice of the document.
func (c *byteCanon) value(v []byte, needs *[256]bool, esc *[256]string, attr bool) {
	start := 0
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !needs[b] {
			continue
		}
		c.out.span(v[start:i])
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
	c.out.span(v[start:])
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
