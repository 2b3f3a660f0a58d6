package xmlscan

import (
	"bytes"
	"encoding/binary"
)

// Tag-dense content repeats its start tags: the same name and attributes,
// often the same values. Once a fragment has more than memoAfter
// elements, the scan remembers start tags it accepted, in a small table
// indexed by their first bytes after '<'. A start tag that equals a
// remembered one except for its attribute values, in the same namespace
// scope, is accepted after checking only its values as a full read would
// (the value ends at the first closing quote, is within MaxAttrValue and
// is valid character data): every other check on a start tag depends on
// the bytes around the values and on that scope alone. Tags that declare
// namespaces or carry an Id are always read in full.
const (
	memoAfter = 64
	memoSlots = 64
	// memoAfterScratch applies where a Scratch holds the table, which
	// then costs no allocation: tags repeat in small fragments too.
	memoAfterScratch = 8
)

// memoTable is a Scratch's tag memo, kept across scans.
type memoTable struct {
	t    [memoSlots]tagMemo
	used bool
}

// clear forgets every remembered tag (none points into a scanned input
// any more) and keeps the entries' value lists for reuse.
func (m *memoTable) clear() {
	for i := range m.t {
		// An entry without a tag is never recalled, and remember
		// writes all of it.
		if m.t[i].tag != nil {
			m.t[i].tag = nil
		}
	}
	m.used = false
}

// newMemo returns an empty tag memo, the Scratch's where there is one.
func (s *fscan) newMemo() *[memoSlots]tagMemo {
	if s.sc == nil {
		return new([memoSlots]tagMemo)
	}
	s.sc.memo.used = true
	return &s.sc.memo.t
}

type tagMemo struct {
	tag   []byte     // the start tag, '<' to '>'
	vals  [][2]int32 // where its attribute values start and end in tag
	name  int        // length of the element name
	empty bool       // an empty-element tag
	gen   int        // s.gen when it was accepted
	k     int        // outer elements closed then (second half of a split)
}

func memoSlot(b []byte) int {
	return int(binary.LittleEndian.Uint64(b) * 0x9E3779B97F4A7C15 >> 58)
}

func (s *fscan) memoAfter() int {
	if s.fc.memoAt != 0 {
		return s.fc.memoAt
	}
	if s.sc != nil {
		return memoAfterScratch
	}
	return memoAfter
}

func (s *fscan) closed() int {
	if s.half == nil {
		return 0
	}
	return len(s.half.closes)
}

// recall returns the remembered start tag that the tag at s.pos matches,
// if there is one, and the length of the tag at s.pos.
func (s *fscan) recall() (*tagMemo, int) {
	d := s.d[s.pos:]
	if len(d) < 9 {
		return nil, 0
	}
	e := &s.memo[memoSlot(d[1:])]
	if e.tag == nil || e.gen != s.gen || e.k != s.closed() {
		return nil, 0
	}
	p, t := 0, 0 // positions in d and in e.tag
	for _, v := range e.vals {
		fixed := e.tag[t:v[0]]
		if !bytes.HasPrefix(d[p:], fixed) {
			return nil, 0
		}
		p += len(fixed)
		end := bytes.IndexByte(d[p:], e.tag[v[0]-1]) // the closing quote
		if end < 0 || s.limit("MaxAttrValue", s.fc.Limits.MaxAttrValue, end) != nil {
			return nil, 0
		}
		if _, err := checkText(d[p:p+end], true); err != nil || (!s.fc.Limits.AllowAttrBreaks && hasBreak(d[p:p+end])) {
			return nil, 0
		}
		p, t = p+end, int(v[1])
	}
	if !bytes.HasPrefix(d[p:], e.tag[t:]) {
		return nil, 0
	}
	return e, p + len(e.tag) - t
}

// recalled accepts the start tag of n bytes at s.pos that recall matched
// with e.
func (s *fscan) recalled(e *tagMemo, n int) error {
	name := s.d[s.pos+1 : s.pos+1+e.name]
	s.pos += n
	if err := s.count(); err != nil {
		return err
	}
	if e.empty {
		s.depth--
		return nil
	}
	s.marks = append(s.marks, len(s.binds))
	s.stack = append(s.stack, name)
	return nil
}

// remember keeps the start tag that begins at start and ends at s.pos,
// just accepted, unless it declares a namespace, has an Id attribute, or
// has more attributes than are worth matching.
func (s *fscan) remember(start, name int, empty bool) {
	tag := s.d[start:s.pos]
	if len(tag) < 9 || len(tag) > 1<<16 || len(s.attrs) > 8 {
		return
	}
	for _, a := range s.attrs {
		if bytes.HasPrefix(a.name, []byte("xmlns")) || mayBeID(a.name) {
			return
		}
	}
	e := &s.memo[memoSlot(tag[1:])]
	vals := e.vals[:0]
	for _, a := range s.attrs {
		vals = append(vals, [2]int32{int32(a.at - start), int32(a.at - start + len(a.value))})
	}
	*e = tagMemo{tag: tag, vals: vals, name: name, empty: empty, gen: s.gen, k: s.closed()}
}

// mayBeID reports whether the attribute named name may be one that
// element() reports as an Id, whatever its prefix is bound to: only the
// xml prefix is bound for certain, and any other may be bound to wsu.
func mayBeID(name []byte) bool {
	prefix, local := splitQName(name)
	ns := NSWSU
	switch {
	case len(prefix) == 0:
		ns = ""
	case string(prefix) == "xml":
		ns = NSXML
	}
	return len(local) == 2 && IsID(ns, string(local))
}
