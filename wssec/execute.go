package wssec

import (
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// errFailed is the internal cause for every failure after the first
// private-key operation; Decrypt turns all of them into
// ErrDecryptionFailed.
var errFailed = errors.New("wssec: internal decryption failure")

// execute decrypts the planned data and splices the plaintext in. Every
// error it returns is reported as ErrDecryptionFailed.
func (p *process) execute() error {
	ops := 0
	for _, kp := range p.keys {
		if len(kp.data) == 0 {
			continue
		}
		var ok bool
		for i, e := range kp.cands {
			if ops == p.pol.maxOps {
				return errFailed
			}
			ops++
			last := i == len(kp.cands)-1
			if p.tryKey(kp, e, last) {
				ok = true
				p.ring.recordUse(e)
				p.noteUsed(e)
				break
			}
		}
		if !ok {
			return errFailed
		}
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

// tryKey unwraps kp's key with ring entry e and decrypts and parses all of
// kp's data with it. The ciphertext is decrypted in place only on the last
// attempt; earlier attempts work on copies.
func (p *process) tryKey(kp *keyPlan, e *ringEntry, last bool) (ok bool) {
	var cek []byte
	var err error
	switch kp.alg {
	case xmlenc.RSA15:
		cek, err = xmlenc.DecryptKeyPKCS1v15(e.key.Decrypter, p.pol.rand, kp.ek.CipherValue, kp.cipher.KeySize)
	default:
		cek, err = xmlenc.DecryptKeyOAEP(e.key.Decrypter, p.pol.rand, kp.oaep, kp.ek.CipherValue, kp.cipher.KeySize)
	}
	if err != nil {
		return false
	}
	defer clear(cek)
	elements := p.elements
	defer func() {
		if !ok {
			p.elements = elements
		}
	}()
	for _, dp := range kp.data {
		ct := dp.ct
		if !last {
			ct = append([]byte(nil), ct...)
		}
		pt, err := xmlenc.DecryptData(kp.dataAlg, cek, ct)
		if err != nil {
			return false
		}
		holder, err := p.parsePlaintext(dp, pt)
		if err != nil {
			return false
		}
		dp.holder = holder
	}
	return true
}

// parsePlaintext parses decrypted octets in the namespace context of the
// element they replace: Content-type plaintext is a fragment that uses
// prefixes declared on its ancestors and is not a document on its own.
func (p *process) parsePlaintext(dp *dataPlan, pt []byte) (*etree.Element, error) {
	parent := dp.target.Parent()
	lim := p.pol.limits
	lim.DepthOffset = soap.Depth(parent)
	lim.ElementsOffset = p.elements
	holder, n, err := soap.ParseFragment(pt, soap.InScope(parent), lim)
	if err != nil {
		return nil, err
	}
	p.elements += n
	if dp.element {
		count := 0
		for _, t := range holder.Child {
			switch c := t.(type) {
			case *etree.Element:
				count++
			case *etree.CharData:
				if strings.TrimSpace(c.Data) != "" {
					return nil, errFailed
				}
			}
		}
		if count != 1 {
			return nil, errFailed
		}
	}
	if forbidden(holder) {
		return nil, errFailed
	}
	return holder, nil
}

// forbidden reports whether decrypted content holds elements that must
// never come out of a decryption: more encrypted data (no second round of
// processing), a Security header, or SOAP envelope structure.
func forbidden(holder *etree.Element) bool {
	stack := holder.ChildElements()
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch soap.NamespaceOf(el) {
		case soap.NSXENC:
			if el.Tag == "EncryptedData" || el.Tag == "EncryptedKey" {
				return true
			}
		case soap.NSSOAP11, soap.NSSOAP12:
			if el.Tag == "Envelope" || el.Tag == "Header" || el.Tag == "Body" {
				return true
			}
		case soap.NSWSSE:
			if el.Tag == "Security" {
				return true
			}
		case soap.NSWSSE11:
			if el.Tag == "EncryptedHeader" {
				return true
			}
		}
		stack = append(stack, el.ChildElements()...)
	}
	return false
}

// splice replaces each EncryptedData (or EncryptedHeader) with its
// plaintext, keeps the Id index consistent, and removes the processed
// EncryptedKeys and ReferenceLists from the Security header.
func (p *process) splice() error {
	for _, dp := range p.data {
		p.ids.Remove(dp.target)
		for _, c := range dp.holder.ChildElements() {
			if err := p.ids.Add(c); err != nil {
				return errFailed
			}
		}
		replace(dp.target, dp.holder)
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
	if p.security != nil && len(p.security.ChildElements()) == 0 {
		p.env.Header.RemoveChild(p.security)
	}
	return nil
}

// replace puts holder's children where target is, in linear time.
func replace(target, holder *etree.Element) {
	parent := target.Parent()
	idx := target.Index()
	tail := append([]etree.Token(nil), parent.Child[idx+1:]...)
	for i := len(parent.Child) - 1; i >= idx; i-- {
		parent.RemoveChildAt(i)
	}
	frag := holder.Child
	holder.Child = nil
	for _, t := range frag {
		parent.AddChild(t)
	}
	for _, t := range tail {
		parent.AddChild(t)
	}
}
