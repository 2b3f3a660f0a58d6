package xmlscan

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// FragmentCheck says how [ScanFragment] judges decrypted content.
type FragmentCheck struct {
	// Context maps the prefixes in scope where the fragment goes to their
	// URIs; "" is the default namespace.
	Context map[string]string
	// Limits apply with their DepthOffset and ElementsOffset.
	Limits Limits
	// Forbidden reports elements that must not appear in the fragment.
	Forbidden func(ns string, local []byte) bool
	// ID is called with the value of every Id, wsu:Id and xml:id
	// attribute; an error it returns stops the scan.
	ID func(id string) error
	// memoAt, for tests, is the number of start tags after which the scan
	// remembers tags (0: memoAfter; negative: never).
	memoAt int
}

// FragmentInfo describes a fragment [ScanFragment] accepted.
type FragmentInfo struct {
	Elements    int  // elements in the fragment
	TopElements int  // elements at its top level
	TopText     bool // character data other than white space at its top level
}

// ScanFragment checks that data is well-formed element content in the
// given namespace context — the rules of XML 1.0 and Namespaces in XML for
// content, without building a tree — and applies the limits, the
// forbidden-element rule and the Id callback. Processing instructions and
// document type declarations are refused, as in [Parse]. It reads data once
// and allocates little, so that large decrypted payloads can be spliced
// into a message as bytes.
//
// Two shortcuts keep large fragments fast: a start tag that repeats one
// already accepted, but for its attribute values, is not read again (see
// tagMemo), and a fragment of 1 MB or more is scanned as two halves at
// once when more than one processor is available (see scanSplit). The
// result, the errors and the Id callbacks are those of a plain scan from
// start to end; Forbidden, though, may be called once per distinct
// element name rather than once per element, so it must depend on its
// arguments only.
func ScanFragment(data []byte, fc FragmentCheck) (FragmentInfo, error) {
	if info, err, done := scanSplit(data, &fc); done {
		return info, err
	}
	return scanWhole(data, &fc)
}

func scanWhole(data []byte, fc *FragmentCheck) (FragmentInfo, error) {
	s := newFragmentScan(data, fc)
	if err := s.run(); err != nil {
		return FragmentInfo{}, err
	}
	s.info.Elements = s.elements - fc.Limits.ElementsOffset
	return s.info, nil
}

func newFragmentScan(data []byte, fc *FragmentCheck) *fscan {
	s := &fscan{d: data, fc: fc, depth: fc.Limits.DepthOffset, elements: fc.Limits.ElementsOffset}
	for p, u := range fc.Context {
		s.binds = append(s.binds, nsBinding{prefix: []byte(p), uri: u})
	}
	return s
}

type nsBinding struct {
	prefix []byte
	uri    string
}

type rawAttr struct {
	name, value []byte
	at          int // where the value starts in the data
}

type fscan struct {
	// document is set when reading a whole document: one root element,
	// only white space and comments around it.
	document bool
	// tree, when not nil, is the stack of elements being built; tree[0]
	// receives the top level.
	tree []*etree.Element
	// tagNames interns the element names of the tree, and slab is where
	// the tree's attributes are carved from, so that building it costs
	// fewer allocations than one per name and one per attribute list.
	tagNames map[string]string
	slab     []etree.Attr
	elSlab   []etree.Element
	tokSlab  []etree.Token
	sawRoot  bool
	names    map[string]bool // validity of names beyond ASCII
	d        []byte
	pos      int
	fc       *FragmentCheck
	stack    [][]byte // names of open elements
	binds    []nsBinding
	marks    []int
	attrs    []rawAttr
	keys     []attrKey // the attributes' keys (element)
	order    []int     // scratch for sorting keys
	depth    int
	elements int
	info     FragmentInfo
	// half is set when the scan reads one half of a split fragment.
	half *half
	tags int // start tags read in full
	memo *[memoSlots]tagMemo
	gen  int // changes whenever the declarations in scope change
}

func (s *fscan) limit(name string, max, n int) error {
	if max > 0 && n > max {
		return &LimitError{Limit: name, Max: max}
	}
	return nil
}

func (s *fscan) run() error {
	d := s.d
	for s.pos < len(d) {
		// In tag-dense content the next markup usually follows at once or
		// after a few bytes: look before paying for a vectorized search.
		lt := -1
		for i := s.pos; i < len(d) && i < s.pos+16; i++ {
			if d[i] == '<' {
				lt = i - s.pos
				break
			}
		}
		if lt < 0 && s.pos+16 < len(d) {
			if n := bytes.IndexByte(d[s.pos+16:], '<'); n >= 0 {
				lt = 16 + n
			}
		}
		end := len(d)
		if lt >= 0 {
			end = s.pos + lt
		}
		if end > s.pos {
			text := d[s.pos:end]
			nonSpace, err := checkText(text, true)
			if err != nil {
				return err
			}
			if nonSpace && len(s.stack) == 0 {
				if s.document {
					return syntaxf("text outside the root element")
				}
				s.info.TopText = true
			}
			if s.tree != nil {
				s.tree[len(s.tree)-1].CreateText(unescape(text))
			}
		}
		if lt < 0 {
			break
		}
		s.pos = end
		if err := s.markup(); err != nil {
			return err
		}
	}
	if len(s.stack) != 0 && (s.half == nil || s.half.second) {
		return syntaxf("unclosed element %s", s.stack[len(s.stack)-1])
	}
	return nil
}

func (s *fscan) markup() error {
	d := s.d[s.pos:]
	// Most markup is a tag: decide on the second byte before trying the
	// rarer constructs.
	if len(d) > 1 && d[1] != '!' && d[1] != '?' {
		if d[1] == '/' {
			return s.endTag()
		}
		return s.startTag()
	}
	switch {
	case bytes.HasPrefix(d, []byte("<!--")):
		end := bytes.Index(d[4:], []byte("-->"))
		if end < 0 {
			return syntaxf("unterminated comment")
		}
		body := d[4 : 4+end]
		if bytes.Contains(body, []byte("--")) || bytes.HasSuffix(body, []byte("-")) {
			return syntaxf("'--' in comment")
		}
		if _, err := checkText(body, false); err != nil {
			return err
		}
		if s.tree != nil {
			s.tree[len(s.tree)-1].CreateComment(string(body))
		}
		s.pos += 4 + end + 3
	case bytes.HasPrefix(d, []byte("<![CDATA[")):
		end := bytes.Index(d[9:], []byte("]]>"))
		if end < 0 {
			return syntaxf("unterminated CDATA section")
		}
		nonSpace, err := checkText(d[9:9+end], false)
		if err != nil {
			return err
		}
		if len(s.stack) == 0 && (nonSpace || s.document) {
			if s.document {
				return syntaxf("CDATA outside the root element")
			}
			s.info.TopText = true
		}
		if s.tree != nil {
			s.tree[len(s.tree)-1].CreateText(normalizeNewlines(d[9 : 9+end]))
		}
		s.pos += 9 + end + 3
	case bytes.HasPrefix(d, []byte("<?")):
		return syntaxf("processing instruction")
	case bytes.HasPrefix(d, []byte("<!")):
		return syntaxf("document type declaration or other directive")
	case bytes.HasPrefix(d, []byte("</")):
		return s.endTag()
	default:
		return s.startTag()
	}
	return nil
}

func (s *fscan) endTag() error {
	// The end tag almost always closes the element just opened: compare
	// with its name directly, and parse in full only otherwise.
	if n := len(s.stack); n > 0 {
		top := s.stack[n-1]
		rest := s.d[s.pos+2:]
		if len(rest) > len(top) && rest[len(top)] == '>' && bytes.Equal(rest[:len(top)], top) {
			s.pos += 2 + len(top) + 1
			s.stack = s.stack[:n-1]
			s.pop()
			s.depth--
			if s.tree != nil {
				s.tree = s.tree[:len(s.tree)-1]
			}
			return nil
		}
	}
	s.pos += 2
	name, err := s.name()
	if err != nil {
		return err
	}
	s.space()
	if s.pos >= len(s.d) || s.d[s.pos] != '>' {
		return syntaxf("malformed end tag")
	}
	s.pos++
	if len(s.stack) == 0 && s.half != nil && s.half.second {
		return s.half.outerEnd(s, name)
	}
	if len(s.stack) == 0 || !bytes.Equal(s.stack[len(s.stack)-1], name) {
		return syntaxf("unexpected end tag %s", name)
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.pop()
	s.depth--
	if s.tree != nil {
		s.tree = s.tree[:len(s.tree)-1]
	}
	return nil
}

func (s *fscan) startTag() error {
	if s.memo != nil {
		if e, n := s.recall(); e != nil {
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
	} else if s.tags == s.memoAfter() && s.tree == nil {
		s.memo = new([memoSlots]tagMemo)
	}
	s.tags++
	start := s.pos
	s.pos++
	name, err := s.name()
	if err != nil {
		return err
	}
	if err := s.limit("MaxNameBytes", s.fc.Limits.MaxNameBytes, len(name)); err != nil {
		return err
	}
	s.attrs = s.attrs[:0]
	selfClosing := false
	for {
		sawSpace := s.space()
		if s.pos >= len(s.d) {
			return syntaxf("unterminated start tag")
		}
		if s.d[s.pos] == '>' {
			s.pos++
			break
		}
		if s.d[s.pos] == '/' {
			if s.pos+1 >= len(s.d) || s.d[s.pos+1] != '>' {
				return syntaxf("malformed start tag")
			}
			s.pos += 2
			selfClosing = true
			break
		}
		if !sawSpace {
			return syntaxf("malformed start tag")
		}
		if err := s.attribute(); err != nil {
			return err
		}
	}
	if err := s.count(); err != nil {
		return err
	}
	if err := s.limit("MaxAttributes", s.fc.Limits.MaxAttributes, len(s.attrs)); err != nil {
		return err
	}
	if err := s.element(name); err != nil {
		return err
	}
	if s.memo != nil {
		s.remember(start, len(name), selfClosing)
	}
	if s.tree != nil {
		el := s.element1(name)
		s.tree[len(s.tree)-1].AddChild(el)
		if n := len(s.attrs); n > 0 {
			// The attributes are known to be distinct: spare CreateAttr
			// its search of the ones before (quadratic in their number)
			// by showing it an empty slice whose capacity is the next
			// slot. Their list is capped at its length, so that an
			// attribute added later moves it out of the slab.
			all := s.attrSlots(n)
			for i, a := range s.attrs {
				el.Attr = all[i:i]
				el.CreateAttr(string(a.name), attrValue(a.value))
			}
			el.Attr = all[:n]
		}
		s.tree = append(s.tree, el)
	}
	if selfClosing {
		s.pop()
		s.depth--
		if s.tree != nil {
			s.tree = s.tree[:len(s.tree)-1]
		}
		return nil
	}
	s.stack = append(s.stack, name)
	return nil
}

// tag returns name as a string, the same string for every element of
// that name.
func (s *fscan) tag(name []byte) string {
	if t, ok := s.tagNames[string(name)]; ok {
		return t
	}
	if s.tagNames == nil {
		s.tagNames = map[string]string{}
	}
	t := string(name)
	s.tagNames[t] = t
	return t
}

// slabSize is the capacity of the slab that follows one of capacity
// prev, for at least n items: doubling from 16 to 256, so that a small
// message carves little.
func slabSize(prev, n int) int {
	return max(n, min(max(2*prev, 16), 256))
}

// element1 returns a new element named name, with no parent, carved
// from a slab of elements.
func (s *fscan) element1(name []byte) *etree.Element {
	if len(s.elSlab) == cap(s.elSlab) {
		s.elSlab = make([]etree.Element, 0, slabSize(cap(s.elSlab), 1))
	}
	s.elSlab = s.elSlab[:len(s.elSlab)+1]
	el := &s.elSlab[len(s.elSlab)-1]
	// Room for two children (a text, or the two of a record), capped
	// so that a third moves the list out of the slab.
	if cap(s.tokSlab)-len(s.tokSlab) < 2 {
		s.tokSlab = make([]etree.Token, 0, 2*slabSize(cap(s.tokSlab)/2, 1))
	}
	k := len(s.tokSlab)
	s.tokSlab = s.tokSlab[:k+2]
	el.Child = s.tokSlab[k : k : k+2]
	tag := s.tag(name)
	if i := strings.IndexByte(tag, ':'); i >= 0 {
		el.Space, el.Tag = tag[:i], tag[i+1:]
	} else {
		el.Tag = tag
	}
	return el
}

// attrSlots returns room for n attributes: an empty slice of capacity n
// carved from the slab.
func (s *fscan) attrSlots(n int) []etree.Attr {
	if cap(s.slab)-len(s.slab) < n {
		s.slab = make([]etree.Attr, 0, slabSize(cap(s.slab), n))
	}
	start := len(s.slab)
	s.slab = s.slab[:start+n]
	return s.slab[start : start : start+n]
}

// element applies the namespace, attribute and content rules to a start
// tag whose attributes are in s.attrs.
func (s *fscan) element(name []byte) error {
	s.marks = append(s.marks, len(s.binds))
	for _, a := range s.attrs {
		if a.name[0] != 'x' {
			continue // not a namespace declaration
		}
		var prefix []byte
		switch {
		case bytes.Equal(a.name, []byte("xmlns")):
			prefix = []byte{}
		case bytes.HasPrefix(a.name, []byte("xmlns:")):
			prefix = a.name[6:]
			if len(a.value) == 0 || bytes.Equal(prefix, []byte("xmlns")) {
				return syntaxf("invalid namespace declaration %s", a.name)
			}
		default:
			continue
		}
		uri := attrValue(a.value)
		if bytes.Equal(prefix, []byte("xml")) && uri != NSXML {
			return syntaxf("invalid namespace declaration %s", a.name)
		}
		s.binds = append(s.binds, nsBinding{prefix: prefix, uri: uri})
		s.gen++
		if s.half != nil && s.half.second {
			s.half.noteBindings(len(s.binds))
		} else if err := s.limit("MaxNamespaces", s.fc.Limits.MaxNamespaces, len(s.binds)); err != nil {
			return err
		}
	}
	prefix, local := splitQName(name)
	h := s.half
	switch {
	case h != nil && h.second && !s.bound(prefix):
		// Bound, if at all, by an element before the split.
		if err := h.deferName(name, false); err != nil {
			return err
		}
	case h != nil && h.second:
		ns, ok := s.resolve(prefix, true)
		if !ok {
			return syntaxf("unbound prefix %q", prefix)
		}
		if s.fc.Forbidden != nil {
			h.noteElement(ns, local)
		}
	default:
		ns, ok := s.resolve(prefix, true)
		if !ok {
			return syntaxf("unbound prefix %q", prefix)
		}
		if s.fc.Forbidden != nil && s.fc.Forbidden(ns, local) {
			return syntaxf("forbidden element %s", name)
		}
	}
	// Each attribute's namespace is resolved once; duplicates are then
	// found by comparing (namespace, local name) keys, pairwise for a
	// few attributes and by sorting for more, so that an element of many
	// prefixed attributes costs time linear in its size.
	keys := s.keys[:0]
	for _, a := range s.attrs {
		ap, al := splitQName(a.name)
		k := attrKey{local: al}
		switch {
		case len(ap) == 0 && bytes.Equal(al, []byte("xmlns")):
			k.uri, k.local = declKey, nil
		case len(ap) == 0:
		case bytes.Equal(ap, []byte("xmlns")):
			k.uri = declKey
		case h != nil && h.second && !s.bound(ap):
			// In the second half of a split, whether the prefix is
			// bound may be known only after the join.
			if err := h.deferName(ap, true); err != nil {
				return err
			}
			k.pending, k.prefix = true, ap
		default:
			u, ok := s.resolve(ap, false)
			if !ok {
				return syntaxf("unbound prefix %q", ap)
			}
			k.uri, k.prefix = u, ap
		}
		keys = append(keys, k)
	}
	s.keys = keys
	if err := s.duplicates(); err != nil {
		return err
	}
	if s.fc.ID == nil {
		return nil
	}
	for i, a := range s.attrs {
		k := &keys[i]
		if len(k.local) != 2 || (string(k.local) != "Id" && string(k.local) != "id") {
			continue
		}
		isID := false
		switch {
		case k.prefix == nil && k.uri == "":
			isID = string(k.local) == "Id"
		case string(k.prefix) == "xml":
			isID = string(k.local) == "id"
		case string(k.local) == "Id":
			if k.pending {
				h.deferID(attrValue(a.value), k.prefix)
				continue
			}
			isID = k.uri == NSWSU
		}
		if isID {
			if h != nil {
				h.deferID(attrValue(a.value), nil)
			} else if err := s.fc.ID(attrValue(a.value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// attrKey is what identifies an attribute of a start tag: its namespace
// URI (declKey for declarations, whose local name is the prefix, nil for
// the default one) and local name. A pending key, in the second half of
// a split, has a prefix not yet resolved.
const declKey = "\x00" // no URI: attribute values hold no NUL

type attrKey struct {
	uri     string
	local   []byte
	prefix  []byte
	pending bool
}

func (k *attrKey) same(o *attrKey) bool {
	return k.uri == o.uri && bytes.Equal(k.local, o.local) && k.pending == o.pending && (!k.pending || bytes.Equal(k.prefix, o.prefix))
}

// duplicates refuses two attributes of s.keys with the same key. Where a
// pending prefix makes the answer depend on the join, the half gives way
// to a whole scan.
func (s *fscan) duplicates() error {
	keys := s.keys
	dup := func(i, j int) error {
		ki, kj := &keys[i], &keys[j]
		if ki.pending != kj.pending || (ki.pending && !bytes.Equal(ki.prefix, kj.prefix)) {
			if bytes.Equal(ki.local, kj.local) && ki.uri != declKey && kj.uri != declKey {
				return errNoSplit
			}
			return nil
		}
		if ki.same(kj) {
			return syntaxf("duplicate attribute %s", s.attrs[max(i, j)].name)
		}
		return nil
	}
	if len(keys) <= 8 {
		for i := range keys {
			for j := range i {
				if err := dup(i, j); err != nil {
					return err
				}
			}
		}
		return nil
	}
	order := s.order[:0]
	for i := range keys {
		order = append(order, i)
	}
	slices.SortFunc(order, func(i, j int) int {
		ki, kj := &keys[i], &keys[j]
		if c := bytes.Compare(ki.local, kj.local); c != 0 {
			return c
		}
		if ki.pending != kj.pending {
			if ki.pending {
				return 1
			}
			return -1
		}
		if c := strings.Compare(ki.uri, kj.uri); c != 0 {
			return c
		}
		if c := bytes.Compare(ki.prefix, kj.prefix); c != 0 && ki.pending {
			return c
		}
		return i - j
	})
	s.order = order
	for n := 1; n < len(order); n++ {
		if err := dup(order[n-1], order[n]); err != nil {
			return err
		}
	}
	// A pending key may match a resolved one anywhere in its group of
	// equal local names; sorting put the pending ones last.
	for n := 1; n < len(order); n++ {
		ki, kj := &keys[order[n-1]], &keys[order[n]]
		if !ki.pending && kj.pending && bytes.Equal(ki.local, kj.local) && ki.uri != declKey {
			return errNoSplit
		}
	}
	return nil
}

// bound reports whether prefix is bound by the scan's own declarations
// (or is xml, or empty for an attribute, which need none).
func (s *fscan) bound(prefix []byte) bool {
	_, found := declared(s.binds, prefix)
	return found || (len(prefix) == 3 && string(prefix) == "xml")
}

// count counts an element just opened and checks the limits that depend
// on where it is.
func (s *fscan) count() error {
	s.depth++
	s.elements++
	if len(s.stack) == 0 {
		if s.document && s.sawRoot {
			return syntaxf("more than one root element")
		}
		s.sawRoot = true
		s.info.TopElements++
	}
	if s.half != nil && s.half.second {
		// Depth and element count are known relative to the split only.
		if s.depth > s.half.maxDepth {
			s.half.maxDepth = s.depth
		}
		return nil
	}
	if err := s.limit("MaxDepth", s.fc.Limits.MaxDepth, s.depth); err != nil {
		return err
	}
	return s.limit("MaxElements", s.fc.Limits.MaxElements, s.elements)
}

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
)

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

// remember keeps the start tag that begins at start and ends at s.pos,
// just accepted, unless it declares a namespace, has an Id attribute, or
// has more attributes than are worth matching.
func (s *fscan) remember(start, name int, empty bool) {
	tag := s.d[start:s.pos]
	if len(tag) < 9 || len(tag) > 1<<16 || len(s.attrs) > 8 {
		return
	}
	for _, a := range s.attrs {
		// The attributes element() may report as Id values: Id, xml:id
		// and p:Id.
		prefix, local := splitQName(a.name)
		if bytes.HasPrefix(a.name, []byte("xmlns")) || string(local) == "Id" || (string(prefix) == "xml" && string(local) == "id") {
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

func (s *fscan) pop() {
	n := len(s.marks) - 1
	if s.marks[n] != len(s.binds) {
		s.gen++
	}
	s.binds = s.binds[:s.marks[n]]
	s.marks = s.marks[:n]
}

// resolve returns the URI bound to prefix. With no prefix it returns the
// default namespace for an element (possibly "") and "" for an attribute.
func (s *fscan) resolve(prefix []byte, element bool) (string, bool) {
	return resolveIn(s.binds, prefix, element)
}

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

// space skips white space and reports whether there was any.
func (s *fscan) space() bool {
	start := s.pos
	for s.pos < len(s.d) && isSpace(s.d[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

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
