package wssec

import (
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// plan reads the message's structure and decides, before any private-key
// operation, which EncryptedData each EncryptedKey decrypts and which ring
// keys may be tried. Every error it returns depends on the message alone.
func (p *process) plan() error {
	env := p.env
	secs := env.SecurityHeaders(p.pol.actor)
	if len(secs) > 1 {
		return malformed("more than one Security header for the same actor")
	}
	if len(secs) == 1 {
		p.security = secs[0]
	}
	ids, err := soap.IndexIDs(env.Root, env.Names)
	if err != nil {
		return soapError(err)
	}
	p.ids = ids
	p.keyByEl = make(map[*etree.Element]*keyPlan)
	p.dataByEl = make(map[*etree.Element]*dataPlan)
	if err := p.collect(); err != nil {
		return err
	}
	if err := p.headerEntries(); err != nil {
		return err
	}
	if err := p.linkKeys(); err != nil {
		return err
	}
	if err := p.checkKeys(); err != nil {
		return err
	}
	if err := p.decodeCipherValues(); err != nil {
		return err
	}
	if err := p.checkCutText(); err != nil {
		return err
	}
	p.dropDetachedKeys()
	if !p.pol.plaintextBody {
		encrypted := false
		for _, dp := range p.data {
			encrypted = encrypted || soap.Within(dp.target, p.env.Body)
		}
		if !encrypted {
			return ErrNotEncrypted
		}
	}
	return nil
}

// headerEntries reads the Security header's EncryptedKeys and
// ReferenceLists, in document order.
func (p *process) headerEntries() error {
	if p.security == nil {
		return nil
	}
	for c := range p.security.ChildElementsSeq() {
		switch {
		case xmlenc.IsEncryptedKey(p.env.Names, c):
			kp, err := p.keyPlanFor(c, true)
			if err != nil {
				return err
			}
			if err := p.attachHeaderKey(kp); err != nil {
				return err
			}
		case xmlenc.IsReferenceList(p.env.Names, c):
			refs, err := xmlenc.ParseReferenceList(c, p.enc)
			if err != nil {
				return soapError(err)
			}
			for _, uri := range refs {
				dp, err := p.resolveData(uri)
				if err != nil {
					return err
				}
				if dp.listed {
					return malformed("EncryptedData %q is referenced twice", uri)
				}
				dp.listed = true
			}
			p.lists = append(p.lists, c)
		}
	}
	return nil
}

// linkKeys gives each EncryptedData the key its KeyInfo names, or the
// key of the ReferenceList that lists it.
func (p *process) linkKeys() error {
	for _, dp := range p.data {
		ekEl, err := p.keyInfoKey(dp)
		if err != nil {
			return err
		}
		switch {
		case ekEl == nil && dp.key == nil:
			if err := p.sharedListKey(dp); err != nil {
				return err
			}
		case ekEl == nil:
		case dp.key != nil && dp.key.ek.Element != ekEl:
			return malformed("EncryptedData %q names two different keys", dp.ed.ID)
		case dp.key == nil:
			kp, err := p.keyPlanFor(ekEl, false)
			if err != nil {
				return err
			}
			dp.key = kp
			kp.data = append(kp.data, dp)
		}
	}
	return nil
}

// checkKeys checks every key that some EncryptedData of ours uses, and
// their number against MaxKeyOperations.
func (p *process) checkKeys() error {
	ops := 0
	for _, kp := range p.keys {
		if len(kp.data) == 0 {
			continue // not for any data of ours; never touched
		}
		if err := p.checkKey(kp); err != nil {
			return err
		}
		if err := p.capableCandidates(kp); err != nil {
			return err
		}
		ops++
	}
	if ops > p.pol.maxOps {
		return limitError("MaxKeyOperations", int64(p.pol.maxOps))
	}
	return nil
}

// decodeCipherValues decodes the CipherValues now: a broken encoding is
// the sender's doing and is reported as such, before any key is used.
func (p *process) decodeCipherValues() error {
	for i, dp := range p.data {
		if len(p.data) == 1 && p.decodeWithRoom(dp) {
			continue
		}
		var ct []byte
		var err error
		if i == 0 {
			// The first into the call's scratch, which keeps the
			// buffer for the next call: the plaintext is copied out
			// of it into the result.
			ct, err = xmlenc.DecodeCipherValueInto(p.sc.ct, dp.ed.CipherValue, p.enc)
			if err == nil && cap(ct) <= maxScratchOut {
				p.sc.ct = ct[:0]
			}
		} else {
			ct, err = xmlenc.DecodeCipherValue(dp.ed.CipherValue, p.enc)
		}
		if err != nil {
			return soapError(err)
		}
		dp.ct = ct
	}
	return nil
}

// checkCutText checks the text that was cut out and goes back into the
// result unchanged: the parser has not seen it.
func (p *process) checkCutText() error {
	for k, u := range p.cutUsed {
		if !u {
			if err := xmlscan.CheckText(p.skel.Raw(k)); err != nil {
				return soapError(err)
			}
		}
	}
	return nil
}

// collect finds every EncryptedData of the Header and Body that is ours to
// decrypt, in document order, and counts EncryptedKeys against the limits.
// Data inside a Security header for another actor is left alone.
func (p *process) collect() error {
	var eks int
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		if p.env.Names.Is(el, soap.NSWSSE, "Security") && el.Parent() == p.env.Header && el != p.security {
			return nil
		}
		switch {
		case xmlenc.IsEncryptedKey(p.env.Names, el):
			eks++
			if eks > p.pol.maxEK {
				return limitError("MaxEncryptedKeys", int64(p.pol.maxEK))
			}
		case xmlenc.IsEncryptedData(p.env.Names, el):
			if len(p.data) == p.pol.maxED {
				return limitError("MaxEncryptedData", int64(p.pol.maxED))
			}
			dp, err := p.dataPlanFor(el)
			if err != nil {
				return err
			}
			p.data = append(p.data, dp)
			p.dataByEl[el] = dp
			// An EncryptedKey may sit in the KeyInfo; nothing else in
			// an EncryptedData holds data to decrypt.
			if dp.ed.KeyInfo != nil {
				for c := range dp.ed.KeyInfo.ChildElementsSeq() {
					if xmlenc.IsEncryptedKey(p.env.Names, c) {
						if err := walk(c); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}
		for _, t := range el.Child {
			if c, ok := t.(*etree.Element); ok {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, part := range []*etree.Element{p.env.Header, p.env.Body} {
		if part == nil {
			continue
		}
		if err := walk(part); err != nil {
			return err
		}
	}
	return nil
}

func (p *process) dataPlanFor(el *etree.Element) (*dataPlan, error) {
	ed, err := xmlenc.ParseEncryptedData(el, p.enc)
	if err != nil {
		return nil, soapError(err)
	}
	dp := &dataPlan{ed: ed, target: el}
	switch ed.Type {
	case xmlenc.TypeElement:
		dp.element = true
	case xmlenc.TypeContent, "":
	default:
		return nil, malformed("EncryptedData Type %q is not supported", ed.Type)
	}
	parent := el.Parent()
	if p.env.Names.Is(parent, soap.NSWSSE11, "EncryptedHeader") {
		if parent.Parent() != p.env.Header || !dp.element {
			return nil, malformed("EncryptedHeader must be a header block holding an Element")
		}
		dp.target = parent
	}
	if el == p.env.Body || parent == p.env.Root || (parent == p.env.Header && !dp.element) {
		return nil, malformed("EncryptedData in a place it cannot be")
	}
	return dp, nil
}

// resolveData resolves a DataReference URI to a planned EncryptedData,
// directly or through its EncryptedHeader.
func (p *process) resolveData(uri string) (*dataPlan, error) {
	el, ok := p.ids.Resolve(strings.TrimSpace(uri))
	if !ok {
		return nil, malformed("DataReference %q does not resolve", uri)
	}
	if p.env.Names.Is(el, soap.NSWSSE11, "EncryptedHeader") {
		for c := range el.ChildElementsSeq() {
			if xmlenc.IsEncryptedData(p.env.Names, c) {
				el = c
				break
			}
		}
	}
	dp, ok := p.dataByEl[el]
	if !ok {
		return nil, malformed("DataReference %q is not an EncryptedData of the Header or Body", uri)
	}
	return dp, nil
}

func (p *process) keyPlanFor(el *etree.Element, inHeader bool) (*keyPlan, error) {
	if kp, ok := p.keyByEl[el]; ok {
		return kp, nil
	}
	ek, err := xmlenc.ParseEncryptedKey(el, p.enc)
	if err != nil {
		return nil, soapError(err)
	}
	kp := &keyPlan{ek: ek, inHeader: inHeader, alg: ek.Method.Algorithm, pos: len(p.keys) + 1}
	p.keyByEl[el] = kp
	p.keys = append(p.keys, kp)
	return kp, nil
}

// checkKey checks a key's algorithms against the policy and finds the ring
// keys to try.
func (p *process) checkKey(kp *keyPlan) error {
	if r := kp.ek.Recipient; r != "" && p.pol.recipient != "" && r != p.pol.recipient {
		return p.noMatch(kp, nil, "the EncryptedKey is for another recipient")
	}
	if !p.pol.keyTransports[kp.alg] {
		return algorithmError(kp.alg)
	}
	kp.dataAlg = kp.data[0].ed.Method.Algorithm
	for _, dp := range kp.data {
		alg := dp.ed.Method.Algorithm
		if !p.pol.dataEncryptions[alg] {
			return algorithmError(alg)
		}
		// One key for two algorithms would let a weak one (CBC) serve as
		// an oracle against data under the strong one (GCM): refused.
		if alg != kp.dataAlg {
			return algorithmRefused(alg, "one EncryptedKey used with two data algorithms")
		}
	}
	kp.cipher, _ = xmlenc.LookupCipher(kp.dataAlg)
	switch kp.alg {
	case xmlenc.RSAOAEPMGF1P, xmlenc.RSAOAEP:
		o, err := xmlenc.ResolveOAEP(kp.alg, kp.ek.Method.Digest, kp.ek.Method.MGF, kp.ek.Method.OAEPParams)
		if err != nil {
			return soapError(err)
		}
		kp.oaep = o
	}
	refs, err := keyRefs(p.env.Names, kp.ek.KeyInfo, p.ids, p.security)
	if err != nil {
		return err
	}
	if len(refs) > 0 {
		c, err := p.snap.candidates(refs)
		if err != nil {
			return err
		}
		if len(c) == 0 {
			return p.noMatch(kp, refs, "no ring key fits the key references")
		}
		kp.cands = c
		return nil
	}
	// No usable reference. Trial decryption is only meaningful with OAEP,
	// whose failure is detectable; see rsa15Candidates for PKCS#1 v1.5.
	switch {
	case len(p.snap.entries) == 0:
		return p.noMatch(kp, nil, "the ring is empty")
	case kp.alg == xmlenc.RSA15:
		return p.rsa15Candidates(kp)
	case !p.pol.trial:
		return p.noMatch(kp, nil, "the EncryptedKey has no usable key reference and the policy does not allow trying each ring key")
	default:
		kp.cands = p.snap.entries[:min(len(p.snap.entries), maxTrialKeys)]
	}
	return nil
}

func algorithmError(uri string) error {
	if _, ok := xmlenc.LookupCipher(uri); ok {
		return algorithmRefused(uri, "not allowed by policy")
	}
	switch uri {
	case xmlenc.RSAOAEPMGF1P, xmlenc.RSAOAEP, xmlenc.RSA15:
		return algorithmRefused(uri, "not allowed by policy")
	}
	return algorithmRefused(uri, "not supported")
}

// inPlaceMin is the CipherValue length from which decodeWithRoom applies.
// Below it the room, twice the rest of the envelope, costs more than the
// copy of the plaintext it saves.
const inPlaceMin = 64 << 10

// decodeWithRoom decodes a single large EncryptedData's cut CipherValue
// into a buffer with room for the rest of the envelope around it, so that
// the plaintext, decrypted in place, need not be copied into the output.
// It reports false, changing nothing, where that does not apply.
func (p *process) decodeWithRoom(dp *dataPlan) bool {
	if len(dp.ed.CipherValue.Child) != 1 {
		return false
	}
	c, ok := dp.ed.CipherValue.Child[0].(*etree.CharData)
	if !ok {
		return false
	}
	raw, k, ok := p.skel.Lookup(c.Data)
	if !ok || len(raw) < inPlaceMin {
		return false
	}
	room := len(p.skel.Data) + 1024
	buf, ct, err := xmlenc.DecodeBase64Room(raw, room, room)
	if err != nil {
		return false // the ordinary path reports it
	}
	p.cutUsed[k] = true
	dp.buf, dp.head, dp.ct = buf, room, ct
	return true
}

// noMatch builds the [*KeyError] for [ErrNoMatchingKey] for kp. It reads only the
// message's structure and the ring snapshot: nothing a key operation
// decided.
func (p *process) noMatch(kp *keyPlan, refs []keyRef, reason string) error {
	e := &KeyError{
		Err:       ErrNoMatchingKey,
		KeyID:     kp.ek.ID,
		Position:  kp.pos,
		InHeader:  kp.inHeader,
		Recipient: kp.ek.Recipient,
		Reason:    reason,
	}
	for _, dp := range kp.data {
		e.DataIDs = append(e.DataIDs, dp.ed.ID)
	}
	for _, r := range refs {
		e.References = append(e.References, r.public())
	}
	for _, re := range p.snap.entries {
		e.Ring = append(e.Ring, re.fp)
	}
	return e
}
