package rollover

import (
	"crypto"
	"fmt"
	"slices"

	"github.com/wsrenew/wsrenew/wssec"
)

// checkTransports refuses receivers whose key transport the new key
// cannot perform, such as RSA-OAEP with SHA-256 when the key is in a
// token that does OAEP with SHA-1 only. It is decided from the key's
// capabilities, before the self-test.
func (s *KeyAdded) checkTransports(rs []Receiver) error {
	if _, err := s.m.store.Entry(s.st.New.Alias); err != nil {
		return err
	}
	for _, r := range rs {
		if err := s.m.store.CheckTransport(s.st.New.Alias, r.Transport); err != nil {
			return &SelfTestError{Fingerprint: s.st.New.fingerprint(), Receiver: r.ID, Transport: r.Transport, Err: ErrReceiverAlgorithm, Cause: err}
		}
	}
	return nil
}

// selfTestTransports lists the distinct key transports of the receivers,
// in their order: the self-test encrypts the sample with each.
func selfTestTransports(rs []Receiver) []wssec.TransportParams {
	var out []wssec.TransportParams
	for _, r := range rs {
		if !slices.Contains(out, r.Transport) {
			out = append(out, r.Transport)
		}
	}
	if len(out) == 0 {
		out = append(out, wssec.TransportParams{})
	}
	return out
}

// describeTransport names a key transport for people: the algorithm and,
// for OAEP, the digest and MGF1 hash as given (zero: the default).
func describeTransport(t wssec.TransportParams) string {
	kt := t.KeyTransport
	if kt == "" {
		kt = wssec.RSAOAEP
	}
	s := string(kt)
	if t.OAEPDigest != 0 || t.MGF != 0 {
		s += fmt.Sprintf(" (digest %s, MGF1 %s)", hashName(t.OAEPDigest), hashName(t.MGF))
	}
	return s
}

// hashNames are the hashes a receiver's transport may name in the state.
var hashNames = map[crypto.Hash]string{
	crypto.SHA1: "SHA-1", crypto.SHA224: "SHA-224", crypto.SHA256: "SHA-256",
	crypto.SHA384: "SHA-384", crypto.SHA512: "SHA-512",
}

func hashName(h crypto.Hash) string {
	if h == 0 {
		return "default"
	}
	if n, ok := hashNames[h]; ok {
		return n
	}
	return h.String()
}

// transportState is a receiver's key transport as the state records it.
type transportState struct {
	KeyTransport string `json:"keyTransport,omitempty"`
	OAEPDigest   string `json:"oaepDigest,omitempty"`
	MGF          string `json:"mgf,omitempty"`
}

func transportStateOf(t wssec.TransportParams) *transportState {
	if t == (wssec.TransportParams{}) {
		return nil
	}
	ts := &transportState{KeyTransport: string(t.KeyTransport)}
	if t.OAEPDigest != 0 {
		ts.OAEPDigest = hashName(t.OAEPDigest)
	}
	if t.MGF != 0 {
		ts.MGF = hashName(t.MGF)
	}
	return ts
}

// params returns the recorded transport; an unknown hash name comes back
// as zero (the default).
func (ts *transportState) params() wssec.TransportParams {
	if ts == nil {
		return wssec.TransportParams{}
	}
	t := wssec.TransportParams{KeyTransport: wssec.KeyTransport(ts.KeyTransport)}
	for h, n := range hashNames {
		if n == ts.OAEPDigest {
			t.OAEPDigest = h
		}
		if n == ts.MGF {
			t.MGF = h
		}
	}
	return t
}
