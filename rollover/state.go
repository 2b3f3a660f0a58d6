package rollover

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// Names of the key store state blobs this package keeps. The audit trail
// is shared by both procedures; the partners' signing certificates keep
// their state in a blob of their own (signersName).
const (
	stateName = "rollover-decryption"
	usageName = "rollover-usage"
	auditName = "rollover-audit"

	// formatVersion is the version of the blobs' format.
	formatVersion = 1

	// maxAuditRecords bounds the audit trail kept in the store; older
	// records are dropped and counted. The log received every record.
	maxAuditRecords = 2000
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
	Retention *retentionRecord `json:"retention,omitempty"`

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
	return &keyRef{Alias: e.Alias, SHA256: fpHex(e.Fingerprint)}
}

func (k *keyRef) fingerprint() wssec.Fingerprint {
	if k == nil {
		return wssec.Fingerprint{}
	}
	fp, _ := parseFP(k.SHA256) // checked by parseState
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
	if s.Retention != nil {
		r := *s.Retention
		c.Retention = &r
	}
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

// auditDoc is the persisted audit trail.
type auditDoc struct {
	Version int          `json:"version"`
	Dropped uint64       `json:"dropped,omitempty"`
	Records []recordJSON `json:"records"`
}

// docs are the blobs as one transaction reads and changes them.
type docs struct {
	state *stateDoc
	usage *usageDoc

	// signersDoc is the partners' state, read when a step or evidence
	// needs it.
	signersDoc *signersDoc

	stateChanged, usageChanged, signersChanged bool
	added                                      []Record   // audit records appended
	warnings                                   []logEntry // log-only warnings
}

type logEntry struct {
	msg   string
	attrs []any
}

// blobReader is what Tx and Store have in common.
type blobReader func(name string) ([]byte, error)

// loadDocs reads the stage and the usage evidence; the audit trail is
// read when records are appended (docs.save).
func loadDocs(read blobReader) (*docs, error) {
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

func loadUsage(read blobReader) (*usageDoc, error) {
	u := &usageDoc{Version: formatVersion}
	if err := loadBlob(read, usageName, u); err != nil {
		return nil, err
	}
	for k, v := range u.LastUsed {
		if _, err := parseFP(k); err != nil {
			return nil, &StateError{Name: usageName, Reason: "invalid fingerprint", Err: ErrCorruptState}
		}
		u.LastUsed[k] = normTime(v)
	}
	for k := range u.Refused {
		if _, err := parseFP(k); err != nil {
			return nil, &StateError{Name: usageName, Reason: "invalid fingerprint", Err: ErrCorruptState}
		}
	}
	return u, nil
}

func loadState(read blobReader) (*stateDoc, error) {
	st := &stateDoc{Version: formatVersion, Stage: StageIdle}
	if err := loadBlob(read, stateName, st); err != nil {
		return nil, err
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	return st, nil
}

// versioned is implemented by the three blob types.
type versioned interface{ version() int }

func (s *stateDoc) version() int { return s.Version }
func (u *usageDoc) version() int { return u.Version }
func (a *auditDoc) version() int { return a.Version }

// loadBlob decodes the blob name into v; a missing blob leaves v as it is.
func loadBlob(read blobReader, name string, v versioned) error {
	data, err := read(name)
	if errors.Is(err, keystore.ErrStateNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &StateError{Name: name, Reason: "cannot parse", Err: ErrCorruptState, Cause: err}
	}
	if v.version() != formatVersion {
		return &StateError{Name: name, Reason: fmt.Sprintf("unsupported version %d (want %d)", v.version(), formatVersion), Err: ErrCorruptState}
	}
	return nil
}

// check validates what the code relies on.
func (s *stateDoc) check() error {
	fail := func(reason string) error {
		return &StateError{Name: stateName, Reason: reason, Err: ErrCorruptState}
	}
	if !s.Stage.valid() {
		return fail(fmt.Sprintf("unknown stage %q", s.Stage))
	}
	for _, k := range []*keyRef{s.New, s.Old} {
		if k == nil {
			continue
		}
		if _, err := parseFP(k.SHA256); err != nil {
			return fail("invalid fingerprint")
		}
	}
	if err := s.Retention.check(); err != nil {
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

// latestRecorded returns the latest time recorded in the store: by the
// key store (its commits, the entries' creation and hand-out), by the
// renewal, by the usage evidence and by the partners' renewals.
func latestRecorded(tx *keystore.Tx, d *docs) (time.Time, error) {
	t := tx.Latest()
	add := func(ts ...time.Time) {
		for _, u := range ts {
			if u.After(t) {
				t = u
			}
		}
	}
	s := d.state
	add(s.Started, s.SelfTest, s.Provided, s.Switched, s.FirstNewKeyUse, s.OldUseAudited, s.Ended)
	for _, r := range s.Receivers {
		add(r.Provided, r.Confirmed, r.FirstNewKeyUse, r.OldUseAudited)
	}
	add(d.usage.Recorded)
	sd := d.signersDoc
	if sd == nil {
		var err error
		if sd, err = loadSigners(tx.State); err != nil {
			return time.Time{}, err
		}
	}
	for _, p := range sd.Partners {
		add(p.Started, p.Confirmed, p.FirstNewSignature, p.OldUseAudited, p.Ended)
		for _, c := range []*partnerCert{p.Current, p.Old} {
			if c != nil {
				add(c.Added, c.LastVerified)
			}
		}
	}
	return t, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// normalize makes every time UTC without monotonic reading.
func (s *stateDoc) normalize() {
	for _, t := range []*time.Time{&s.Started, &s.SelfTest, &s.Provided, &s.Switched, &s.Expires, &s.FirstNewKeyUse, &s.OldUseAudited, &s.Ended} {
		*t = normTime(*t)
	}
	for i := range s.Receivers {
		r := &s.Receivers[i]
		for _, t := range []*time.Time{&r.Provided, &r.Confirmed, &r.FirstNewKeyUse, &r.OldUseAudited} {
			*t = normTime(*t)
		}
	}
}

// save writes the changed blobs in tx.
func (d *docs) save(tx *keystore.Tx) error {
	if d.stateChanged {
		if err := setBlob(tx, stateName, d.state); err != nil {
			return err
		}
	}
	if d.usageChanged {
		if err := setBlob(tx, usageName, d.usage); err != nil {
			return err
		}
	}
	if d.signersChanged {
		if err := setBlob(tx, signersName, d.signersDoc); err != nil {
			return err
		}
	}
	if len(d.added) > 0 {
		a := &auditDoc{Version: formatVersion}
		if err := loadBlob(tx.State, auditName, a); err != nil {
			return err
		}
		for _, r := range d.added {
			a.Records = append(a.Records, r.toJSON())
		}
		if n := len(a.Records) - maxAuditRecords; n > 0 {
			a.Records = slices.Delete(a.Records, 0, n)
			a.Dropped += uint64(n)
		}
		if err := setBlob(tx, auditName, a); err != nil {
			return err
		}
	}
	return nil
}

func setBlob(tx *keystore.Tx, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rollover: encode %s: %w", name, err)
	}
	return tx.SetState(name, data)
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
	d.warnings = append(d.warnings, logEntry{msg: msg, attrs: attrs})
}

func fpHex(fp wssec.Fingerprint) string { return hex.EncodeToString(fp[:]) }

func parseFP(s string) (wssec.Fingerprint, error) {
	var fp wssec.Fingerprint
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(fp) {
		return fp, errors.New("invalid fingerprint")
	}
	copy(fp[:], b)
	return fp, nil
}
