package wssec

import (
	"bytes"
	"errors"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// errFailed is the internal cause for every failure after the first
// private-key operation; Decrypt turns all of them into
// ErrDecryptionFailed.
var errFailed = errors.New("wssec: internal decryption failure")

// Internal causes that contentError describes.
var (
	errForbidden   = errors.New("wssec: forbidden element in decrypted content")
	errDuplicateID = errors.New("wssec: duplicate Id in decrypted content")
)

// execute decrypts the planned data and returns the decrypted envelope.
// Every error it returns is reported as ErrDecryptionFailed.
//
// Every key is unwrapped before any data is decrypted, and a candidate key
// is given up only when its unwrap fails (or, for AES-GCM, when the tag
// does not verify): those depend on the wrapped key and the ciphertext
// alone. A failure found in CBC plaintext (padding, XML) fails the call,
// but only once every part was decrypted, so neither the number of
// private-key operations nor the data decrypted depends on the plaintext. An RSA-1_5 unwrap never fails (implicit rejection), so with
// CBC data only its first candidate is ever used.
func (p *process) execute() ([]byte, error) {
	ops := 0
	ceks := make([][]byte, len(p.keys))
	next := make([]int, len(p.keys)) // the candidate to try after the one unwrapped
	defer func() {
		for _, k := range ceks {
			clear(k)
		}
	}()
	unwrap := func(i int) bool {
		kp := p.keys[i]
		for next[i] < len(kp.cands) {
			if ops == p.pol.maxOps {
				return false
			}
			ops++
			e := kp.cands[next[i]]
			next[i]++
			if cek, ok := p.unwrap(kp, e); ok {
				clear(ceks[i])
				ceks[i] = cek
				return true
			}
		}
		return false
	}
	for i, kp := range p.keys {
		if len(kp.data) == 0 {
			continue
		}
		if !unwrap(i) {
			return nil, errFailed
		}
	}
	// A CBC failure does not end the loop: the remaining data is
	// decrypted all the same, so that the work done does not tell which
	// part failed, or whether one did.
	failed := false
	for i, kp := range p.keys {
		if len(kp.data) == 0 {
			continue
		}
		for {
			e := kp.cands[next[i]-1]
			// Only GCM may move on to another candidate, and only on
			// data it decrypted into a copy.
			last := !kp.cipher.GCM || next[i] == len(kp.cands)
			ok, retry := p.decryptAll(kp, ceks[i], last)
			if ok {
				p.usedEntries = append(p.usedEntries, e)
				p.noteUsed(e)
				break
			}
			if p.contentErr != nil {
				return nil, p.contentErr
			}
			if !retry {
				failed = true
				break
			}
			if !unwrap(i) {
				return nil, errFailed // depends on the wrapped keys alone
			}
		}
	}
	if failed {
		return nil, errFailed
	}
	return p.splice()
}

func (p *process) noteUsed(e *ringEntry) {
	for _, c := range p.used {
		if c == e.key.Certificate {
			return
		}
	}
	p.used = append(p.used, e.key.Certificate)
}

// unwrap decrypts kp's content-encryption key with ring entry e. It
// reports false when the key transport fails; with RSA-1_5 (implicit
// rejection) it never does.
func (p *process) unwrap(kp *keyPlan, e *ringEntry) ([]byte, bool) {
	var cek []byte
	var err error
	switch kp.alg {
	case xmlenc.RSA15:
		cek, err = decryptKeyPKCS1v15(e.key.Decrypter, p.pol.rand, kp.ek.CipherValue, kp.cipher.KeySize)
	default:
		cek, err = xmlenc.DecryptKeyOAEP(e.key.Decrypter, p.pol.rand, kp.oaep, kp.ek.CipherValue, kp.cipher.KeySize)
	}
	return cek, err == nil
}

// decryptAll decrypts and checks all of kp's data with cek. The ciphertext
// is decrypted in place when last is set; otherwise copies are used. It
// reports retry when a GCM tag did not verify, which says the key was
// wrong and nothing about the plaintext. With CBC it decrypts every part
// even after one failed.
func (p *process) decryptAll(kp *keyPlan, cek []byte, last bool) (ok, retry bool) {
	elements := p.elements
	defer func() {
		if !ok {
			p.elements = elements
		}
	}()
	failed := false
	for _, dp := range kp.data {
		ct := dp.ct
		if !last {
			ct = append([]byte(nil), ct...)
		}
		pt, err := xmlenc.DecryptData(kp.dataAlg, cek, ct)
		if err != nil && kp.cipher.GCM {
			return false, true
		}
		if err != nil || len(pt) > len(dp.ct) { // the latter impossible for these ciphers; checked anyway
			failed = true
			continue // CBC: the other parts are decrypted all the same
		}
		if err := p.checkPlaintext(dp, pt); err != nil {
			if kp.cipher.GCM {
				p.contentErr = contentError(err)
				return false, false
			}
			failed = true
			continue
		}
		dp.plain, dp.inPlace = pt, last
	}
	return !failed, false
}

// checkPlaintext checks decrypted octets in the namespace context of the
// element they replace: Content-type plaintext is a fragment that uses
// prefixes declared on its ancestors and is not a document on its own. It
// is checked, not parsed into a tree: the bytes go into the result as they
// are.
func (p *process) checkPlaintext(dp *dataPlan, pt []byte) error {
	parent := dp.target.Parent()
	lim := p.pol.limits
	lim.DepthOffset = soap.Depth(parent)
	lim.ElementsOffset = p.elements
	dp.ids = dp.ids[:0]
	sawForbidden := false
	info, err := xmlscan.ScanFragment(pt, xmlscan.FragmentCheck{
		Context: p.env.Names.InScope(parent),
		Limits:  lim,
		Scratch: &p.sc.scan,
		Forbidden: func(ns string, local []byte) bool {
			sawForbidden = sawForbidden || forbidden(ns, local)
			return sawForbidden
		},
		ID: func(id string) error {
			if _, dup := p.ids[id]; dup && !soap.Within(p.ids[id], dp.target) {
				return errDuplicateID
			}
			dp.ids = append(dp.ids, id)
			return nil
		},
	})
	if sawForbidden {
		return errForbidden
	}
	if err != nil {
		return err
	}
	p.elements += info.Elements
	dp.elements = info.Elements
	if dp.element && (info.TopElements != 1 || info.TopText) {
		return malformed("decrypted Element content is not exactly one element")
	}
	return nil
}

// contentError describes decrypted content that cannot go into the
// message. It is reported only for authenticated encryption (GCM): the tag
// proves that whoever chose the key wrote this plaintext, so describing it
// tells nobody anything new. For CBC the same failures stay
// ErrDecryptionFailed, since there they could be an oracle on a captured
// ciphertext. The description names no plaintext.
func contentError(err error) error {
	var le *xmlscan.LimitError
	switch {
	case errors.As(err, &le):
		return limitError(le.Limit, int64(le.Max))
	case isMalformed(err):
		return err
	case errors.Is(err, errForbidden):
		return malformed("decrypted content holds encrypted data, a Security header or SOAP envelope elements")
	case errors.Is(err, errDuplicateID):
		return malformed("decrypted content repeats an Id of the message")
	}
	return malformed("decrypted content is not well-formed XML in its place")
}

// forbidden reports elements that must never come out of a decryption:
// more encrypted data (no second round of processing), a Security header,
// or SOAP envelope structure.
func forbidden(ns string, local []byte) bool {
	switch ns {
	case soap.NSXENC:
		return string(local) == "EncryptedData" || string(local) == "EncryptedKey"
	case soap.NSSOAP11, soap.NSSOAP12:
		return string(local) == "Envelope" || string(local) == "Header" || string(local) == "Body"
	case soap.NSWSSE:
		return string(local) == "Security"
	case soap.NSWSSE11:
		return string(local) == "EncryptedHeader"
	}
	return false
}

// splice puts each plaintext where its EncryptedData (or EncryptedHeader)
// was, keeps Ids unique across the result, removes the processed
// EncryptedKeys and ReferenceLists, and serializes the envelope. The tree
// holds only markers; the plaintext goes straight into the output bytes.
func (p *process) splice() ([]byte, error) {
	extra := make([][]byte, len(p.data))
	for _, dp := range p.data {
		p.ids.Remove(dp.target, p.env.Names)
	}
	for i, dp := range p.data {
		for _, id := range dp.ids {
			if _, dup := p.ids[id]; dup {
				return nil, errFailed
			}
			p.ids[id] = nil
		}
		parent, idx := dp.target.Parent(), dp.target.Index()
		parent.RemoveChildAt(idx)
		parent.InsertChildAt(idx, etree.NewText(p.skel.Marker(i)))
		extra[i] = dp.plain
	}
	for _, kp := range p.keys {
		if kp.inHeader && len(kp.data) > 0 {
			p.security.RemoveChild(kp.ek.Element)
		}
	}
	for _, l := range p.lists {
		p.security.RemoveChild(l)
	}
	// A Security header with nothing left in it would still say
	// mustUnderstand to whatever SOAP stack reads the result.
	if p.security != nil && !hasChildElement(p.security) {
		p.env.Header.RemoveChild(p.security)
	}
	// White space from character references in attribute values, and CR
	// in text, are written as references, so that whoever reads the
	// result gets the values this message carried, not their normalized
	// forms.
	p.env.Doc.WriteSettings = fidelity
	out := p.serialize()
	res, ok := p.spliceInPlace(out)
	if !ok {
		res = p.skel.Expand(out, extra)
	}
	if len(res) == 0 || len(out) == 0 || &res[0] != &out[0] {
		// Both copied out of the serialization: its buffer serves
		// the next call.
		p.sc.out = out[:0]
	}
	return res, nil
}

// serialize writes the envelope as etree's Document.WriteToBytes does,
// into one buffer sized for the skeleton it was read from (the markers
// are shorter than the elements they replace, so it seldom grows), with
// no bufio layer in between copying every byte once more. The buffer is
// the call's scratch: the caller copies the result out of it.
func (p *process) serialize() []byte {
	b := bytes.NewBuffer(p.sc.out[:0])
	p.sc.out = nil // until the caller has copied out of it
	b.Grow(len(p.skel.Data))
	writeTokens(b, p.env.Doc.Child, &p.env.Doc.WriteSettings)
	return b.Bytes()
}

// writeTokens writes tokens as their WriteTo methods do, except that an
// element's prefixed names are written in parts: etree's Element.WriteTo
// and Attr.WriteTo join prefix and name into a new string for every tag
// and attribute they write.
func writeTokens(b *bytes.Buffer, tokens []etree.Token, s *etree.WriteSettings) {
	for _, t := range tokens {
		el, ok := t.(*etree.Element)
		if !ok {
			t.WriteTo(b, s)
			continue
		}
		b.WriteByte('<')
		writeName(b, el.Space, el.Tag)
		for _, a := range el.Attr {
			b.WriteByte(' ')
			if a.Space != "" {
				b.WriteString(a.Space)
				b.WriteByte(':')
			}
			// Without a prefix, Attr.WriteTo allocates nothing.
			bare := etree.Attr{Key: a.Key, Value: a.Value}
			bare.WriteTo(b, s)
		}
		switch {
		case len(el.Child) > 0:
			b.WriteByte('>')
			writeTokens(b, el.Child, s)
		case !s.CanonicalEndTags:
			b.WriteString("/>")
			continue
		default:
			b.WriteByte('>')
		}
		b.WriteString("</")
		writeName(b, el.Space, el.Tag)
		b.WriteByte('>')
	}
}

func writeName(b *bytes.Buffer, space, local string) {
	if space != "" {
		b.WriteString(space)
		b.WriteByte(':')
	}
	b.WriteString(local)
}

// hasChildElement reports whether el has a child element.
func hasChildElement(el *etree.Element) bool {
	for range el.ChildElementsSeq() {
		return true
	}
	return false
}

// spliceInPlace builds the output around a single plaintext where it was
// decrypted, in the buffer its ciphertext was decoded into: the serialized
// envelope before the marker goes in front of it, the rest after it. It
// reports false where the plaintext is elsewhere, the room does not
// suffice, or other markers need the general Expand.
func (p *process) spliceInPlace(out []byte) ([]byte, bool) {
	if len(p.data) != 1 {
		return nil, false
	}
	dp := p.data[0]
	if dp.buf == nil || !dp.inPlace || p.skel.Markers(out) != 1 {
		return nil, false
	}
	marker := []byte(p.skel.Marker(0))
	at := bytes.Index(out, marker)
	if at < 0 {
		return nil, false
	}
	prefix, suffix := out[:at], out[at+len(marker):]
	start := dp.head + dp.key.cipher.IVSize // where the plaintext begins in buf
	end := start + len(dp.plain)
	if start < len(prefix) || len(dp.buf)-end < len(suffix) {
		return nil, false
	}
	copy(dp.buf[start-len(prefix):], prefix)
	copy(dp.buf[end:], suffix)
	return dp.buf[start-len(prefix) : end+len(suffix)], true
}
