package keystore

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// destroyedName is the state blob in which the store records the keys it
// destroys, in the commit that destroys them, until a caller moves the
// records to its own audit trail. The name is the store's own:
// [Tx.SetState] refuses it.
const destroyedName = "keystore-destroyed"

// maxDestructions bounds the destruction records kept; older ones are
// dropped and counted.
const maxDestructions = 1000

// Destruction records a disabled key the store destroyed because its
// restore window had passed: in any [Store.Update] (even one that changes
// nothing else) and on a [Follower]'s tick.
type Destruction struct {
	// Time is when the key was destroyed: the transaction's time.
	Time        time.Time
	Alias       string
	Fingerprint wssec.Fingerprint
	// DisabledAt and DestroyAfter are the disabled entry's times: when it
	// left the key ring, and the end of its restore window.
	DisabledAt, DestroyAfter time.Time
}

// destroyedDoc is the JSON form of the destroyedName blob; doc.go
// documents it.
type destroyedDoc struct {
	Version int               `json:"version"`
	Records []destructionJSON `json:"records"`
	// Dropped counts records dropped to keep maxDestructions.
	Dropped uint64 `json:"dropped,omitempty"`
}

type destructionJSON struct {
	Time         time.Time `json:"time"`
	Alias        string    `json:"alias"`
	SHA256       string    `json:"sha256"`
	DisabledAt   time.Time `json:"disabledAt"`
	DestroyAfter time.Time `json:"destroyAfter"`
}

// readDestructions decodes m's destruction records; none if there is no
// blob.
func readDestructions(m *manifest) (*destroyedDoc, error) {
	doc := &destroyedDoc{Version: 1}
	raw, ok := m.state[destroyedName]
	if !ok {
		return doc, nil
	}
	if err := json.Unmarshal(raw, doc); err != nil || doc.Version != 1 {
		if err == nil {
			err = fmt.Errorf("version %d", doc.Version)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidState, destroyedName, err)
	}
	for _, r := range doc.Records {
		if b, err := hex.DecodeString(r.SHA256); err != nil || len(b) != len(wssec.Fingerprint{}) {
			return nil, fmt.Errorf("%w: %s: fingerprint %q", ErrInvalidState, destroyedName, r.SHA256)
		}
	}
	return doc, nil
}

func (d *destroyedDoc) destructions() []Destruction {
	out := make([]Destruction, len(d.Records))
	for i, r := range d.Records {
		out[i] = Destruction{Time: normTime(r.Time), Alias: r.Alias,
			DisabledAt: normTime(r.DisabledAt), DestroyAfter: normTime(r.DestroyAfter)}
		hex.Decode(out[i].Fingerprint[:], []byte(r.SHA256)) // checked by readDestructions
	}
	return out
}

// TakeDestructions returns the destructions the store recorded and no
// caller took yet, oldest first — of earlier transactions, such as a
// [Follower]'s tick, and of this one — and removes them
// from the store in this transaction. A caller that keeps an audit trail
// (package rollover does) writes them to it in the same transaction, so
// that no destruction is lost or recorded twice, whatever crashes.
// It returns [ErrInvalidState] for unreadable records, and [ErrTxDone].
func (tx *Tx) TakeDestructions() ([]Destruction, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	doc, err := readDestructions(tx.m)
	if err != nil {
		return nil, err
	}
	if _, ok := tx.m.state[destroyedName]; ok {
		delete(tx.m.state, destroyedName)
		tx.dirty = true
	}
	return doc.destructions(), nil
}

// Destructions returns the destructions the store recorded and no
// caller took yet with [Tx.TakeDestructions], oldest first. It reads the
// store's current state without I/O (call [Store.Reload] for changes of
// other processes) and returns [ErrInvalidState] for unreadable records
// and [ErrNotExist] for a Store not opened.
func (s *Store) Destructions() ([]Destruction, error) {
	if err := s.opened(); err != nil {
		return nil, err
	}
	doc, err := readDestructions(s.state.Load().m)
	if err != nil {
		return nil, err
	}
	return doc.destructions(), nil
}
