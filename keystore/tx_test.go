package keystore

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

func TestTx(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	oldFP, newFP, strFP := fingerprint(testpki.Old).String(), fingerprint(testpki.New).String(), fingerprint(testpki.Stranger).String()
	ticket := map[string]string{"ticket": "OPS-1"}
	// Each row starts from ringStore: new current, old retained without
	// expiry, stranger pending.
	tests := []struct {
		name    string
		setup   func(tx *Tx) error // committed before the clock advances
		advance time.Duration      // of the clock, before the update
		fn      func(tx *Tx) error
		wantErr error
		want    []view // nil: unchanged
	}{
		{
			name: "set expiry",
			fn:   func(tx *Tx) error { return tx.Retain("old", t0.Add(90*day)) },
			want: []view{{"old", StatusRetained, t0.Add(90 * day), oldFP, nil}, {"new", StatusCurrent, time.Time{}, newFP, ticket}, {"stranger", StatusPending, time.Time{}, strFP, nil}},
		},
		{
			name: "clear expiry",
			fn: func(tx *Tx) error {
				return errors.Join(tx.Retain("old", t0.Add(90*day)), tx.Retain("old", time.Time{}))
			},
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, nil}, {"new", StatusCurrent, time.Time{}, newFP, ticket}, {"stranger", StatusPending, time.Time{}, strFP, nil}},
		},
		{
			name: "rotate pending",
			fn:   func(tx *Tx) error { return tx.Rotate("stranger") },
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, nil}, {"new", StatusRetained, time.Time{}, newFP, ticket}, {"stranger", StatusCurrent, time.Time{}, strFP, nil}},
		},
		{
			name: "rotate back to retained",
			fn:   func(tx *Tx) error { return errors.Join(tx.Retain("old", t0.Add(MinRetention)), tx.Rotate("old")) },
			want: []view{{"old", StatusCurrent, time.Time{}, oldFP, nil}, {"new", StatusRetained, time.Time{}, newFP, ticket}, {"stranger", StatusPending, time.Time{}, strFP, nil}},
		},
		{
			name: "retain pending",
			fn:   func(tx *Tx) error { return tx.Retain("stranger", t0.Add(day)) },
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, nil}, {"new", StatusCurrent, time.Time{}, newFP, ticket}, {"stranger", StatusRetained, t0.Add(day), strFP, nil}},
		},
		{
			name: "remove pending",
			fn:   func(tx *Tx) error { return tx.Remove("stranger") },
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, nil}, {"new", StatusCurrent, time.Time{}, newFP, ticket}},
		},
		{
			name:    "remove retained after expiry",
			setup:   func(tx *Tx) error { return tx.Retain("old", t0.Add(90*day)) },
			advance: 90 * day,
			fn:      func(tx *Tx) error { return tx.Remove("old") },
			want:    []view{{"new", StatusCurrent, time.Time{}, newFP, ticket}, {"stranger", StatusPending, time.Time{}, strFP, nil}},
		},
		{
			name: "labels",
			fn: func(tx *Tx) error {
				return errors.Join(tx.SetLabels("old", map[string]string{"a": "b"}), tx.SetLabels("new", nil))
			},
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, map[string]string{"a": "b"}}, {"new", StatusCurrent, time.Time{}, newFP, nil}, {"stranger", StatusPending, time.Time{}, strFP, nil}},
		},
		{
			name: "retain pending with an expiry",
			fn:   func(tx *Tx) error { return tx.Retain("stranger", t0.Add(day)) },
			want: []view{{"old", StatusRetained, time.Time{}, oldFP, nil}, {"new", StatusCurrent, time.Time{}, newFP, ticket}, {"stranger", StatusRetained, t0.Add(day), strFP, nil}},
		},
		{
			name:    "remove retained without expiry",
			fn:      func(tx *Tx) error { return tx.Remove("old") },
			wantErr: wssec.ErrRetentionNotElapsed,
		},
		{
			name:    "remove retained before expiry",
			setup:   func(tx *Tx) error { return tx.Retain("old", t0.Add(90*day)) },
			advance: 90*day - time.Second,
			fn:      func(tx *Tx) error { return tx.Remove("old") },
			wantErr: wssec.ErrRetentionNotElapsed,
		},
		{name: "remove current, leaving none", fn: func(tx *Tx) error { return tx.Remove("new") }, wantErr: ErrNoCurrentKey},
		{name: "rotate current", fn: func(tx *Tx) error { return tx.Rotate("new") }, wantErr: ErrStatus},
		{name: "retain current", fn: func(tx *Tx) error { return tx.Retain("new", time.Time{}) }, wantErr: ErrStatus},
		{name: "expiry of current", fn: func(tx *Tx) error { return tx.Retain("new", t0) }, wantErr: ErrStatus},
		{name: "certificate of current", fn: func(tx *Tx) error { return tx.SetCertificate("new", testpki.Load(testpki.New).Certificate, nil) }, wantErr: ErrStatus},
		{name: "unknown alias rotate", fn: func(tx *Tx) error { return tx.Rotate("nope") }, wantErr: ErrUnknownAlias},
		{name: "unknown alias retain", fn: func(tx *Tx) error { return tx.Retain("nope", t0) }, wantErr: ErrUnknownAlias},
		{name: "unknown alias expiry", fn: func(tx *Tx) error { return tx.Retain("nope", t0) }, wantErr: ErrUnknownAlias},
		{name: "unknown alias remove", fn: func(tx *Tx) error { return tx.Remove("nope") }, wantErr: ErrUnknownAlias},
		{name: "unknown alias labels", fn: func(tx *Tx) error { return tx.SetLabels("nope", nil) }, wantErr: ErrUnknownAlias},
		{name: "unknown alias certificate", fn: func(tx *Tx) error { return tx.SetCertificate("nope", nil, nil) }, wantErr: ErrUnknownAlias},
		{name: "unknown alias entry", fn: func(tx *Tx) error { _, err := tx.Entry("nope"); return err }, wantErr: ErrUnknownAlias},
		{name: "duplicate alias", fn: func(tx *Tx) error { return tx.Add("old", fixture(testpki.Receiver), nil) }, wantErr: ErrDuplicateAlias},
		{name: "duplicate key", fn: func(tx *Tx) error { return tx.Add("old2", fixture(testpki.Old), nil) }, wantErr: ErrDuplicateKey},
		{name: "invalid alias", fn: func(tx *Tx) error { return tx.Add("../x", fixture(testpki.Receiver), nil) }, wantErr: ErrInvalidName},
		{name: "nil credential", fn: func(tx *Tx) error { return tx.Add("r", nil, nil) }, wantErr: ErrMalformed},
		{
			name: "mismatched credential",
			fn: func(tx *Tx) error {
				c := fixture(testpki.Receiver)
				c.Certificate = testpki.Load(testpki.CA).Certificate
				return tx.Add("r", c, nil)
			},
			wantErr: ErrKeyMismatch,
		},
		{
			name:    "caller error",
			fn:      func(tx *Tx) error { return errors.Join(tx.Remove("stranger"), context.DeadlineExceeded) },
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clock, dir := ringStore(t)
			if tc.setup != nil {
				mustUpdate(t, s, tc.setup)
			}
			before, gen := views(s.View().Entries()), s.View().Generation()
			clock.Advance(tc.advance)
			err := s.Update(context.Background(), tc.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update() error = %v, want %v", err, tc.wantErr)
			}
			want := tc.want
			if tc.wantErr != nil {
				want = before
				if s.View().Generation() != gen {
					t.Errorf("failed Update() changed the generation from %d to %d", gen, s.View().Generation())
				}
			}
			if diff := cmp.Diff(want, views(s.View().Entries())); diff != "" {
				t.Errorf("entries mismatch (-want +got):\n%s", diff)
			}
			// What is on disk is what the store holds.
			if diff := cmp.Diff(want, views(openTestStore(t, dir, clock).View().Entries())); diff != "" {
				t.Errorf("entries after Open mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTx_RetentionError(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	until := t0.Add(MinRetention)
	mustUpdate(t, s, func(tx *Tx) error { return tx.Retain("old", until) })
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.Remove("old") })
	var re *wssec.KeyError
	if !errors.As(err, &re) || re.Err != wssec.ErrRetentionNotElapsed {
		t.Fatalf("Remove() error = %v, want a *wssec.KeyError for %v", err, wssec.ErrRetentionNotElapsed)
	}
	if !re.AllowedAt.Equal(until) || re.Fingerprint != fingerprint(testpki.Old) {
		t.Errorf("KeyError = %+v, want AllowedAt %v for old", re, until)
	}
}

func TestTx_commitRules(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	err := s.Update(context.Background(), func(tx *Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Retain("old", time.Time{}))
	})
	if !errors.Is(err, ErrNoCurrentKey) {
		t.Errorf("Update() with a retained key and no current key error = %v, want %v", err, ErrNoCurrentKey)
	}
	// Within one transaction the order does not matter.
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(
			tx.Add("old", fixture(testpki.Old), nil),
			tx.Retain("old", time.Time{}),
			tx.Add("new", fixture(testpki.New), nil),
			tx.Rotate("new"),
		)
	})
	// Adding and removing in one transaction writes nothing for the key.
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("tmp", fixture(testpki.Stranger), nil), tx.Remove("tmp"))
	})
	if _, err := s.View().Entry("tmp"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("Entry(tmp) error = %v, want %v", err, ErrUnknownAlias)
	}
}

func TestTx_noChange(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	gen := s.View().Generation()
	mustUpdate(t, s, func(tx *Tx) error {
		if tx.Generation() != gen {
			t.Errorf("Tx.Generation() = %d, want %d", tx.Generation(), gen)
		}
		_, err := tx.Entry("old")
		return errors.Join(err, tx.SetState("absent", nil))
	})
	if s.View().Generation() != gen {
		t.Errorf("Update() without changes moved the generation from %d to %d", gen, s.View().Generation())
	}
}

func TestTx_done(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	var kept *Tx
	mustUpdate(t, s, func(tx *Tx) error { kept = tx; return nil })
	calls := map[string]error{
		"Add":            kept.Add("x", fixture(testpki.Receiver), nil),
		"Rotate":         kept.Rotate("stranger"),
		"Retain":         kept.Retain("stranger", t0),
		"Remove":         kept.Remove("stranger"),
		"SetLabels":      kept.SetLabels("old", nil),
		"SetCertificate": kept.SetCertificate("stranger", nil, nil),
		"SetState":       kept.SetState("x", []byte("1")),
	}
	_, calls["Entry"] = kept.Entry("old")
	_, calls["State"] = kept.State("x")
	for name, err := range calls {
		if !errors.Is(err, ErrTxDone) {
			t.Errorf("%s after Update error = %v, want %v", name, err, ErrTxDone)
		}
	}
}

func TestTx_State(t *testing.T) {
	t.Parallel()
	s, clock, dir := ringStore(t)
	tests := []struct {
		name    string
		fn      func(tx *Tx) error
		wantErr error
	}{
		{name: "set", fn: func(tx *Tx) error { return tx.SetState("rollover", []byte(` {"stage": 3} `)) }},
		{name: "second", fn: func(tx *Tx) error { return tx.SetState("audit", []byte(`[1, 2]`)) }},
		{name: "invalid JSON", fn: func(tx *Tx) error { return tx.SetState("x", []byte(`{`)) }, wantErr: ErrInvalidState},
		{name: "two values", fn: func(tx *Tx) error { return tx.SetState("x", []byte(`1 2`)) }, wantErr: ErrInvalidState},
		{name: "empty", fn: func(tx *Tx) error { return tx.SetState("x", []byte{}) }, wantErr: ErrInvalidState},
		{name: "invalid name", fn: func(tx *Tx) error { return tx.SetState("a/b", []byte(`1`)) }, wantErr: ErrInvalidName},
		{name: "read in tx", fn: func(tx *Tx) error {
			got, err := tx.State("rollover")
			if string(got) != `{"stage":3}` {
				t.Errorf("Tx.State() = %s", got)
			}
			return err
		}},
		{name: "read missing in tx", fn: func(tx *Tx) error { _, err := tx.State("missing"); return err }, wantErr: ErrStateNotFound},
		{name: "delete", fn: func(tx *Tx) error { return tx.SetState("audit", nil) }},
	}
	for _, tc := range tests { // in order: each row builds on the one before
		err := s.Update(context.Background(), tc.fn)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: Update() error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	r := openTestStore(t, dir, clock)
	if got, err := r.View().State("rollover"); err != nil || string(got) != `{"stage":3}` {
		t.Errorf("View().State(rollover) = %s, %v; want {\"stage\":3}", got, err)
	}
	if _, err := r.View().State("audit"); !errors.Is(err, ErrStateNotFound) {
		t.Errorf("View().State(deleted) error = %v, want %v", err, ErrStateNotFound)
	}
	if _, err := r.View().State("bad name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("View().State(bad name) error = %v, want %v", err, ErrInvalidName)
	}
	// The returned bytes are a copy.
	got, _ := r.View().State("rollover")
	got[0] = 'X'
	if again, _ := r.View().State("rollover"); again[0] != '{' {
		t.Errorf("modifying View().State's result changed the store")
	}
}

func TestTx_SetCertificate(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	old := testpki.Load(testpki.Old)
	ca := testpki.Load(testpki.CA)
	// A pending key with a self-signed certificate, as Generate makes.
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.Add("next", &Credential{Key: old.Key, Certificate: selfSigned(t, old.Key, "next")}, nil)
	})
	before, _ := s.View().Entry("next")

	tests := []struct {
		name    string
		cert    func() *Credential
		wantErr error
	}{
		{name: "other key", cert: func() *Credential { return fixture(testpki.Stranger) }, wantErr: ErrKeyMismatch},
		{name: "nil", cert: func() *Credential { return &Credential{} }, wantErr: ErrMalformed},
		{name: "CA-signed", cert: func() *Credential {
			return &Credential{Certificate: old.Certificate, Chain: []*x509.Certificate{ca.Certificate}}
		}},
	}
	for _, tc := range tests {
		c := tc.cert()
		err := s.Update(context.Background(), func(tx *Tx) error { return tx.SetCertificate("next", c.Certificate, c.Chain) })
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: SetCertificate() error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	after, _ := s.View().Entry("next")
	if !after.Certificate.Equal(old.Certificate) || len(after.Chain) != 1 || !after.Chain[0].Equal(ca.Certificate) {
		t.Errorf("entry after SetCertificate has certificate %v and chain %d, want the CA-signed one", after.Certificate.Subject, len(after.Chain))
	}
	if after.Location == before.Location {
		t.Errorf("SetCertificate kept location %s; a new generation needs a new file", after.Location)
	}
	// Another entry with the certificate is refused.
	err := s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.Add("again", &Credential{Key: old.Key, Certificate: selfSigned(t, old.Key, "again")}, nil); err != nil {
			return err
		}
		return tx.SetCertificate("again", old.Certificate, nil)
	})
	if !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("SetCertificate(duplicate) error = %v, want %v", err, ErrDuplicateKey)
	}
}
