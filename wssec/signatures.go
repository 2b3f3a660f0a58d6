package wssec

import (
	"crypto/x509"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// maxSignatures bounds the ds:Signature elements of the processed Security
// header: each costs a public-key operation before anything else is known.
const maxSignatures = 16

// sigState carries signature verification through one Decrypt call.
type sigState struct {
	trust  *TrustRing
	budget *canonBudget
	// before counts the Security header's leading Signatures, those
	// before its first EncryptedKey, ReferenceList or EncryptedData: they
	// cover the encrypted form and are verified, before decryption, on
	// the tree the message was read into. Every Signature after them, in
	// clear or only readable after decryption, is verified on the
	// decrypted envelope (one in clear is checked before decryption as
	// far as it can be: all but the digests).
	before int
	after  int // Signatures in clear after the leading ones
	// leading are the leading Signatures as planSignatures checked them
	// (SignedInfo, signer, SignatureValue), for verifyBefore.
	leading []*checkedSig
	// later are the Signatures in clear after the leading ones as
	// planSignatures checked them, with the references it could
	// resolve, for verifySpliced.
	later []*checkedSig
	// encryptedHeader is set when the Security header holds EncryptedData
	// of its own (an encrypted Signature or Timestamp, WSS4J's
	// EncryptSignature): what its signatures cover is then known only
	// after decryption.
	encryptedHeader bool

	signers  []*x509.Certificate
	signed   []SignedPart
	body     bool // a verified signature covers the Body
	stamp    bool // ... the Timestamp
	hasStamp bool // the Security header holds a Timestamp
	// stale is the freshness error of a Timestamp that only decryption
	// revealed: reported as such only if a verified signature covers it.
	stale     error
	dataCover map[string]bool // EncryptedData Ids covered in encrypted form

	// uses are the trust ring entries that verified a signature.
	uses []*ringEntry
	// bodyDigest, when set, is the Body's digest computed while the
	// message was parsed (see bodyDigest), for verifyBefore.
	bodyDigest *bodyDigest
}

// planSignatures reads the Security header's signatures, as WSS4J reads
// the header, and decides everything that can be decided before any
// private-key operation: the signature algorithms, the signers, every
// SignatureValue in clear, where the references point, the Timestamp's
// times, and whether the policy's requirements can still be met. After
// this, a failure in decrypted content cannot be told apart from any
// other by its error.
func (p *process) planSignatures(trust *TrustRing, message []byte) (*sigState, error) {
	// The budget is measured on the message, not on the tree read here,
	// whose large CipherValues are cut out but are digested in full.
	st := &sigState{trust: trust, dataCover: map[string]bool{}, budget: newCanonBudget(len(message))}
	sigs, err := p.findSignatures(st)
	if err != nil {
		return nil, err
	}
	stampEl, err := p.fresh(p.env.Names, p.security, trust.ring().clock())
	if err != nil {
		return nil, err
	}
	st.hasStamp = stampEl != nil

	// Every signature in clear is checked now, on this tree: a signature
	// after the EncryptedKey covers the plaintext, but its SignedInfo,
	// signer and SignatureValue are readable before decryption.
	now := trust.ring().clock()
	v := &verifier{pol: p.pol, trust: trust.live(now), env: p.env, ids: p.ids, security: p.security, now: now, budget: st.budget}
	bodyRef, stampRef := false, false
	var coveredBefore []*etree.Element
	for i, sig := range sigs {
		cs, err := v.check(sig)
		if err != nil {
			return nil, err
		}
		if _, err := v.resolve(cs, sig, i >= st.before && len(p.data) > 0); err != nil {
			return nil, err
		}
		if i < st.before {
			st.leading = append(st.leading, cs)
		} else {
			st.later = append(st.later, cs)
		}
		for _, r := range cs.refs {
			switch {
			case r.el == nil:
			case r.el == p.env.Body:
				bodyRef = true
			case r.el == stampEl:
				stampRef = true
			}
			if r.el != nil && i < st.before {
				coveredBefore = append(coveredBefore, r.el)
			}
		}
	}
	if st.encryptedHeader {
		return st, nil // the rest is known after decryption
	}
	// The Body element stays in place through decryption (only its
	// content, or a child, is encrypted), so whether a signature names it
	// is known now; so is whether one names the Timestamp.
	if !p.pol.unsignedBody {
		if !bodyRef {
			return nil, p.unsignedFault(p.env, message, sigError("the Body is not covered by a signature"))
		}
		if stampEl != nil && !stampRef {
			return nil, sigError("the Timestamp is not covered by a signature")
		}
	}
	if p.pol.signedData {
		if err := p.dataSignedBefore(coveredBefore); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// findSignatures returns the Security header's Signatures, at most
// maxSignatures, and counts in st those before its first EncryptedKey
// (of ours), ReferenceList or EncryptedData and those after; an
// EncryptedData there sets st.encryptedHeader.
func (p *process) findSignatures(st *sigState) ([]*etree.Element, error) {
	var sigs []*etree.Element
	if p.security == nil {
		return sigs, nil
	}
	boundary := false
	for _, c := range p.security.ChildElements() {
		switch {
		case xmlenc.IsEncryptedKey(p.env.Names, c):
			if kp := p.keyByEl[c]; kp != nil && len(kp.data) > 0 {
				boundary = true
			}
		case xmlenc.IsReferenceList(p.env.Names, c):
			boundary = true
		case xmlenc.IsEncryptedData(p.env.Names, c):
			boundary, st.encryptedHeader = true, true
		case p.env.Names.Is(c, soap.NSDS, "Signature"):
			if len(sigs) == maxSignatures {
				return nil, limitError("signatures", maxSignatures)
			}
			if boundary {
				st.after++
			} else {
				st.before++
			}
			sigs = append(sigs, c)
		}
	}
	return sigs, nil
}

// dataSignedBefore checks that every EncryptedData is within an element
// that a leading signature covers, in its encrypted form.
func (p *process) dataSignedBefore(coveredBefore []*etree.Element) error {
	for _, dp := range p.data {
		covered := false
		for _, el := range coveredBefore {
			covered = covered || soap.Within(dp.ed.Element, el)
		}
		if !covered {
			return sigError("an EncryptedData is not covered by a signature in its encrypted form")
		}
	}
	return nil
}

// fresh checks the Security header's Timestamp against the trust ring's
// clock and returns it, or nil if there is none; names are those of
// security's tree.
func (p *process) fresh(names soap.Names, security *etree.Element, now time.Time) (*etree.Element, error) {
	el, created, expires, err := timestamp(names, security)
	if err != nil || el == nil {
		return nil, err
	}
	reason := ""
	switch {
	case !created.IsZero() && created.After(now.Add(p.pol.skew)):
		reason = "created in the future"
	case !expires.IsZero() && !expires.After(now.Add(-p.pol.skew)):
		reason = "expired"
	default:
		return el, nil
	}
	return nil, timestampRefused(reason, created, expires, now, p.pol.skew)
}

// verifyBefore verifies the leading signatures, which cover the encrypted
// form, on the tree the plan read, with the CipherValues it cut out put
// back while a digest covers them: the message is parsed once.
func (p *process) verifyBefore(st *sigState) error {
	if st.before == 0 {
		return nil
	}
	now := st.trust.ring().clock()
	v := &verifier{pol: p.pol, trust: st.trust.live(now), env: p.env, ids: p.ids, security: p.security,
		now: now, budget: st.budget, skel: p.skel, src: p.msg, opaque: p.opaque, opaqueElements: p.opaqueElements, body: st.bodyDigest}
	stampEl, _, _, err := timestamp(p.env.Names, p.security)
	if err != nil {
		return err
	}
	for _, cs := range st.leading {
		res, err := v.digests(cs)
		if err != nil {
			return err
		}
		st.record(p, res, p.env, p.security, stampEl, p.ids, true)
	}
	return nil
}

// verifyAfter verifies every signature after the leading ones on the
// decrypted envelope, including those that were only readable after
// decryption, and checks a Timestamp that only decryption revealed. It
// returns the tree it verified, or nil if there was nothing to verify.
func (p *process) verifyAfter(st *sigState, envelope []byte) (*soap.Envelope, error) {
	if len(p.data) == 0 || (st.after == 0 && !st.encryptedHeader) {
		// Nothing changed, or no signature and no Timestamp can be
		// there that was not checked already.
		return nil, nil
	}
	if done, err := p.verifySpliced(st, envelope); done {
		return nil, err
	}
	return p.verifyTree(st, envelope, st.before)
}

// verifySpliced verifies the signatures after the leading ones on the
// decrypted envelope as returned, without reading it into a tree, where
// the plan's tree still says what they cover: every one of them was
// checked in clear before decryption (SignedInfo, signer, SignatureValue)
// and every reference resolved there, by an Id that still names the same
// element, outside all decrypted content, in the spliced tree (Ids in
// the plaintext were checked unique against the message's). The digests
// are then computed from the returned bytes, locating each element by
// its place in the spliced tree, counting the elements of each plaintext
// where its marker stands. It applies only when a verified signature
// covers the Body, which stays in place through decryption: nothing
// after needs the plaintext's tree (no unsigned Fault to tell apart).
// It reports false where it does not apply; verifyTree then parses the
// envelope.
func (p *process) verifySpliced(st *sigState, envelope []byte) (bool, error) {
	if st.encryptedHeader || len(st.later) != st.after || p.security == nil {
		return false, nil
	}
	body := false
	for _, cs := range append(st.leading[:len(st.leading):len(st.leading)], st.later...) {
		for _, r := range cs.refs {
			body = body || (r.el != nil && r.el == p.env.Body)
		}
	}
	if !body {
		return false, nil
	}
	for _, cs := range st.later {
		for _, r := range cs.refs {
			if r.el == nil || !soap.Within(r.el, p.env.Root) {
				return false, nil
			}
			if el, ok := p.ids.Resolve(r.uri); !ok || el != r.el {
				return false, nil
			}
		}
	}
	markers := make(map[string]int, len(p.data))
	for i, dp := range p.data {
		markers[p.skel.Marker(i)] = dp.elements
	}
	now := st.trust.ring().clock()
	v := &verifier{pol: p.pol, trust: st.trust.live(now), env: p.env, ids: p.ids, security: p.security,
		now: now, budget: st.budget, src: envelope, spliced: markers}
	stampEl, _, _, err := timestamp(p.env.Names, p.security)
	if err != nil {
		return true, err
	}
	for _, cs := range st.later {
		res, err := v.digests(cs)
		if err != nil {
			return true, err
		}
		st.record(p, res, p.env, p.security, stampEl, p.ids, false)
	}
	return true, nil
}

// verifyTree parses the decrypted envelope and verifies the Security
// header's signatures from index from on, recording what they cover.
func (p *process) verifyTree(st *sigState, message []byte, from int) (*soap.Envelope, error) {
	tr, err := xmlscan.ParseTree(message, p.pol.limits, nil)
	if err != nil {
		return nil, soapError(err)
	}
	env, err := soap.NewEnvelope(tr.Doc, tr.Names)
	if err != nil {
		return nil, soapError(err)
	}
	secs := env.SecurityHeaders(p.pol.actor)
	if len(secs) > 1 {
		return nil, malformed("more than one Security header for the same actor")
	}
	var sec *etree.Element
	if len(secs) == 1 {
		sec = secs[0]
	}
	ids, err := soap.IndexIDs(env.Root, env.Names)
	if err != nil {
		return nil, soapError(err)
	}
	var sigs []*etree.Element
	if sec != nil {
		for _, c := range sec.ChildElements() {
			if env.Names.Is(c, soap.NSDS, "Signature") {
				sigs = append(sigs, c)
			}
		}
	}
	if len(sigs) > maxSignatures {
		return nil, limitError("signatures", maxSignatures)
	}
	if from > len(sigs) {
		return nil, malformed("the Security header's signatures changed")
	}
	stampEl, _, _, err := timestamp(env.Names, sec)
	if err != nil {
		return nil, err
	}
	if stampEl != nil && !st.hasStamp {
		// Revealed by decryption: checked on this tree. A failure here
		// is reported once the signatures say whether it is authentic.
		st.hasStamp = true
		if _, err := p.fresh(env.Names, sec, st.trust.ring().clock()); err != nil {
			st.stale = err
		}
	}
	now := st.trust.ring().clock()
	v := &verifier{pol: p.pol, trust: st.trust.live(now), env: env, ids: ids, security: sec, now: now, budget: st.budget, src: message}
	for _, sig := range sigs[from:] {
		res, err := v.verify(sig)
		if err != nil {
			return nil, err
		}
		st.record(p, res, env, sec, stampEl, ids, false)
	}
	return env, nil
}

// record notes what a verified signature covers, in the tree env it was
// verified on.
func (st *sigState) record(p *process, res *verification, env *soap.Envelope, sec, stampEl *etree.Element, ids soap.IDs, encrypted bool) {
	if res.signer != nil {
		st.uses = append(st.uses, res.signer)
	}
	st.signers = appendCert(st.signers, res.cert)
	for k, el := range res.covered {
		st.signed = append(st.signed, partOf(env, sec, el, res.ids[k]))
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

func appendCert(list []*x509.Certificate, c *x509.Certificate) []*x509.Certificate {
	for _, x := range list {
		if x.Equal(c) {
			return list
		}
	}
	return append(list, c)
}

// requirements checks what the policy demands be signed, on what was
// verified.
func (p *process) requirements(st *sigState) error {
	if !p.pol.unsignedBody {
		if !st.body {
			return sigError("the Body is not covered by a verified signature")
		}
		if st.hasStamp && !st.stamp {
			return sigError("the Timestamp is not covered by a verified signature")
		}
	}
	if p.pol.signedData {
		for _, dp := range p.data {
			if !st.dataCover[dp.ed.ID] {
				return sigError("an EncryptedData is not covered by a verified signature")
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

// signaturesBefore plans the signatures, with trust set, and verifies
// those that cover the message as received, using body's digest where it
// fits. For a message with nothing encrypted it also returns the copy
// of the message for Result.Envelope, made while body is computed, if
// set. It waits for body before any private-key operation can follow.
func (p *process) signaturesBefore(trust *TrustRing, message []byte, body *bodyDigest) (*sigState, []byte, error) {
	var envelope []byte
	if body != nil && len(p.data) == 0 {
		// Copied while the other goroutine canonicalizes the Body.
		envelope = copyMessage(message)
	}
	var sigs *sigState
	if trust != nil {
		var err error
		if sigs, err = p.planSignatures(trust, message); err != nil {
			return nil, nil, err
		}
		sigs.bodyDigest = body
		if err := p.verifyBefore(sigs); err != nil {
			return nil, nil, err
		}
	}
	if len(p.data) > 0 {
		// Nothing runs beside decryption: what the second goroutine
		// could read of the message was read.
		body.close()
	}
	return sigs, envelope, nil
}

// copyMessage returns a copy of message for Result.Envelope, made in
// pieces: one copy of a large message is a single memmove the runtime
// cannot preempt, which a collection would spin waiting for.
func copyMessage(message []byte) []byte {
	const piece = 1 << 20
	out := make([]byte, len(message))
	for i := 0; i < len(message); i += piece {
		copy(out[i:], message[i:min(i+piece, len(message))])
	}
	return out
}
