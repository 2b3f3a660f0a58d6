package keystore_test

import (
	"context"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// powerLossEnv selects the long power-loss run: "full" cuts the power at
// every write and sync of every step under every crash model (five
// random ones); otherwise only the model that loses everything not
// synced runs, at every write and sync.
const powerLossEnv = "WSRENEW_POWERLOSS"

const plPassword = "power-loss-store-password"

var plT0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// plStep is one step of the renewals the power-loss test runs: of the
// decryption key (with both cancellations, adoption of a CA certificate,
// usage recording and a withdrawn confirmation) and of a partner's
// signing certificate.
type plStep struct {
	name string
	at   time.Time // the clock's time during the step
	run  func(m *rollover.Manager, s *keystore.Store) error
}

func plSteps(t *testing.T) []plStep {
	newID := testpki.Load(testpki.New)
	old := testpki.Load(testpki.Old)
	ca := testpki.Load(testpki.CA)
	// A self-signed certificate of the new key, as a generated key has
	// until the CA's answer is adopted.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "pending"},
		NotBefore: plT0.Add(-time.Hour), NotAfter: plT0.Add(400 * 24 * time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &newID.Key.PublicKey, newID.Key)
	if err != nil {
		t.Fatal(err)
	}
	self, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resume := func(m *rollover.Manager) (rollover.Stage, error) { return m.Resume(ctx) }
	step := func(f func(st rollover.Stage) error) func(*rollover.Manager, *keystore.Store) error {
		return func(m *rollover.Manager, _ *keystore.Store) error {
			st, err := resume(m)
			if err != nil {
				return err
			}
			return f(st)
		}
	}
	wrong := func(st rollover.Stage) error { return fmt.Errorf("unexpected stage %s", st.Report().Stage) }
	importKey := func(cert *x509.Certificate) func(*rollover.Manager, *keystore.Store) error {
		return step(func(st rollover.Stage) error {
			idle, ok := st.(*rollover.Idle)
			if !ok {
				return wrong(st)
			}
			_, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: &keystore.Credential{Key: newID.Key, Certificate: cert}})
			return err
		})
	}
	cancel := step(func(st rollover.Stage) error {
		switch s := st.(type) {
		case *rollover.KeyPairCreated:
			_, err := s.Cancel(ctx, "power-loss test")
			return err
		case *rollover.KeyAdded:
			_, err := s.Cancel(ctx, "power-loss test")
			return err
		}
		return wrong(st)
	})
	add := step(func(st rollover.Stage) error {
		s, ok := st.(*rollover.KeyPairCreated)
		if !ok {
			return wrong(st)
		}
		_, err := s.AddToKeyStore(ctx)
		return err
	})
	confirm := func(id string) func(*rollover.Manager, *keystore.Store) error {
		return step(func(st rollover.Stage) error {
			s, ok := st.(*rollover.CertificateProvided)
			if !ok {
				return wrong(st)
			}
			_, err := s.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: id, By: "ops", Reference: "T-" + id})
			return err
		})
	}
	// partnerStep takes a step of the partner's renewal at the time at,
	// the time of the Manager plOpen builds.
	partnerStep := func(at time.Time, f func(st signer.Stage) error) func(*rollover.Manager, *keystore.Store) error {
		return func(_ *rollover.Manager, s *keystore.Store) error {
			st, err := plSigner(s, at).Resume(ctx, "partner")
			if err != nil {
				return err
			}
			return f(st)
		}
	}
	partnerCert := func(name string) signer.Certificate {
		return signer.Certificate{Certificate: testpki.Load(name).Certificate, Chain: []*x509.Certificate{ca.Certificate}, By: "pki", Reference: "CHG-" + name}
	}
	h := time.Hour
	return []plStep{
		{"import self-signed", plT0.Add(1 * h), importKey(self)},
		{"cancel after step 1", plT0.Add(2 * h), cancel},
		{"import again", plT0.Add(3 * h), importKey(self)},
		{"adopt", plT0.Add(4 * h), step(func(st rollover.Stage) error {
			s, ok := st.(*rollover.KeyPairCreated)
			if !ok {
				return wrong(st)
			}
			_, err := s.AdoptCertificate(ctx, newID.Certificate, []*x509.Certificate{ca.Certificate})
			return err
		})},
		{"add", plT0.Add(5 * h), add},
		{"cancel after step 2", plT0.Add(6 * h), cancel},
		{"import CA-signed", plT0.Add(7 * h), importKey(newID.Certificate)},
		{"add again", plT0.Add(8 * h), add},
		{"provide", plT0.Add(9 * h), step(func(st rollover.Stage) error {
			s, ok := st.(*rollover.KeyAdded)
			if !ok {
				return wrong(st)
			}
			_, err := s.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "a"}, {ID: "b"}}})
			return err
		})},
		{"record usage", plT0.Add(10 * h), func(m *rollover.Manager, s *keystore.Store) error {
			ring, err := s.KeyRing()
			if err != nil {
				return err
			}
			for _, id := range []testpki.Identity{newID, old} {
				msg, err := (&wssec.Encryptor{Certificate: id.Certificate}).Encrypt([]byte(plEnvelope))
				if err != nil {
					return err
				}
				res, err := (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
				if err != nil {
					return err
				}
				m.Observe("a", res)
			}
			_, err = m.RecordUsage(ctx)
			return err
		}},
		{"confirm a", plT0.Add(11 * h), confirm("a")},
		{"confirm b", plT0.Add(12 * h), confirm("b")},
		{"withdraw b", plT0.Add(13 * h), step(func(st rollover.Stage) error {
			s, ok := st.(*rollover.ReceiversSwitched)
			if !ok {
				return wrong(st)
			}
			_, err := s.WithdrawConfirmation(ctx, "b", "went back")
			return err
		})},
		{"confirm b again", plT0.Add(14 * h), confirm("b")},
		{"remove old key", plT0.Add(200 * 24 * h), step(func(st rollover.Stage) error {
			s, ok := st.(*rollover.ReceiversSwitched)
			if !ok {
				return wrong(st)
			}
			_, err := s.RemoveOldKey(ctx)
			return err
		})},
		{"restore old key", plT0.Add(201 * 24 * h), func(m *rollover.Manager, s *keystore.Store) error {
			return m.RestoreKey(ctx, "tenant-2025")
		}},
		{"disable old key again", plT0.Add(201*24*h + h), func(m *rollover.Manager, s *keystore.Store) error {
			return s.Update(ctx, func(tx *keystore.Tx) error { return tx.Disable("tenant-2025", keystore.DefaultRestoreWindow) })
		}},
		{"trust partner", plT0.Add(201*24*h + 2*h), partnerStep(plT0.Add(201*24*h+2*h), func(st signer.Stage) error {
			s, ok := st.(*signer.Untrusted)
			if !ok {
				return fmt.Errorf("unexpected signer stage %s", st.Report().Stage)
			}
			_, err := s.Trust(ctx, partnerCert(testpki.Receiver))
			return err
		})},
		{"add partner certificate", plT0.Add(202 * 24 * h), partnerStep(plT0.Add(202*24*h), func(st signer.Stage) error {
			s, ok := st.(*signer.Trusted)
			if !ok {
				return fmt.Errorf("unexpected signer stage %s", st.Report().Stage)
			}
			_, err := s.AddCertificate(ctx, partnerCert(testpki.ReceiverNew))
			return err
		})},
		{"confirm partner", plT0.Add(203 * 24 * h), partnerStep(plT0.Add(203*24*h), func(st signer.Stage) error {
			s, ok := st.(*signer.CertificateAdded)
			if !ok {
				return fmt.Errorf("unexpected signer stage %s", st.Report().Stage)
			}
			_, err := s.ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops", Reference: "CHG-2"})
			return err
		})},
		{"destroy disabled key in the store", plT0.Add(208*24*h + h), func(m *rollover.Manager, s *keystore.Store) error {
			// Any change destroys it, as a follower's tick does.
			if err := s.Update(ctx, func(*keystore.Tx) error { return nil }); err != nil {
				return err
			}
			gone, err := s.Destructions()
			if err == nil && len(gone) != 1 {
				return fmt.Errorf("Destructions() after the window = %d records, want 1", len(gone))
			}
			return err
		}},
		{"move the destruction into the audit trail", plT0.Add(208*24*h + 2*h), func(m *rollover.Manager, s *keystore.Store) error {
			return m.Note(ctx, "restore window passed")
		}},
		{"remove partner certificate", plT0.Add(400 * 24 * h), partnerStep(plT0.Add(400*24*h), func(st signer.Stage) error {
			s, ok := st.(*signer.Switched)
			if !ok {
				return fmt.Errorf("unexpected signer stage %s", st.Report().Stage)
			}
			_, err := s.RemoveOldCertificate(ctx)
			return err
		})},
	}
}

const plEnvelope = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r>ok</r></s:Body></s:Envelope>`

// plOpen opens the store on disk with the clock at at.
func plOpen(disk *keystore.PowerDisk, at time.Time) (*keystore.Store, *rollover.Manager, error) {
	clock := fakeclock.New(at)
	s, err := keystore.Open(context.Background(), disk.Backend(), keystore.PasswordValue(plPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		return nil, nil, err
	}
	m, err := rollover.NewManager(s, rollover.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	return s, m, err
}

// plSigner returns a Manager of the partners' renewals in s with the
// clock at at; nil if it cannot be built, which Resume reports.
func plSigner(s *keystore.Store, at time.Time) *signer.Manager {
	m, _ := signer.New(s, rollover.Options{Now: func() time.Time { return at }, Logger: slog.New(slog.DiscardHandler)})
	return m
}

// plState summarizes what a power loss must keep whole: the entries with
// their ring state, the renewal's stage and the audit trail's length.
func plState(s *keystore.Store, m *rollover.Manager) string {
	var b strings.Builder
	for _, e := range s.View().Entries() {
		fmt.Fprintf(&b, "%s %s %s expires=%s provided=%s floor=%s disabled=%s destroy=%s\n", e.Alias, e.Status, e.Fingerprint.String(),
			e.Expires.Format(time.RFC3339), e.Provided.Format(time.RFC3339), e.RetainUntil.Format(time.RFC3339),
			e.DisabledAt.Format(time.RFC3339), e.DestroyAfter.Format(time.RFC3339))
	}
	st, err := m.Resume(context.Background())
	if err != nil {
		fmt.Fprintf(&b, "resume: %v\n", err)
	} else {
		r := st.Report()
		fmt.Fprintf(&b, "stage %s renewal %d old-expires %s\n", r.Stage, r.Renewal, r.OldKeyExpires.Format(time.RFC3339))
		for _, rr := range r.Receivers {
			fmt.Fprintf(&b, "receiver %s confirmed %s\n", rr.Receiver.ID, rr.Confirmed.Format(time.RFC3339))
		}
	}
	if sg, err := plSigner(s, plT0).Resume(context.Background(), "partner"); err == nil {
		fmt.Fprintf(&b, "signer %s renewal %d\n", sg.Report().Stage, sg.Report().Renewal)
	}
	h, err := rollover.History(s)
	fmt.Fprintf(&b, "audit records %d %v\n", len(h), err)
	d, err := s.Destructions()
	fmt.Fprintf(&b, "destructions not in the trail %d %v\n", len(d), err)
	return b.String()
}

// Cut the power at every write and sync of every step of a renewal and
// check what survives: the store opens, it holds the state before or
// after the step (so no key is lost and the stage matches the keys), the
// old key's expiry is the one the procedure sets, the ring decrypts with
// every key it holds, and the next change succeeds and cleans up.
func TestStore_powerLoss(t *testing.T) {
	full := os.Getenv(powerLossEnv) == "full"
	models := []int{0}
	seeds := 1
	if full {
		models = []int{0, 1, 2}
		seeds = 5
	}
	ctx := context.Background()
	steps := plSteps(t)

	disk := keystore.NewPowerDisk("/store/keys")
	clock := fakeclock.New(plT0)
	s, err := keystore.Create(ctx, disk.Backend(), keystore.PasswordValue(plPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	old := testpki.Load(testpki.Old)
	err = s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", &keystore.Credential{Key: old.Key, Certificate: old.Certificate}, nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		t.Fatal(err)
	}

	cuts, outcomes := 0, map[string]int{}
	for _, st := range steps {
		// The step without a cut: how many writes and syncs it makes,
		// and the state after it.
		beforeDisk := disk.Clone()
		bs, bm, err := plOpen(beforeDisk.Clone(), st.at)
		if err != nil {
			t.Fatalf("%s: open before: %v", st.name, err)
		}
		before := plState(bs, bm)
		s, m, err := plOpen(disk, st.at)
		if err != nil {
			t.Fatalf("%s: open: %v", st.name, err)
		}
		disk.CutBefore(0)
		if err := st.run(m, s); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		n := disk.Operations()
		as, am, err := plOpen(disk.Clone(), st.at)
		if err != nil {
			t.Fatalf("%s: open after: %v", st.name, err)
		}
		after := plState(as, am)
		if after == before {
			t.Fatalf("%s changed nothing:\n%s", st.name, after)
		}

		for cut := 1; cut <= n+1; cut++ {
			for _, model := range models {
				for seed := range seeds {
					if model != 2 && seed > 0 {
						continue
					}
					cuts++
					name := fmt.Sprintf("%s, cut before operation %d of %d, %s", st.name, cut, n, keystore.ModelName(model))
					d := beforeDisk.Clone()
					s, m, err := plOpen(d, st.at)
					if err != nil {
						t.Fatalf("%s: open: %v", name, err)
					}
					d.CutBefore(cut)
					stepErr := st.run(m, s)
					d.Crash(model, rand.New(rand.NewPCG(uint64(cut), uint64(seed))))
					which := plCheck(t, name, d, st.at, before, after)
					if stepErr == nil && which != "after" {
						// What a step reported done must survive.
						t.Fatalf("%s: the step succeeded, but the store holds the state before it", name)
					}
					outcomes[which]++
				}
			}
		}
		// Go on from the state after the step.
		disk = beforeDisk
		s, m, err = plOpen(disk, st.at)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.run(m, s); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	t.Logf("%d steps, %d simulated power cuts: %d left the state before the step, %d the state after it; keys lost: 0",
		len(steps), cuts, outcomes["before"], outcomes["after"])
	if full && cuts < 1000 {
		t.Errorf("%d cuts, want at least 1000 in the full run", cuts)
	}
}

// plCheck checks the store on d after a power cut during a step whose
// states before and after are given, and reports which one it holds.
func plCheck(t *testing.T, name string, d *keystore.PowerDisk, at time.Time, before, after string) string {
	t.Helper()
	ctx := context.Background()
	s, m, err := plOpen(d, at)
	if err != nil {
		t.Fatalf("%s: the store does not open: %v\nfiles:\n%s", name, err, d.Files())
	}
	got := plState(s, m)
	var which string
	switch got {
	case before:
		which = "before"
	case after:
		which = "after"
	default:
		t.Fatalf("%s: the store holds\n%s\nwant the state before the step\n%s\nor after it\n%s", name, got, before, after)
	}
	st, err := m.Resume(ctx)
	if err != nil {
		t.Fatalf("%s: Resume() error = %v", name, err)
	}
	r := st.Report()
	for _, e := range s.View().Entries() {
		if r.Old == nil || e.Alias != r.Old.Alias {
			continue
		}
		switch r.Stage {
		case rollover.StageReceiversSwitched:
			if !e.Expires.Equal(r.OldKeyExpires) || e.Expires.Before(plT0.Add(90*24*time.Hour)) {
				t.Fatalf("%s: old key expires %v, the procedure says %v", name, e.Expires, r.OldKeyExpires)
			}
		case rollover.StageKeyAdded, rollover.StageCertificateProvided:
			if !e.Expires.IsZero() {
				t.Fatalf("%s: old key expires %v at stage %s, want no expiry", name, e.Expires, r.Stage)
			}
		}
	}
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatalf("%s: KeyRing() error = %v", name, err)
	}
	for _, e := range s.View().Entries() {
		if e.Status == keystore.StatusPending {
			continue
		}
		msg, err := (&wssec.Encryptor{Certificate: e.Certificate}).Encrypt([]byte(plEnvelope))
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
		if e.Status == keystore.StatusDisabled {
			if !errors.Is(s.CheckRefusal(err, nil), keystore.ErrKeyDisabled) {
				t.Fatalf("%s: a message to disabled key %s: %v, want %v", name, e.Alias, err, keystore.ErrKeyDisabled)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: the ring does not decrypt with %s: %v", name, e.Alias, err)
		}
	}
	// The next change succeeds and removes what the cut left behind.
	if err := m.Note(ctx, "after a power cut"); err != nil {
		t.Fatalf("%s: the next change fails: %v", name, err)
	}
	names, err := d.Backend().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"manifest.json"}
	for _, e := range s.View().Entries() {
		want = append(want, strings.TrimPrefix(e.Location, "blob:"))
	}
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("%s: files after the next change = %v, want %v", name, names, want)
	}
	return which
}
