package xmlscan

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textByte marks the ASCII bytes that may appear in text as they are.
var textByte = func() (t [128]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	t['&'], t[']'], t['<'], t[0x7f] = false, false, false, true
	return t
}()

// Byte classes of text: plain bytes need no further look.
const (
	textSpecial = iota // a reference, ']', '<', a control character or a byte beyond ASCII
	textPlain
	textSpace
)

var textClass = func() (t [256]uint8) {
	for c := 0; c < 128; c++ {
		if textByte[c] {
			t[c] = textPlain
		}
	}
	t[' '], t['\t'], t['\n'], t['\r'] = textSpace, textSpace, textSpace, textSpace
	return t
}()

// checkText validates character data (refs: references are allowed and
// checked, and "]]>" is refused) or the inside of a comment or CDATA
// section (refs false). It reports whether the text holds anything other
// than white space.
func checkText(t []byte, refs bool) (nonSpace bool, err error) {
	for i := 0; i < len(t); {
		// Eight bytes at a time while they are plain: printable ASCII
		// other than '&', ']' and '<', which is all of base64 and most
		// text.
		for i+8 <= len(t) {
			w := binary.LittleEndian.Uint64(t[i:])
			if w&hiBits != 0 || hasLess(w, 0x20) || hasByte(w, '&') || hasByte(w, ']') || hasByte(w, '<') {
				break
			}
			if w != loBits*' ' {
				nonSpace = true
			}
			i += 8
		}
		if i == len(t) {
			break
		}
		c := t[i]
		switch textClass[c] {
		case textPlain:
			nonSpace = true
			i++
			continue
		case textSpace:
			i++
			continue
		}
		if c < 0x80 {
			switch {
			case c == '&' && refs:
				n, ok := reference(t[i:])
				if !ok {
					return false, syntaxf("invalid reference")
				}
				nonSpace = true
				i += n
			case c == '&' || c == ']' || (c == '<' && !refs):
				if refs && bytes.HasPrefix(t[i:], []byte("]]>")) {
					return false, syntaxf("']]>' in text")
				}
				nonSpace = true
				i++
			default:
				return false, syntaxf("invalid character %#x", c)
			}
			continue
		}
		r, size := utf8.DecodeRune(t[i:])
		if !isXMLChar(r, size) {
			return false, syntaxf("invalid character")
		}
		nonSpace = true
		i += size
	}
	return nonSpace, nil
}

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// hasLess reports whether a byte of w (all below 0x80) is below n.
func hasLess(w, n uint64) bool { return (w-loBits*n)&^w&hiBits != 0 }

// hasByte reports whether a byte of w (all below 0x80) equals c.
func hasByte(w uint64, c byte) bool {
	x := w ^ (loBits * uint64(c))
	return (x-loBits)&^x&hiBits != 0
}

func isXMLChar(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return false
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// reference checks an entity or character reference at the start of t and
// returns its length.
func reference(t []byte) (int, bool) {
	end := bytes.IndexByte(t, ';')
	if end < 2 || end > 12 {
		return 0, false
	}
	body := t[1:end]
	switch string(body) {
	case "lt", "gt", "amp", "apos", "quot":
		return end + 1, true
	}
	if body[0] != '#' || len(body) < 2 {
		return 0, false
	}
	var r rune
	if body[1] == 'x' {
		if len(body) < 3 {
			return 0, false
		}
		for _, c := range body[2:] {
			v := hexVal(c)
			if v < 0 {
				return 0, false
			}
			// Stop before the value can wrap: &#x10000003C; must not
			// read as '<' (encoding/xml wraps it so).
			if r = r*16 + rune(v); r > unicode.MaxRune {
				return 0, false
			}
		}
	} else {
		for _, c := range body[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			if r = r*10 + rune(c-'0'); r > unicode.MaxRune {
				return 0, false
			}
		}
	}
	if r > 0x10FFFF || !isXMLChar(r, 2) {
		return 0, false
	}
	return end + 1, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// srcMax is the size up to which a document's tree takes its strings
// from one copy of the whole document (fscan.src). Above it, where most
// of a document may be text the tree never holds (cut or opaque), each
// value is copied by itself.
const srcMax = 64 << 10

// str returns b, a slice of the data, as a string: a substring of s.src
// where there is one, else a copy.
func (s *fscan) str(b []byte) string {
	if s.src != "" && len(b) > 0 {
		// b was sliced from s.d, so its capacity says where it starts;
		// the address makes sure, and s.src is a copy of s.d, which
		// the scan does not modify.
		if at := cap(s.d) - cap(b); at >= 0 && at+len(b) <= len(s.src) && &s.d[at] == &b[0] {
			return s.src[at : at+len(b)]
		}
	}
	return string(b)
}

// text returns the character data v, which starts at offset at of the
// data, as the tree holds it: see unescape.
func (s *fscan) text(v []byte, at int) string {
	if s.src != "" && bytes.IndexByte(v, '&') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return s.src[at : at+len(v)]
	}
	return unescape(v)
}

// attrValue returns the value of a as the tree holds it: see the
// function attrValue.
func (s *fscan) attrValue(a rawAttr) string {
	// hasBreak looks for any byte below a space, a superset of the
	// white space to normalize; bytes.IndexAny would build its set on
	// every call.
	if s.src != "" && bytes.IndexByte(a.value, '&') < 0 && !hasBreak(a.value) {
		return s.src[a.at : a.at+len(a.value)]
	}
	return attrValue(a.value)
}

// normalizeNewlines turns CR LF and lone CR into LF (XML 1.0, 2.11).
func normalizeNewlines(v []byte) string {
	if bytes.IndexByte(v, '\r') < 0 {
		return string(v)
	}
	s := strings.ReplaceAll(string(v), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// attrValue is an attribute's value as XML 1.0 (3.3.3) defines it without
// a DTD: line ends normalized, then every literal white space character
// replaced by a space, then references resolved, so that a character
// reference to white space stays what it refers to. Canonical XML, and so
// every signature over the attribute, is computed on this value.
func attrValue(v []byte) string {
	if bytes.IndexAny(v, "\t\n\r") < 0 {
		return unescape(v)
	}
	n := []byte(normalizeNewlines(v))
	for i, c := range n {
		if c == '\t' || c == '\n' {
			n[i] = ' '
		}
	}
	return unescape(n)
}

// unescape resolves the references of an attribute value or text that
// checkText accepted, after normalizing line ends; a character reference
// to CR stays a CR.
func unescape(v []byte) string {
	if bytes.IndexByte(v, '&') < 0 {
		return normalizeNewlines(v)
	}
	if bytes.IndexByte(v, '\r') >= 0 {
		v = []byte(normalizeNewlines(v))
	}
	var b []byte
	for i := 0; i < len(v); {
		if v[i] != '&' {
			b = append(b, v[i])
			i++
			continue
		}
		end := bytes.IndexByte(v[i:], ';')
		if end < 0 {
			b = append(b, v[i:]...)
			break
		}
		body := string(v[i+1 : i+end])
		switch body {
		case "lt":
			b = append(b, '<')
		case "gt":
			b = append(b, '>')
		case "amp":
			b = append(b, '&')
		case "apos":
			b = append(b, '\'')
		case "quot":
			b = append(b, '"')
		default:
			var r rune
			if len(body) > 1 && body[0] == '#' {
				if body[1] == 'x' {
					for _, c := range []byte(body[2:]) {
						r = r*16 + rune(hexVal(c))
					}
				} else {
					for _, c := range []byte(body[1:]) {
						r = r*10 + rune(c-'0')
					}
				}
			}
			b = utf8.AppendRune(b, r)
		}
		i += end + 1
	}
	return string(b)
}

// CheckText validates character data as it stands between tags: valid
// UTF-8, XML characters only, well-formed references, no "]]>".
func CheckText(t []byte) error {
	_, err := checkText(t, true)
	return err
}
