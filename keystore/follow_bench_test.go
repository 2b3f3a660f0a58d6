package keystore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// message1KB is a SOAP response with a 1 KB body, encrypted to the
// fixture "old".
func message1KB(b *testing.B) []byte {
	b.Helper()
	var body strings.Builder
	for i := 0; body.Len() < 1<<10; i++ {
		fmt.Fprintf(&body, `<tns:Order id="o-%d"><tns:Total currency="EUR">1.50</tns:Total></tns:Order>`, i)
	}
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><tns:Orders xmlns:tns="urn:orders">` +
		body.String() + `</tns:Orders></soap:Body></soap:Envelope>`
	msg, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.Old).Certificate, DataEncryption: wssec.AES256GCM}).Encrypt([]byte(env))
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

// benchFollower follows a directory store whose current key is "old",
// without polling.
func benchFollower(b *testing.B) *Follower {
	b.Helper()
	dir := b.TempDir() + "/store"
	s, err := Create(context.Background(), Dir(dir), PasswordValue(testPassword), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old"))
	}); err != nil {
		b.Fatal(err)
	}
	f, err := Follow(context.Background(), Dir(dir), PasswordValue(testPassword), FollowOptions{
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkFollower_decrypt compares a 1 KB decryption through a
// follower's ring with one through a plain ring of the same key, paired:
// each iteration times both, in alternating order, and the benchmark
// reports the median ratio (follower/plain). Following adds nothing to
// the decrypt path: the ring's usage counters it reads exist anyway.
func BenchmarkFollower_decrypt(b *testing.B) {
	msg := message1KB(b)
	id := testpki.Load(testpki.Old)
	plain := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: id.Key, Certificate: id.Certificate})}
	followed := &wssec.Decryptor{Keys: benchFollower(b).KeyRing()}
	var ratios []float64
	for i := 0; b.Loop(); i++ {
		first, second := followed, plain
		if i%2 == 1 {
			first, second = plain, followed
		}
		t0 := time.Now()
		if _, err := first.Decrypt(msg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := second.Decrypt(msg); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		f, p := t1.Sub(t0), t2.Sub(t1)
		if i%2 == 1 {
			f, p = p, f
		}
		ratios = append(ratios, float64(f)/float64(p))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "follower/plain")
}

// BenchmarkFollower_writeUsage times one write of a holder's usage
// record to a directory store, which a follower does at most once per
// UsageInterval (10 s by default), whatever the traffic.
func BenchmarkFollower_writeUsage(b *testing.B) {
	msg := message1KB(b)
	f := benchFollower(b)
	d := &wssec.Decryptor{Keys: f.KeyRing()}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if _, err := d.Decrypt(msg); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := f.writeUsage(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
