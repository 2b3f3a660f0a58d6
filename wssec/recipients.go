package wssec

import (
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// typeEncryptedKey is the ds:RetrievalMethod Type of a reference to an
// xenc:EncryptedKey (XML Encryption 1.0, 3.5.1).
const typeEncryptedKey = "http://www.w3.org/2001/04/xmlenc#EncryptedKey"

// A sender that addresses several parties encrypts the data key once per
// recipient: several EncryptedKeys in one EncryptedData's KeyInfo,
// several in the Security header whose ReferenceLists name the same
// EncryptedData, or several without ReferenceLists sharing a standalone
// one. Exactly one of them is used, chosen before any
// private-key operation from what the message says alone, so that the
// number of key operations stays that of one recipient; the others are
// for someone else and are never touched. The choice, best first:
//
//  1. an EncryptedKey whose reference names a ring key, the one naming
//     the key nearest the front of the ring (the current key first);
//  2. one without a usable reference (tried like any such key);
//  3. one whose reference names no ring key, or whose Recipient is
//     another party;
//  4. one whose reference is broken.
//
// Ties go to the first in document order. If the chosen key is of rank 3
// or 4 the message gets the error that key alone would get
// (ErrNoMatchingKey, ErrMalformed…).

// recipientRank orders EncryptedKeys by how well they fit this ring; lower
// is better.
type recipientRank struct {
	class int // 1 to 4, as listed above
	entry int // ring index of the best key named, for class 1
}

func (a recipientRank) less(b recipientRank) bool {
	return a.class < b.class || (a.class == b.class && a.entry < b.entry)
}

// rankRecipient ranks kp's EncryptedKey for this ring.
func (p *process) rankRecipient(kp *keyPlan) recipientRank {
	if r := kp.ek.Recipient; r != "" && p.pol.recipient != "" && r != p.pol.recipient {
		return recipientRank{class: 3}
	}
	refs, err := keyRefs(p.env.Names, kp.ek.KeyInfo, p.ids, p.security)
	if err != nil {
		return recipientRank{class: 4}
	}
	if len(refs) == 0 {
		return recipientRank{class: 2}
	}
	cands, err := p.snap.candidates(refs)
	if err != nil {
		return recipientRank{class: 4}
	}
	if len(cands) == 0 {
		return recipientRank{class: 3}
	}
	return recipientRank{class: 1, entry: slices.Index(p.snap.entries, cands[0])}
}

// chooseRecipient returns the EncryptedKey of kps to use; see above.
func (p *process) chooseRecipient(kps []*keyPlan) *keyPlan {
	best, bestRank := kps[0], p.rankRecipient(kps[0])
	for _, kp := range kps[1:] {
		if r := p.rankRecipient(kp); r.less(bestRank) {
			best, bestRank = kp, r
		}
	}
	return best
}

// attachHeaderKey gives kp, an EncryptedKey of the Security header, the
// EncryptedData its ReferenceList names. If an earlier EncryptedKey names
// them already, the two are keys for different recipients and must name
// exactly the same data; one of them keeps it (see chooseRecipient).
func (p *process) attachHeaderKey(kp *keyPlan) error {
	var dps []*dataPlan
	var rival *keyPlan
	for _, uri := range kp.ek.DataReferences {
		dp, err := p.resolveData(uri)
		if err != nil {
			return err
		}
		if slices.Contains(dps, dp) || (dp.key != nil && rival != nil && dp.key != rival) {
			return malformed("EncryptedData %q is referenced twice", uri)
		}
		if dp.key != nil {
			rival = dp.key
		}
		dps = append(dps, dp)
	}
	if rival == nil {
		for _, dp := range dps {
			dp.key = kp
		}
		kp.data = append(kp.data, dps...)
		return nil
	}
	if len(dps) != len(rival.data) {
		return malformed("EncryptedKeys name overlapping but different EncryptedData")
	}
	for _, dp := range dps {
		if dp.key != rival {
			return malformed("EncryptedKeys name overlapping but different EncryptedData")
		}
	}
	if p.chooseRecipient([]*keyPlan{rival, kp}) == rival {
		return nil
	}
	for _, dp := range rival.data {
		dp.key = kp
	}
	kp.data, rival.data = rival.data, nil
	return nil
}

// sharedListKey gives dp, an EncryptedData that names no EncryptedKey,
// its key in the one remaining shape: a sender addressing several parties
// puts one EncryptedKey per recipient in the Security header, none with a
// ReferenceList of its own, and a standalone ReferenceList that lists dp.
// Those EncryptedKeys are the candidates; chooseRecipient picks one, the
// same for every such EncryptedData.
func (p *process) sharedListKey(dp *dataPlan) error {
	var kps []*keyPlan
	for _, kp := range p.keys {
		if kp.inHeader && len(kp.ek.DataReferences) == 0 {
			kps = append(kps, kp)
		}
	}
	if !dp.listed || len(kps) == 0 {
		return malformed("EncryptedData %q has no EncryptedKey", dp.ed.ID)
	}
	kp := p.chooseRecipient(kps)
	dp.key = kp
	kp.data = append(kp.data, dp)
	return nil
}

// keyInfoKey returns the EncryptedKey element an EncryptedData's KeyInfo
// carries or references, or nil. Where it carries or references several
// (one per recipient), it returns the one chooseRecipient picks.
func (p *process) keyInfoKey(dp *dataPlan) (*etree.Element, error) {
	ki := dp.ed.KeyInfo
	if ki == nil {
		return nil, nil
	}
	var eks []*etree.Element
	var foreign error
	for c := range ki.ChildElementsSeq() {
		el, err := p.keyInfoChildKey(c)
		switch {
		case err == errForeignKey: //nolint:errorlint // our own marker, never wrapped
			// For someone else; an error only if nothing else is ours.
			foreign = err
		case err != nil:
			return nil, err
		case el != nil && !slices.Contains(eks, el):
			eks = append(eks, el)
		}
	}
	switch len(eks) {
	case 0:
		return nil, foreign
	case 1:
		return eks[0], nil
	}
	kps := make([]*keyPlan, len(eks))
	for i, el := range eks {
		kp, err := p.keyPlanFor(el, el.Parent() == p.security && p.security != nil)
		if err != nil {
			return nil, err
		}
		kps[i] = kp
	}
	return p.chooseRecipient(kps).ek.Element, nil
}

// keyInfoChildKey returns the EncryptedKey that c, a child of an
// EncryptedData's KeyInfo, is or references, or nil if it names none.
//
// A wsse:SecurityTokenReference may reference an EncryptedKey of the
// Security header only. A ds:RetrievalMethod may also reference one
// elsewhere in the Header or Body (the XML Encryption interop suites put
// it next to the EncryptedData), under the same rules as any reference:
// the Id is unique in the message, and the target is neither inside
// another actor's Security header nor inside anything but the KeyInfo of
// an EncryptedData of ours.
func (p *process) keyInfoChildKey(c *etree.Element) (*etree.Element, error) {
	var uri string
	retrieval := false
	switch {
	case xmlenc.IsEncryptedKey(p.env.Names, c):
		return c, nil
	case p.env.Names.Is(c, soap.NSDS, "RetrievalMethod"):
		uri, retrieval = c.SelectAttrValue("URI", ""), true
	case p.env.Names.Is(c, soap.NSWSSE, "SecurityTokenReference"):
		for r := range c.ChildElementsSeq() {
			if p.env.Names.Is(r, soap.NSWSSE, "Reference") {
				uri = r.SelectAttrValue("URI", "")
			}
		}
	default:
		return nil, nil
	}
	if uri == "" {
		return nil, nil
	}
	el, ok := p.ids.Resolve(strings.TrimSpace(uri))
	if !ok {
		return nil, malformed("KeyInfo reference %q does not resolve", uri)
	}
	if !xmlenc.IsEncryptedKey(p.env.Names, el) {
		if retrieval && strings.TrimSpace(c.SelectAttrValue("Type", "")) == typeEncryptedKey {
			return nil, malformed("RetrievalMethod %q of Type EncryptedKey names something else", uri)
		}
		return nil, nil // a reference to a token, handled by the key's KeyInfo
	}
	if p.security != nil && el.Parent() == p.security {
		return el, nil
	}
	if par := el.Parent(); p.env.Names.Is(par, soap.NSWSSE, "Security") && par.Parent() == p.env.Header {
		// An EncryptedKey in another actor's Security header is for
		// someone else: not ours to use.
		return nil, errForeignKey
	}
	if retrieval && p.detachedKey(el) {
		return el, nil
	}
	return nil, malformed("KeyInfo reference %q is not an EncryptedKey of the Security header", uri)
}

// detachedKey reports whether el, an EncryptedKey outside the Security
// header, is one a RetrievalMethod may use: in the Header or Body, and
// inside no EncryptedKey, Security header or EncryptedData, except as a
// child of the KeyInfo of an EncryptedData of ours.
func (p *process) detachedKey(el *etree.Element) bool {
	for a := el.Parent(); a != nil; a = a.Parent() {
		switch {
		case a == p.env.Header || a == p.env.Body:
			return true
		case xmlenc.IsEncryptedData(p.env.Names, a):
			_, ours := p.dataByEl[a]
			return ours && el.Parent().Parent() == a && p.env.Names.Is(el.Parent(), soap.NSDS, "KeyInfo")
		case xmlenc.IsEncryptedKey(p.env.Names, a), p.env.Names.Is(a, soap.NSWSSE, "Security"):
			return false
		}
	}
	return false
}

// dropDetachedKeys removes from the tree the EncryptedKeys outside the
// Security header that a RetrievalMethod led to and that decrypt
// something: like the header's, they are consumed by the decryption and
// must not reach the caller as content of the Header or Body.
func (p *process) dropDetachedKeys() {
	for _, kp := range p.keys {
		if kp.inHeader || len(kp.data) == 0 {
			continue
		}
		el := kp.ek.Element
		par := el.Parent()
		if par == nil || (p.env.Names.Is(par, soap.NSDS, "KeyInfo") && xmlenc.IsEncryptedData(p.env.Names, par.Parent())) {
			continue // goes with the EncryptedData it is in
		}
		p.ids.Remove(el, p.env.Names)
		par.RemoveChild(el)
	}
}

// rsa15Candidates decides which ring key an RSA-1_5 EncryptedKey without a
// usable key reference is decrypted with. PKCS#1 v1.5 decryption with
// implicit rejection never fails: a wrong key yields a random data key,
// and only the data decryption after it can tell. Trying the keys of the
// ring in turn would therefore make the number of private-key operations
// depend on whether the plaintext came out well-formed, an oracle on CBC
// data; trying only the current key would silently fail every message to
// a retained key during a renewal. So: a ring of one key uses that key; a
// ring of several refuses the message with ErrNoMatchingKey (a
// [*KeyError] that says why) before any key operation. Senders that use
// RSA-1_5 must name the key, or switch to RSA-OAEP.
func (p *process) rsa15Candidates(kp *keyPlan) error {
	if len(p.snap.entries) != 1 {
		return p.noMatch(kp, nil, "an RSA-1_5 EncryptedKey without a key reference cannot be matched to one of several ring keys")
	}
	kp.cands = p.snap.entries[:1]
	return nil
}

// errForeignKey marks a KeyInfo reference to an EncryptedKey in another
// actor's Security header.
var errForeignKey = &KeyError{Reason: "the EncryptedKey is addressed to another actor", Err: ErrNoMatchingKey}
