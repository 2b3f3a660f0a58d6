package rollover

import (
	"fmt"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// Names of the key store state blobs of the decryption-key renewal. The
// audit trail (procedure.AuditName) is shared with the partners'
// renewals (package rollover/signer), which keep their state apart.
const (
	stateName = "rollover-decryption"
	usageName = "rollover-usage"
)

// stateDoc is the persisted stage of the decryption-key renewal. The
// format is documented in doc.go; change both together.
type stateDoc struct {
	Version int       `json:"version"`
	Seq     uint64    `json:"seq"`
	Renewal uint64    `json:"renewal"`
	Stage   StageName `json:"stage"`

	Started time.Time `json:"started,omitzero"`
	New     *keyRef   `json:"new,omitempty"`
	Old     *keyRef   `json:"old,omitempty"`
	// Retention is the policy recorded at step 1; nil in state written
	// before it was recorded, which is read as the zero policy.
	Retention *procedure.Retention `json:"retention,omitempty"`

	SelfTest  time.Time       `json:"selfTest,omitzero"`
	Provided  time.Time       `json:"provided,omitzero"`
	Receivers []receiverState `json:"receivers,omitempty"`
	Switched  time.Time       `json:"switched,omitzero"`
	Expires   time.Time       `json:"expires,omitzero"`

	FirstNewKeyUse time.Time `json:"firstNewKeyUse,omitzero"`
	OldUses        uint64    `json:"oldKeyUsesAfterConfirmation,omitempty"`
	OldUsesPending uint64    `json:"oldKeyUsesNotAudited,omitempty"`
	OldUseAudited  time.Time `json:"oldKeyUseAudited,omitzero"`

	Ended   time.Time `json:"ended,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
}

// keyRef names a key of the renewal by alias and certificate.
type keyRef struct {
	Alias  string `json:"alias"`
	SHA256 string `json:"sha256"`
}

func refOf(e keystore.Entry) *keyRef {
	return &keyRef{Alias: e.Alias, SHA256: procedure.Hex(e.Fingerprint)}
}

func (k *keyRef) fingerprint() wssec.Fingerprint {
	if k == nil {
		return wssec.Fingerprint{}
	}
	fp, _ := procedure.ParseHex(k.SHA256) // checked by parseState
	return fp
}

func (k *keyRef) alias() string {
	if k == nil {
		return ""
	}
	return k.Alias
}

type receiverState struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Provided    time.Time `json:"provided"`
	Confirmed   time.Time `json:"confirmed,omitzero"`
	By          string    `json:"by,omitempty"`
	Reference   string    `json:"reference,omitempty"`

	// Transport is the key transport the receiver encrypts with; nil
	// for wssec's default.
	Transport *transportState `json:"transport,omitempty"`

	FirstNewKeyUse time.Time `json:"firstNewKeyUse,omitzero"`
	OldUses        uint64    `json:"oldKeyUsesAfterConfirmation,omitempty"`
	OldUsesPending uint64    `json:"oldKeyUsesNotAudited,omitempty"`
	OldUseAudited  time.Time `json:"oldKeyUseAudited,omitzero"`
}

func (s *stateDoc) receiver(id string) *receiverState {
	for i := range s.Receivers {
		if s.Receivers[i].ID == id {
			return &s.Receivers[i]
		}
	}
	return nil
}

// pending returns the IDs of the receivers that have not confirmed.
func (s *stateDoc) pending() []string {
	var out []string
	for _, r := range s.Receivers {
		if r.Confirmed.IsZero() {
			out = append(out, r.ID)
		}
	}
	return out
}

// clone returns a deep copy.
func (s *stateDoc) clone() *stateDoc {
	c := *s
	if s.New != nil {
		n := *s.New
		c.New = &n
	}
	if s.Old != nil {
		o := *s.Old
		c.Old = &o
	}
	c.Retention = s.Retention.Clone()
	c.Receivers = slices.Clone(s.Receivers)
	return &c
}

// usageDoc is the persisted usage evidence: when each key of the store
// last decrypted a message.
type usageDoc struct {
	Version  int                  `json:"version"`
	Recorded time.Time            `json:"recorded,omitzero"`
	LastUsed map[string]time.Time `json:"lastUsed,omitempty"` // by lower-case hex SHA-256 fingerprint
	// Refused counts messages refused because they were encrypted to a
	// disabled key, by fingerprint as LastUsed.
	Refused map[string]DisabledRefusals `json:"refused,omitempty"`
}

// docs are the blobs as one transaction reads and changes them.
type docs struct {
	state *stateDoc
	usage *usageDoc

	stateChanged, usageChanged bool
	added                      []Record            // audit records appended
	warnings                   []procedure.Warning // log-only warnings
}

// loadDocs reads the stage and the usage evidence; the audit trail is
// read when records are appended (docs.save).
func loadDocs(read procedure.Reader) (*docs, error) {
	st, err := loadState(read)
	if err != nil {
		return nil, err
	}
	u, err := loadUsage(read)
	if err != nil {
		return nil, err
	}
	return &docs{state: st, usage: u}, nil
}

func loadUsage(read procedure.Reader) (*usageDoc, error) {
	u := &usageDoc{Version: procedure.Version}
	if err := procedure.LoadBlob(read, usageName, u); err != nil {
		return nil, err
	}
	for k, v := range u.LastUsed {
		if _, err := procedure.ParseHex(k); err != nil {
			return nil, &StateError{Name: usageName, Reason: "invalid fingerprint", Err: ErrCorruptState}
		}
		u.LastUsed[k] = procedure.NormTime(v)
	}
	for k := range u.Refused {
		if _, err := procedure.ParseHex(k); err != nil {
			return nil, &StateError{Name: usageName, Reason: "invalid fingerprint", Err: ErrCorruptState}
		}
	}
	return u, nil
}

func loadState(read procedure.Reader) (*stateDoc, error) {
	st := &stateDoc{Version: procedure.Version, Stage: StageIdle}
	if err := procedure.LoadBlob(read, stateName, st); err != nil {
		return nil, err
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	return st, nil
}

// FormatVersion implements [procedure.Versioned].
func (s *stateDoc) FormatVersion() int { return s.Version }

// FormatVersion implements [procedure.Versioned].
func (u *usageDoc) FormatVersion() int { return u.Version }

// check validates what the code relies on.
func (s *stateDoc) check() error {
	fail := func(reason string) error {
		return &StateError{Name: stateName, Reason: reason, Err: ErrCorruptState}
	}
	if !validStage(s.Stage) {
		return fail(fmt.Sprintf("unknown stage %q", s.Stage))
	}
	for _, k := range []*keyRef{s.New, s.Old} {
		if k == nil {
			continue
		}
		if _, err := procedure.ParseHex(k.SHA256); err != nil {
			return fail("invalid fingerprint")
		}
	}
	if err := s.Retention.Check(); err != nil {
		return fail(err.Error())
	}
	if s.Stage != StageIdle && (s.New == nil || s.Old == nil) {
		return fail("stage " + string(s.Stage) + " without its keys")
	}
	if (s.Stage == StageCertificateProvided || s.Stage == StageReceiversSwitched) && len(s.Receivers) == 0 {
		return fail("stage " + string(s.Stage) + " without receivers")
	}
	if s.Stage == StageReceiversSwitched && (s.Expires.IsZero() || len(s.pending()) > 0) {
		return fail("receivers switched without expiry")
	}
	s.normalize()
	return nil
}

// latestRecorded returns the latest time the renewal and the usage
// evidence recorded.
func latestRecorded(d *docs) time.Time {
	var t time.Time
	s := d.state
	for _, u := range []time.Time{s.Started, s.SelfTest, s.Provided, s.Switched, s.FirstNewKeyUse, s.OldUseAudited, s.Ended, d.usage.Recorded} {
		t = procedure.Later(t, u)
	}
	for _, r := range s.Receivers {
		for _, u := range []time.Time{r.Provided, r.Confirmed, r.FirstNewKeyUse, r.OldUseAudited} {
			t = procedure.Later(t, u)
		}
	}
	return t
}

// normalize makes every time UTC without monotonic reading.
func (s *stateDoc) normalize() {
	for _, t := range []*time.Time{&s.Started, &s.SelfTest, &s.Provided, &s.Switched, &s.Expires, &s.FirstNewKeyUse, &s.OldUseAudited, &s.Ended} {
		*t = procedure.NormTime(*t)
	}
	for i := range s.Receivers {
		r := &s.Receivers[i]
		for _, t := range []*time.Time{&r.Provided, &r.Confirmed, &r.FirstNewKeyUse, &r.OldUseAudited} {
			*t = procedure.NormTime(*t)
		}
	}
}

// save writes the changed blobs in tx; the core appends the audit
// records.
func (d *docs) save(tx *keystore.Tx) error {
	if d.stateChanged {
		if err := procedure.SetBlob(tx, stateName, d.state); err != nil {
			return err
		}
	}
	if d.usageChanged {
		if err := procedure.SetBlob(tx, usageName, d.usage); err != nil {
			return err
		}
	}
	return nil
}

// changeState marks the state as changed.
func (d *docs) changeState() *stateDoc {
	d.stateChanged = true
	return d.state
}

// record appends an audit record for the current renewal.
func (d *docs) record(r Record) {
	if r.Renewal == 0 {
		r.Renewal = d.state.Renewal
	}
	if r.NewKey == (wssec.Fingerprint{}) {
		r.NewKey = d.state.New.fingerprint()
	}
	if r.OldKey == (wssec.Fingerprint{}) {
		r.OldKey = d.state.Old.fingerprint()
	}
	d.added = append(d.added, r)
}

func (d *docs) warn(msg string, attrs ...any) {
	d.warnings = append(d.warnings, procedure.Warning{Msg: msg, Attrs: attrs})
}
