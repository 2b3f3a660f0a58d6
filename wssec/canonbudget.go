package wssec

import (
	"crypto"
	"errors"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/c14n"
)

// canonBudget bounds the bytes canonicalized for one message, SignedInfo
// and references of all signatures together, and apart from them the
// bytes read to reach the elements canonicalized from the message's bytes
// (the same bound: reading costs about what writing does).
type canonBudget struct {
	left, max int64
	skipLeft  int64
}

// newCanonBudget allows three times the message plus 256 KiB: enough for
// the Body and, nested in it, its EncryptedData signed separately (as
// WSS4J does), with room for exclusive canonical form writing an end tag
// or a namespace declaration where the message had none; a message that
// asks for more digests the same content again and again.
func newCanonBudget(messageBytes int) *canonBudget {
	n := 3*int64(messageBytes) + 256<<10
	return &canonBudget{left: n, max: n, skipLeft: n}
}

// digest hashes el, with the namespaces in scope where it stands, in the
// given canonical form, reading the tree as it is (no copy, no limit on
// the number of elements) and streaming the canonical form into the hash
// (it is never held in memory), and charges what it wrote to the budget:
// output beyond what the budget has left stops the walk with a
// limit error. Any other error means el cannot be canonicalized. An
// unknown alg means Canonical XML 1.0, as c14nOf admits no other. The
// tree is not modified.
func (b *canonBudget) digest(hash crypto.Hash, el *etree.Element, alg, prefixes string) ([]byte, error) {
	m, ok := c14n.MethodFor(alg)
	if !ok {
		m = c14n.Method{}
	}
	opt := c14n.Options{Method: m, InclusivePrefixes: prefixes}
	if b != nil {
		// A canonical element is never empty, so nothing fits in none.
		if b.left <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		opt.MaxBytes = b.left
	}
	h := hash.New()
	n, err := c14n.Canonicalize(h, el, opt)
	if errors.Is(err, c14n.ErrTooLarge) {
		b.left = 0
		return nil, limitError("canonicalized bytes", b.max)
	}
	if err != nil {
		return nil, err
	}
	if b != nil {
		b.left -= n
	}
	return h.Sum(nil), nil
}

// digestBytes is digest for the element el of the tree read from src,
// canonicalized from src in the exclusive method m. What it reads of src
// before el is charged to the budget with what it writes.
func (b *canonBudget) digestBytes(hash crypto.Hash, src []byte, n int, el *etree.Element, prefixes string, m c14n.Method) ([]byte, error) {
	opt := c14n.Options{Method: m, InclusivePrefixes: prefixes}
	if b != nil {
		if b.left <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		opt.MaxBytes = b.left
	}
	qname := qualifiedName(el)
	h := hash.New()
	var maxSkip int64
	if b != nil {
		if b.skipLeft <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		maxSkip = b.skipLeft
	}
	written, skipped, err := c14n.CanonicalizeBytes(h, src, n, qname, opt, maxSkip)
	if errors.Is(err, c14n.ErrTooLarge) {
		b.left = 0
		return nil, limitError("canonicalized bytes", b.max)
	}
	if err != nil {
		return nil, err
	}
	if b != nil {
		b.left -= written
		b.skipLeft -= skipped
	}
	return h.Sum(nil), nil
}

// qualifiedName returns el's name as written, prefix:local.
func qualifiedName(el *etree.Element) string {
	if el.Space != "" {
		return el.Space + ":" + el.Tag
	}
	return el.Tag
}
