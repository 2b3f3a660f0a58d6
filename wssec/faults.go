package wssec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
)

// faultNotEncrypted decides, before any private-key operation, about a
// SOAP Fault sent in the clear where the policy wants the Body encrypted
// and signatures are verified. A Fault that no signature readable now
// covers (or whose Timestamp is stale) may come from anyone: it is a
// *FaultError that matches both ErrUnsignedFault and ErrNotEncrypted, so
// that it never passes as a partner's plaintext fault. A signed one is
// ErrNotEncrypted.
func (p *process) faultNotEncrypted(trust *TrustRing, message []byte) error {
	sigs, err := p.planSignatures(trust, message)
	if err == nil {
		err = p.verifyBefore(sigs)
	}
	if err == nil && sigs.stale != nil {
		err = sigs.stale
	}
	if err == nil && !sigs.body {
		err = sigError("the Fault is not covered by a verified signature")
	}
	if err == nil {
		return ErrNotEncrypted
	}
	var fe *FaultError
	if errors.As(err, &fe) {
		err = fe.Cause // already a Fault refused for its signature
	}
	return p.unsignedFault(p.env, message, fmt.Errorf("%w: %w", ErrNotEncrypted, err))
}

// unsignedFault returns a *FaultError wrapping cause when env's Body holds
// a SOAP Fault, and cause otherwise. envelope is the message the Fault
// came in, as returned (nil: serialize env).
func (p *process) unsignedFault(env *soap.Envelope, envelope []byte, cause error) error {
	fault := faultOf(env)
	if fault == nil {
		return cause
	}
	if envelope == nil {
		b, err := env.Doc.WriteToBytes()
		if err != nil {
			return cause
		}
		envelope = b
	}
	fe := &FaultError{Envelope: envelope, Cause: cause}
	for _, c := range fault.ChildElements() {
		switch {
		case c.Tag == "faultcode" && c.Space == "": // SOAP 1.1: unqualified
			fe.Code = strings.TrimSpace(c.Text())
		case c.Tag == "faultstring" && c.Space == "":
			fe.Reason = strings.TrimSpace(c.Text())
		case env.Names.Is(c, soap.NSSOAP12, "Code"):
			if val := c.SelectElement("Value"); val != nil {
				fe.Code = strings.TrimSpace(val.Text())
			}
		case env.Names.Is(c, soap.NSSOAP12, "Reason"):
			if txt := c.SelectElement("Text"); txt != nil {
				fe.Reason = strings.TrimSpace(txt.Text())
			}
		}
	}
	return fe
}

// faultOf returns the SOAP Fault the envelope's Body holds, or nil.
func faultOf(env *soap.Envelope) *etree.Element {
	if env == nil || env.Body == nil {
		return nil
	}
	for _, c := range env.Body.ChildElements() {
		if env.Names.Is(c, env.NS, "Fault") {
			return c
		}
		return nil
	}
	return nil
}
