package wssec

import (
	"crypto/x509"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// sigState carries signature verification through one Decrypt call.
type sigState struct {
	trust  *TrustRing
	before []int // indexes, among the Security header's Signatures, verified on the message as received
	after  []int // those verified on the decrypted message
	count  int

	signers   []*x509.Certificate
	signed    []SignedPart
	body      bool // a verified signature covers the Body
	stamp     bool // ... the Timestamp
	hasStamp  bool
	dataCover map[string]bool // EncryptedData Ids covered in encrypted form

	// uses are the trust ring entries that verified a signature.
	uses []*ringEntry
}

// planSignatures splits the Security header's signatures, as WSS4J reads
// the header, into those before the first EncryptedKey or ReferenceList
// that decrypts something (they cover the encrypted form) and those after
// it (they cover the plaintext), and checks the Timestamp's times. It runs
// before any private-key operation.
func (p *process) planSignatures(trust *TrustRing) (*sigState, error) {
	st := &sigState{trust: trust, dataCover: map[string]bool{}}
	if p.security != nil {
		decrypted := false
		for _, c := range p.security.ChildElements() {
			switch {
			case xmlenc.IsEncryptedKey(c):
				if kp := p.keyByEl[c]; kp != nil && len(kp.data) > 0 {
					decrypted = true
				}
			case xmlenc.IsReferenceList(c):
				decrypted = true
			case soap.Is(c, soap.NSDS, "Signature"):
				if decrypted {
					st.after = append(st.after, st.count)
				} else {
					st.before = append(st.before, st.count)
				}
				st.count++
			}
		}
	}
	el, created, expires, err := timestamp(p.security)
	if err != nil {
		return nil, err
	}
	if el != nil {
		st.hasStamp = true
		now := trust.ring().clock()
		switch {
		case !created.IsZero() && created.After(now.Add(p.pol.skew)):
			return nil, &SignatureError{Reason: "the Timestamp's Created lies in the future", Err: ErrMessageExpired}
		case !expires.IsZero() && !expires.After(now.Add(-p.pol.skew)):
			return nil, &SignatureError{Reason: "the Timestamp has expired", Err: ErrMessageExpired}
		}
	}
	return st, nil
}

// verifyTree verifies the signatures with the given indexes on message,
// parsed in full, and records what they cover.
func (p *process) verifyTree(st *sigState, message []byte, which []int, encrypted bool) error {
	if len(which) == 0 {
		return nil
	}
	doc, _, err := soap.Parse(message, p.pol.limits)
	if err != nil {
		return soapError(err)
	}
	env, err := soap.NewEnvelope(doc)
	if err != nil {
		return soapError(err)
	}
	secs := env.SecurityHeaders(p.pol.actor)
	if len(secs) != 1 {
		return malformed("no single Security header")
	}
	ids, err := soap.IndexIDs(env.Root)
	if err != nil {
		return soapError(err)
	}
	var sigs []*etree.Element
	for _, c := range secs[0].ChildElements() {
		if soap.Is(c, soap.NSDS, "Signature") {
			sigs = append(sigs, c)
		}
	}
	stampEl, _, _, err := timestamp(secs[0])
	if err != nil {
		return err
	}
	now := st.trust.ring().clock()
	v := &verifier{pol: p.pol, trust: st.trust.live(now), env: env, ids: ids, security: secs[0], now: now}
	for _, i := range which {
		if i >= len(sigs) {
			return malformed("the Security header's signatures changed")
		}
		res, err := v.verify(sigs[i])
		if err != nil {
			return err
		}
		if res.signer != nil {
			st.uses = append(st.uses, res.signer)
		}
		st.signers = appendCert(st.signers, res.cert)
		for k, el := range res.covered {
			st.signed = append(st.signed, partOf(el, res.ids[k]))
			switch {
			case el == env.Body:
				st.body = true
			case el == stampEl:
				st.stamp = true
			}
			if encrypted {
				for _, dp := range p.data {
					if edEl, ok := ids[dp.ed.ID]; ok && dp.ed.ID != "" && soap.Within(edEl, el) {
						st.dataCover[dp.ed.ID] = true
					}
				}
			}
		}
	}
	return nil
}

func appendCert(list []*x509.Certificate, c *x509.Certificate) []*x509.Certificate {
	for _, x := range list {
		if x.Equal(c) {
			return list
		}
	}
	return append(list, c)
}

// requirements checks what the policy demands be signed.
func (p *process) requirements(st *sigState) error {
	if !p.pol.unsignedBody {
		if !st.body {
			return &SignatureError{Reason: "the Body is not covered by a verified signature", Err: ErrSignatureInvalid}
		}
		if st.hasStamp && !st.stamp {
			return &SignatureError{Reason: "the Timestamp is not covered by a verified signature", Err: ErrSignatureInvalid}
		}
	}
	if p.pol.signedData {
		for _, dp := range p.data {
			if !st.dataCover[dp.ed.ID] {
				return &SignatureError{Reason: "an EncryptedData is not covered by a verified signature", Err: ErrSignatureInvalid}
			}
		}
	}
	return nil
}

// authenticated reports whether all decrypted data used authenticated
// encryption, so that failures found in the plaintext may be described.
func (p *process) authenticated() bool {
	for _, kp := range p.keys {
		if len(kp.data) > 0 && !kp.cipher.GCM {
			return false
		}
	}
	return true
}

// afterError is the error for a failure found in decrypted content: as it
// is for unauthenticated data, or the uniform error.
func (p *process) afterError(err error) error {
	if p.authenticated() {
		return err
	}
	return ErrDecryptionFailed
}
