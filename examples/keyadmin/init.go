package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/wsrenew/wsrenew/keystore"
)

// cmdInit creates a key store with its first current key, generated or
// imported. The procedure starts from there.
func cmdInit(a *app, args []string) int {
	k, src, fs := a.keyFlags(true)
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	req, msg := a.request(k)
	if msg == "" {
		msg = initKeyUsage(k, src, fs)
	}
	if msg != "" {
		return a.usageError(msg)
	}
	if a.storeDir() == "" {
		return a.usageError("no key store: give -dir DIR or set WSRENEW_KEYSTORE")
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg)
	}
	backend, opts := keystore.Dir(a.dir), a.storeOptions()
	if !a.initDirPrivate() {
		return exitFailure
	}

	// An existing store is refused before a key is generated; one that an
	// interrupted init left empty is taken as it is.
	s, err := keystore.Open(a.ctx, backend, pw, opts)
	switch {
	case err == nil && len(s.View().Entries()) > 0:
		fmt.Fprintf(a.stderr, "keyadmin init: %s already holds a key store with %s; see keyadmin status\n", a.dir, plural(len(s.View().Entries()), "key"))
		return exitFailure
	case err != nil && !errors.Is(err, keystore.ErrNotExist):
		return a.fail(err)
	case err != nil && a.survivors(pw):
		return exitFailure
	}

	var cred *keystore.Credential
	if src.given() {
		cred, err = src.load(a.env)
	} else {
		cred, err = keystore.Generate(req.Subject, keystore.GenerateOptions{Bits: req.Bits, Validity: req.Validity, Now: a.now})
	}
	if err != nil {
		return a.fail(err)
	}
	if s == nil {
		if s, err = keystore.Create(a.ctx, backend, pw, opts); err != nil {
			return a.fail(err)
		}
	}
	err = s.Update(a.ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(req.Alias, cred, nil); err != nil {
			return err
		}
		return tx.Rotate(req.Alias)
	})
	if err != nil {
		return a.fail(err)
	}
	if code, ok := a.manage(s); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	a.printf("created key store %s", a.dir)
	a.printf("current key: %s", a.describe(req.Alias))
	a.stageLines(a.printf, stage)
	return exitOK
}

// initKeyUsage returns the usage error of init's key flags, or "": an
// imported key (src) must be complete and comes with its certificate, so
// it takes none of the flags of a generated key, which needs a subject.
func initKeyUsage(k *keyFlags, src *source, fs *flag.FlagSet) string {
	if !src.given() {
		if *k.subject == "" {
			return "-subject is required for a generated key (or import one with -pkcs12 FILE, -pem FILE or -key FILE -cert FILE)"
		}
		return ""
	}
	if msg := src.check(); msg != "" {
		return msg
	}
	generated := false
	fs.Visit(func(f *flag.Flag) {
		generated = generated || f.Name == "subject" || f.Name == "bits" || f.Name == "validity"
	})
	if generated {
		return "-subject, -bits and -validity are for a generated key; an imported key keeps its certificate"
	}
	return ""
}

// initDirPrivate reports whether the store directory, if it exists, is
// closed to other users, and says why not on stderr. The store's files
// are 0600, but a directory others may write lets them replace or delete
// those files.
func (a *app) initDirPrivate() bool {
	fi, err := os.Stat(a.dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 == 0 {
		return true
	}
	fmt.Fprintf(a.stderr, "keyadmin init: %s is writable by others (mode %04o): anyone could replace or delete the key files; run chmod 700 %s or give a new directory\n",
		a.dir, fi.Mode().Perm(), a.dir)
	return false
}
