package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestRun_statusHolders checks that status lists the processes that
// follow the store and the keys each has loaded.
func TestRun_statusHolders(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	k.want(exitOK, t0, args("status"), "holders: none live")
	f, err := keystore.Follow(context.Background(), keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.FollowOptions{
		Store:     keystore.Options{Now: func() time.Time { return t0 }},
		HolderID:  "replica-1",
		Host:      "app-host",
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	defer f.Close()
	k.want(exitOK, t0, args("status"),
		"holders (processes decrypting with this store's keys):",
		"replica-1  app-host",
		"tenant-2025 ok",
		"ready")
	// It decrypts a response; once it stops, its heartbeat is gone and
	// its usage shows as the key's last use.
	id := testpki.Load(testpki.Old)
	msg, err := (&wssec.Encryptor{Certificate: id.Certificate}).Encrypt([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:test"/></soap:Body></soap:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&wssec.Decryptor{Keys: f.KeyRing()}).Decrypt(msg); err != nil {
		t.Fatalf("Decrypt() error = %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	k.want(exitOK, t0.Add(time.Minute), args("status"),
		"holders: none live",
		"tenant-2025  current  EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF  2046-11-21T06:57:04Z  -               2027-01-04T09:00:00Z")
}
