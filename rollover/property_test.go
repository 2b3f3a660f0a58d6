package rollover_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestProcedure_randomInterleavings takes the steps in random order with
// random clock jumps, restarts, stale stage values, receivers that switch,
// confirm and go back, and responses that arrive late. The property: at
// no moment does the key ring lack a key that a receiver encrypts to, or
// that a response still within the guaranteed delivery time was
// encrypted to; and every such response decrypts when it arrives.
//
// WSRENEW_ROLLOVER_SEEDS sets the number of seeds (default 16).
func TestProcedure_randomInterleavings(t *testing.T) {
	seeds := 16
	if v, err := strconv.Atoi(os.Getenv("WSRENEW_ROLLOVER_SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	if testing.Short() {
		seeds = 4
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			m := newModel(t, uint64(seed))
			m.run(120)
			t.Logf("renewals completed: %d; last stage %s; log: %d entries", m.removals, m.stage.Report().Stage, len(m.log))
		})
	}
}

// modelReceiver is what a receiver does, as the model knows it.
type modelReceiver struct {
	id        string
	key       string // fixture it encrypts to now
	given     bool   // was given the new certificate
	confirmed bool
}

// inFlight is a response on its way: encrypted, not yet delivered. It
// arrives within the guaranteed delivery time after it was sent, or never.
type inFlight struct {
	msg      []byte
	key      string
	receiver string
	sent     time.Time
}

type model struct {
	t   *testing.T
	rng *rand.Rand
	e   *env
	gd  time.Duration // guaranteed delivery
	ret time.Duration // retention

	stage    rollover.Stage
	stale    []rollover.Stage
	cur, nxt string // fixture names: current key, next key
	attempt  int
	recv     []*modelReceiver
	queue    []inFlight
	log      []string
	removals int
}

func newModel(t *testing.T, seed uint64) *model {
	rng := rand.New(rand.NewPCG(seed, 0x726f6c6c))
	gd := []time.Duration{0, 7 * day, 30 * day, 120 * day}[rng.IntN(4)]
	// The model reuses the fixture keys renewal after renewal: no restore
	// window, so step 7 destroys the old key at once.
	p := rollover.Policy{GuaranteedDelivery: gd, RestoreWindow: -1}
	if gd == 0 {
		gd = 90 * day
	}
	e := newEnv(t, rollover.Options{Policy: p})
	m := &model{t: t, rng: rng, e: e, gd: gd, ret: p.Retention(), cur: testpki.Old, nxt: testpki.New}
	for _, id := range []string{"partner-a", "partner-b"} {
		m.recv = append(m.recv, &modelReceiver{id: id, key: testpki.Old})
	}
	m.stage = e.resume()
	return m
}

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, m.e.clock.Now().Format("2006-01-02T15")+" "+fmt.Sprintf(format, args...))
}

// fail reports a violated property with the history of the run.
func (m *model) fail(format string, args ...any) {
	m.t.Helper()
	for _, l := range m.log {
		m.t.Log(l)
	}
	m.t.Fatalf(format, args...)
}

func (m *model) run(ops int) {
	for range ops {
		switch n := m.rng.IntN(20); {
		case n < 3:
			d := []time.Duration{time.Hour, day, 10 * day, 30 * day, 60 * day}[m.rng.IntN(5)]
			m.e.clock.Advance(d)
			m.logf("advance %v", d)
		case n < 5:
			m.e.restart()
			m.stage = m.e.resume()
			m.logf("restart: %s", m.stage.Report().Stage)
		case n < 8:
			m.send()
		case n < 11:
			m.deliver()
		case n < 12:
			m.e.record()
		case n < 13:
			m.stepStale()
		default:
			m.step()
		}
		m.checkRing()
	}
	// Everything still within the guaranteed delivery time arrives.
	for len(m.queue) > 0 {
		m.deliver()
	}
}

// send has a receiver encrypt a response to its key; half arrive at once.
func (m *model) send() {
	r := m.recv[m.rng.IntN(len(m.recv))]
	msg := encryptTo(m.t, load(r.key).Certificate)
	m.queue = append(m.queue, inFlight{msg: msg, key: r.key, receiver: r.id, sent: m.e.clock.Now()})
	m.logf("%s sends with %s", r.id, r.key)
	if m.rng.IntN(2) == 0 {
		m.deliverAt(len(m.queue) - 1)
	}
}

func (m *model) deliver() {
	if len(m.queue) > 0 {
		m.deliverAt(m.rng.IntN(len(m.queue)))
	}
}

// deliverAt delivers a queued response, unless its sender gave up on it.
func (m *model) deliverAt(i int) {
	f := m.queue[i]
	m.queue = append(m.queue[:i], m.queue[i+1:]...)
	if m.e.clock.Now().Sub(f.sent) >= m.gd {
		m.logf("%s's response with %s expired undelivered", f.receiver, f.key)
		return
	}
	res, err := m.e.decrypt(f.msg)
	if err != nil {
		m.fail("response of %s encrypted to %s at %v does not decrypt: %v", f.receiver, f.key, f.sent, err)
	}
	if m.rng.IntN(2) == 0 {
		m.e.m.Observe(f.receiver, res)
	}
	m.logf("delivered %s's response with %s", f.receiver, f.key)
}

// checkRing checks the property on the key ring of the running process,
// brought up to date with the store: every key a receiver may use is in
// it. (Restarts check that the store itself holds the same.)
func (m *model) checkRing() {
	m.t.Helper()
	if _, err := m.e.store.Reload(ctx); err != nil {
		m.fail("Reload() error = %v", err)
	}
	ring, err := m.e.store.KeyRing()
	if err != nil {
		m.fail("KeyRing() error = %v", err)
	}
	in := map[wssec.Fingerprint]bool{}
	for _, x := range ring.Snapshot() {
		in[x.Fingerprint] = true
	}
	for _, r := range m.recv {
		if !in[fingerprint(r.key)] {
			m.fail("%s encrypts to %s, which is not in the key ring", r.id, r.key)
		}
	}
	for _, f := range m.queue {
		if m.e.clock.Now().Sub(f.sent) < m.gd && !in[fingerprint(f.key)] {
			m.fail("a response of %s to %s sent at %v may still arrive, but the key is not in the ring", f.receiver, f.key, f.sent)
		}
	}
}

// advanceTo records a step's result; the stage it was taken from is stale.
func (m *model) advanceTo(s rollover.Stage) {
	m.stale = append(m.stale, m.stage)
	m.stage = s
	m.logf("now %s", s.Report().Stage)
}

func (m *model) step() {
	m.t.Helper()
	switch s := m.stage.(type) {
	case *rollover.Idle:
		m.attempt++
		next, err := s.CreateKeyPair(ctx, rollover.KeyRequest{Alias: fmt.Sprintf("k%d", m.attempt), Credential: fixture(m.nxt)})
		if err != nil {
			m.fail("ImportKeyPair() error = %v", err)
		}
		m.advanceTo(next)
	case *rollover.KeyPairCreated:
		if m.rng.IntN(5) == 0 {
			m.advanceTo(must(s.Cancel(ctx, "random"))(m.t))
			return
		}
		m.advanceTo(must(s.AddToKeyStore(ctx))(m.t))
	case *rollover.KeyAdded:
		if m.rng.IntN(5) == 0 {
			m.advanceTo(must(s.Cancel(ctx, "random"))(m.t))
			return
		}
		next := must(s.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a", "partner-b")}))(m.t)
		for _, r := range m.recv {
			r.given = true
		}
		m.advanceTo(next)
	case *rollover.CertificateProvided:
		m.receiverStep(s)
	case *rollover.ReceiversSwitched:
		if m.rng.IntN(10) == 0 {
			r := m.recv[m.rng.IntN(len(m.recv))]
			r.key, r.confirmed = m.cur, false
			m.logf("%s goes back to %s", r.id, m.cur)
			m.advanceTo(must(s.WithdrawConfirmation(ctx, r.id, "went back"))(m.t))
			return
		}
		m.remove(s)
	}
}

// receiverStep has a receiver switch, confirm, or go back.
func (m *model) receiverStep(s *rollover.CertificateProvided) {
	r := m.recv[m.rng.IntN(len(m.recv))]
	switch {
	case r.key == m.cur:
		r.key = m.nxt
		m.logf("%s switches to %s", r.id, m.nxt)
	case !r.confirmed && m.rng.IntN(8) == 0:
		r.key = m.cur
		m.logf("%s goes back to %s before confirming", r.id, m.cur)
	case !r.confirmed:
		next := must(s.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: r.id}))(m.t)
		r.confirmed = true
		m.advanceTo(next)
	case m.rng.IntN(6) == 0:
		r.key, r.confirmed = m.cur, false
		m.logf("%s goes back to %s", r.id, m.cur)
		m.advanceTo(must(s.WithdrawConfirmation(ctx, r.id, "went back"))(m.t))
	}
}

// remove tries step 7 and checks the decision against the policy.
func (m *model) remove(s *rollover.ReceiversSwitched) {
	expires := s.Report().OldKeyExpires
	next, err := s.RemoveOldKey(ctx)
	now := m.e.clock.Now()
	if err != nil {
		var re *rollover.RemovalError
		if !errors.As(err, &re) || !errors.Is(err, wssec.ErrRetentionNotElapsed) || !re.AllowedAt.After(now) {
			m.fail("RemoveOldKey() error = %v, want a retention refusal with a later AllowedAt", err)
		}
		if now.Before(expires) && re.AllowedAt.Before(expires) {
			m.fail("RemoveOldKey() AllowedAt %v before the expiry %v", re.AllowedAt, expires)
		}
		m.logf("removal refused until %v", re.AllowedAt)
		return
	}
	if now.Before(expires) {
		m.fail("RemoveOldKey() succeeded at %v, before the expiry %v", now, expires)
	}
	for _, r := range m.recv {
		if !r.confirmed || r.key != m.nxt {
			m.fail("old key removed while %s (confirmed %v) encrypts to %s", r.id, r.confirmed, r.key)
		}
		r.given, r.confirmed = false, false
	}
	m.cur, m.nxt = m.nxt, m.cur
	m.removals++
	m.logf("old key removed")
	m.advanceTo(next)
}

// stepStale takes a step from a stage value the store has moved past: it
// must be refused and change nothing.
func (m *model) stepStale() {
	if len(m.stale) == 0 {
		return
	}
	s := m.stale[m.rng.IntN(len(m.stale))]
	gen := m.generation()
	var err error
	switch s := s.(type) {
	case *rollover.Idle:
		_, err = s.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "stale", Credential: fixture(testpki.Stranger)})
	case *rollover.KeyPairCreated:
		if m.rng.IntN(2) == 0 {
			_, err = s.Cancel(ctx, "stale")
		} else {
			_, err = s.AddToKeyStore(ctx)
		}
	case *rollover.KeyAdded:
		if m.rng.IntN(2) == 0 {
			_, err = s.Cancel(ctx, "stale")
		} else {
			_, err = s.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")})
		}
	case *rollover.CertificateProvided:
		_, err = s.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a"})
	case *rollover.ReceiversSwitched:
		_, err = s.RemoveOldKey(ctx)
	}
	if !errors.Is(err, rollover.ErrStaleStage) && !errors.Is(err, rollover.ErrReceiversPending) {
		m.fail("%s step from a stale stage: error = %v, want ErrStaleStage", s.Report().Stage, err)
	}
	if g := m.generation(); g != gen {
		m.fail("a refused stale step changed the store (generation %d to %d)", gen, g)
	}
	m.logf("stale %s refused", s.Report().Stage)
}

func (m *model) generation() uint64 {
	if _, err := m.e.store.Reload(ctx); err != nil {
		m.fail("Reload() error = %v", err)
	}
	return m.e.store.View().Generation()
}
