package signer_test

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/rollover/signer"
)

// lastSignerAction is the audit record each stage's step leaves last.
var lastSignerAction = map[rollover.StageName]rollover.Action{
	signer.StageCertificateAdded: signer.ActionAddCertificate,
	signer.StageSwitched:         signer.ActionSetOldCertificateExpiry,
	signer.StageTrusted:          signer.ActionRemoveOldCertificate,
}

// TestSigner_crash runs a child process that takes the steps of the
// partner's renewal in a loop, renewal after renewal, and kills it with
// SIGKILL at random moments, as TestProcedure_crash does for the
// decryption key. After each kill the partner's stage must be the one
// before or after the step the child was taking, the trust ring built
// from the store must hold exactly the stage's certificates, and the
// audit trail must end with the stage's record and have lost nothing.
func TestSigner_crash(t *testing.T) {
	kills, rng := proctest.CrashStart(t, crashChildEnv)
	e := newEnv(t, rollover.Options{})

	var history []rollover.Record
	stages := map[rollover.StageName]int{}
	for i := range kills {
		announced := proctest.RunChild(t, crashChildEnv, "TestSigner_crashChild", e.dir, rng)
		e.restart()
		s, err := e.m.Resume(ctx, partner)
		if err != nil {
			t.Fatalf("kill %d: Resume() error = %v", i, err)
		}
		stages[s.Report().Stage]++
		got := must(rollover.History(e.store))(t)
		history = proctest.Grown(t, i, history, got)
		if n := len(got); n > 0 && s.Report().Stage != signer.StageUntrusted {
			last := got[n-1].Action
			if last != lastSignerAction[s.Report().Stage] && !(s.Report().Stage == signer.StageTrusted && last == signer.ActionTrustCertificate) {
				t.Fatalf("kill %d: stage %s, but the last record is %s", i, s.Report().Stage, last)
			}
		}
		if len(announced) > 0 {
			last := announced[len(announced)-1]
			if string(s.Report().Stage) != last[0] && string(s.Report().Stage) != last[1] {
				t.Fatalf("kill %d: stage %s, but the child was going from %s to %s", i, s.Report().Stage, last[0], last[1])
			}
		}
		if s.Report().Stage == signer.StageUntrusted {
			continue
		}
		want := map[rollover.StageName]int{signer.StageTrusted: 1, signer.StageCertificateAdded: 2, signer.StageSwitched: 2}[s.Report().Stage]
		if ring := must(e.m.TrustRing(partner))(t); len(ring.Snapshot()) != want {
			t.Fatalf("kill %d: stage %s, but the trust ring holds %d certificates", i, s.Report().Stage, len(ring.Snapshot()))
		}
	}
	t.Logf("%d kills; stages found: %v; %d audit records", kills, stages, len(history))
}

// TestSigner_crashChild is the child of TestSigner_crash. It resumes the
// partner's renewal and takes step after step, a day apart (91 days
// before removing the old certificate), the partner switching between
// the fixtures "receiver" and "receiver-new", and announces "step FROM TO"
// on stdout before each step.
func TestSigner_crashChild(t *testing.T) {
	clock := fakeclock.New(t0)
	store := proctest.OpenChild(t, crashChildEnv, storePassword, clock.Now)
	if h := must(rollover.History(store))(t); len(h) > 0 {
		clock.Set(h[len(h)-1].Time.Add(time.Hour))
	}
	m := must(signer.New(store, rollover.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}))(t)
	say := func(from, to rollover.StageName) {
		os.Stdout.WriteString(fmt.Sprintf("step %s %s\n", from, to))
	}
	for {
		s := must(m.Resume(ctx, partner))(t)
		clock.Advance(day)
		switch s := s.(type) {
		case *signer.Untrusted:
			say(s.Report().Stage, signer.StageTrusted)
			must(s.Trust(ctx, partnerCert(testpki.Receiver)))(t)
		case *signer.Trusted:
			next := testpki.ReceiverNew
			if s.Report().Current.Fingerprint == fingerprint(testpki.ReceiverNew) {
				next = testpki.Receiver
			}
			say(s.Report().Stage, signer.StageCertificateAdded)
			must(s.AddCertificate(ctx, partnerCert(next)))(t)
		case *signer.CertificateAdded:
			say(s.Report().Stage, signer.StageSwitched)
			must(s.ConfirmPartnerSwitched(ctx, signer.Confirmation{Reference: "CHG"}))(t)
		case *signer.Switched:
			clock.Advance(91 * day)
			say(s.Report().Stage, signer.StageTrusted)
			must(s.RemoveOldCertificate(ctx))(t)
		}
	}
}
