package xmlscan

import (
	"bytes"
	"encoding/xml"
	"unicode/utf8"
)

// attributes reads the attributes of a start tag into s.attrs, and its
// end, and reports whether it is an empty-element tag.
func (s *fscan) attributes() (selfClosing bool, err error) {
	s.attrs = s.attrs[:0]
	for {
		sawSpace := s.space()
		if s.pos >= len(s.d) {
			return false, syntaxf("unterminated start tag")
		}
		switch s.d[s.pos] {
		case '>':
			s.pos++
			return false, nil
		case '/':
			if s.pos+1 >= len(s.d) || s.d[s.pos+1] != '>' {
				return false, syntaxf("malformed start tag")
			}
			s.pos += 2
			return true, nil
		}
		if !sawSpace {
			return false, syntaxf("malformed start tag")
		}
		if err := s.attribute(); err != nil {
			return false, err
		}
	}
}

// attribute reads one attribute, name="value", into s.attrs.
func (s *fscan) attribute() error {
	name, err := s.name()
	if err != nil {
		return err
	}
	if err := s.limit("MaxNameBytes", s.fc.Limits.MaxNameBytes, len(name)); err != nil {
		return err
	}
	s.space()
	if s.pos >= len(s.d) || s.d[s.pos] != '=' {
		return syntaxf("attribute %s without value", name)
	}
	s.pos++
	s.space()
	if s.pos >= len(s.d) || (s.d[s.pos] != '"' && s.d[s.pos] != '\'') {
		return syntaxf("unquoted attribute %s", name)
	}
	q := s.d[s.pos]
	end := -1
	for i, c := range s.d[s.pos+1:] {
		if c == q {
			end = i
			break
		}
	}
	if end < 0 {
		return syntaxf("unterminated attribute %s", name)
	}
	val := s.d[s.pos+1 : s.pos+1+end]
	if err := s.limit("MaxAttrValue", s.fc.Limits.MaxAttrValue, len(val)); err != nil {
		return err
	}
	// checkText refuses '<' in character data, as attribute values must.
	if _, err := checkText(val, true); err != nil {
		return err
	}
	if !s.fc.Limits.AllowAttrBreaks && hasBreak(val) {
		return syntaxf("literal tab, line feed or carriage return in attribute %s", name)
	}
	s.pos += end + 2
	s.attrs = append(s.attrs, rawAttr{name: name, value: val, at: s.pos - end - 1})
	return nil
}

// hasBreak reports whether an attribute value holds a literal tab, line
// feed or carriage return. XML turns each into a space when it reads the
// value (3.3.3), and signatures are computed on that; encoding/xml, and so
// etree, keep them. A value that two parsers read differently could be
// verified as one thing and used as another (a signed account number
// with a line break), so such values are refused unless
// Limits.AllowAttrBreaks; the character references &#9;, &#10; and &#13;
// mean the same to every parser.
func hasBreak(v []byte) bool {
	for _, c := range v {
		if c < ' ' {
			return true // checkText let only tab, LF and CR through
		}
	}
	return false
}

// Byte classes of names, one table lookup per byte. Plain name bytes are
// zero so that the scan can test several at once.
const (
	nameChar = iota
	nameStop
	nameColon
	nameHigh // a byte of a character beyond ASCII, checked by validName
)

var nameClass = func() (t [256]uint8) {
	for c := 0; c < 128; c++ {
		if !nameByte[c] {
			t[c] = nameStop
		}
	}
	t[':'] = nameColon
	for c := 0x80; c < 0x100; c++ {
		t[c] = nameHigh
	}
	return t
}()

// name reads a QName: NCName (':' NCName)?.
func (s *fscan) name() ([]byte, error) {
	d, start := s.d, s.pos
	i, colon, high := start, -1, false
	for {
		// Plain name bytes, four at a time while there are.
		for i+4 <= len(d) && nameClass[d[i]]|nameClass[d[i+1]]|nameClass[d[i+2]]|nameClass[d[i+3]] == nameChar {
			i += 4
		}
		for i < len(d) && nameClass[d[i]] == nameChar {
			i++
		}
		if i == len(d) {
			break
		}
		if c := nameClass[d[i]]; c == nameHigh {
			high = true
		} else if c != nameColon || colon >= 0 {
			break
		} else {
			colon = i
		}
		i++
	}
	s.pos = i
	n := d[start:i]
	if len(n) == 0 || colon == start || colon == i-1 || !nameStart(n) || (colon >= 0 && !nameStart(d[colon+1:i])) {
		return nil, syntaxf("malformed name")
	}
	if high && !s.validName(n) {
		return nil, syntaxf("malformed name")
	}
	return n, nil
}

// validName checks a name with characters beyond ASCII. XML editions
// disagree on which characters those may be; the rule of encoding/xml,
// the strictest a downstream Go reader applies, decides, and the answer
// is cached because large documents repeat their element names.
func (s *fscan) validName(n []byte) bool {
	if ok, seen := s.names[string(n)]; seen {
		return ok
	}
	ok := utf8.Valid(n)
	if ok {
		d := xml.NewDecoder(bytes.NewReader(append(append([]byte("<"), n...), "/>"...)))
		tok, err := d.RawToken()
		se, isStart := tok.(xml.StartElement)
		ok = err == nil && isStart && qnameOf(se.Name) == string(n)
	}
	if s.names == nil {
		s.names = make(map[string]bool)
	}
	if len(s.names) < 1024 {
		s.names[string(n)] = ok
	}
	return ok
}

func qnameOf(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

var nameByte = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['_'], t['-'], t['.'] = true, true, true
	return t
}()

func nameStart(n []byte) bool {
	c := n[0]
	return c >= 0x80 || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func splitQName(n []byte) (prefix, local []byte) {
	// Names are short: a plain loop beats a vectorized search here.
	for i, c := range n {
		if c == ':' {
			return n[:i], n[i+1:]
		}
	}
	return nil, n
}
