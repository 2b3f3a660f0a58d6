package xmlscan

import (
	"bytes"
	"slices"
	"strings"
)

// element applies the namespace, attribute and content rules to a start
// tag whose attributes are in s.attrs.
func (s *fscan) element(name []byte) error {
	s.marks = append(s.marks, len(s.binds))
	if err := s.declare(); err != nil {
		return err
	}
	if err := s.elementName(name); err != nil {
		return err
	}
	if err := s.attrKeys(); err != nil {
		return err
	}
	if err := s.duplicates(); err != nil {
		return err
	}
	return s.reportIDs()
}

// declare puts the namespace declarations among s.attrs in scope.
func (s *fscan) declare() error {
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
		uri := s.attrValue(a)
		// Namespaces in XML 1.0, 3: xml is bound to its namespace and
		// no other prefix is; the xmlns namespace is never declared.
		// So a name in the XML namespace is always xml:, and the Id
		// rule can go by namespace URI alone.
		if (string(prefix) == "xml") != (uri == NSXML) || uri == nsXMLNS {
			return syntaxf("invalid namespace declaration %s", a.name)
		}
		s.binds = append(s.binds, nsBinding{prefix: prefix, uri: uri, id: -1})
		s.gen++
		if s.half != nil && s.half.second {
			s.half.noteBindings(len(s.binds))
		} else if err := s.limit("MaxNamespaces", s.fc.Limits.MaxNamespaces, len(s.binds)); err != nil {
			return err
		}
	}
	return nil
}

// elementName resolves the element's name and asks Forbidden about it,
// or, in the second half of a split, notes what the join must decide.
func (s *fscan) elementName(name []byte) error {
	prefix, local := splitQName(name)
	h := s.half
	if h != nil && h.second && !s.bound(prefix) {
		// Bound, if at all, by an element before the split.
		return h.deferName(name, false)
	}
	ns, ok := s.resolve(prefix, true)
	if !ok {
		return syntaxf("unbound prefix %q", prefix)
	}
	s.elementURI = ns
	switch {
	case s.fc.Forbidden == nil:
	case h != nil && h.second:
		h.noteElement(ns, local)
	case s.fc.Forbidden(ns, local):
		return syntaxf("forbidden element %s", name)
	}
	return nil
}

// attrKeys resolves the namespace of each attribute once, into s.keys;
// duplicates are then found by comparing (namespace, local name) keys,
// pairwise for a few attributes and by sorting for more, so that an
// element of many prefixed attributes costs time linear in its size.
func (s *fscan) attrKeys() error {
	h := s.half
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
	return nil
}

// reportIDs passes the values of the element's Id attributes (see [IsID])
// to the ID callback; a half keeps them for the join.
func (s *fscan) reportIDs() error {
	if s.fc.ID == nil {
		return nil
	}
	h := s.half
	for i, a := range s.attrs {
		k := &s.keys[i]
		if len(k.local) != 2 || k.uri == declKey {
			continue // IsID holds for two-letter names only
		}
		switch {
		case k.pending:
			h.deferID(s.attrValue(a), k.prefix, string(k.local))
		case !IsID(k.uri, string(k.local)):
		case h != nil:
			h.deferID(s.attrValue(a), nil, "")
		default:
			if err := s.fc.ID(s.attrValue(a)); err != nil {
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
	if len(keys) <= 8 {
		for i := range keys {
			for j := range i {
				if err := s.duplicate(i, j); err != nil {
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
	slices.SortFunc(order, func(i, j int) int { return compareKeys(&keys[i], &keys[j], i, j) })
	s.order = order
	for n := 1; n < len(order); n++ {
		if err := s.duplicate(order[n-1], order[n]); err != nil {
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

// duplicate refuses attributes i and j if they have the same key, and
// gives way to a whole scan if that depends on the join.
func (s *fscan) duplicate(i, j int) error {
	ki, kj := &s.keys[i], &s.keys[j]
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

// compareKeys orders the keys of attributes i and j by local name, then
// resolved before pending, then namespace, then (pending) prefix, then
// position, so that equal keys are neighbours.
func compareKeys(ki, kj *attrKey, i, j int) int {
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
}

// bound reports whether prefix is bound by the scan's own declarations
// (or is xml, or empty for an attribute, which need none).
func (s *fscan) bound(prefix []byte) bool {
	_, found := declared(s.binds, prefix)
	return found || (len(prefix) == 3 && string(prefix) == "xml")
}
