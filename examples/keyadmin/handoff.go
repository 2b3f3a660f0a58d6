package main

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// cmdProvide is step 3: the self-test, the receivers, the bundle.
func cmdProvide(a *app, args []string) int {
	fs := a.flags()
	var receivers receiverFlags
	fs.Var(&receivers, "receiver", "a receiver given the certificate, as ID or ID=DESCRIPTION; repeat for several (at least one)")
	dir := fs.String("to-dir", "", "directory for the hand-off bundle (required)")
	note := fs.String("note", "", "note for the audit trail, such as how the bundle is sent")
	var transports transportFlags
	fs.Var(&transports, "transport", "a receiver's key transport, as ID=ALGORITHM (such as rsa-oaep-mgf1p for a key in SoftHSM2); default rsa-oaep (SHA-256)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if len(receivers) == 0 {
		return a.usageError("at least one -receiver is required")
	}
	if msg := transports.apply(receivers); msg != "" {
		return a.usageError(msg)
	}
	if *dir == "" {
		return a.usageError("-to-dir is required")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	added, ok := stage.(*rollover.KeyAdded)
	if !ok {
		return a.wrongStage(stage, "this is step 3, after step 2")
	}
	// The directory is made before the step, so that writing the bundle
	// afterwards is unlikely to fail.
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return a.fail(err)
	}
	provided, err := added.ProvideCertificate(a.ctx, rollover.Handoff{Receivers: receivers, Note: *note})
	if err != nil {
		return a.fail(err)
	}
	ids := make([]string, len(receivers))
	for i, r := range receivers {
		ids[i] = r.ID
	}
	a.printf("step 3 done: self-test passed; certificate of %s provided to %s", provided.Report().New.Alias, list(ids))
	b, err := provided.Bundle()
	if err == nil {
		err = a.writeBundle(*dir, b)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "keyadmin provide: the step is recorded, but the bundle was not written: %v\n", err)
		fmt.Fprintf(a.stderr, "write the certificate again with keyadmin export-cert -alias %s\n", provided.Report().New.Alias)
		return exitFailure
	}
	a.printf("SHA-256: %s", wssec.FingerprintOf(b.Certificate))
	a.stageLines(a.printf, provided)
	return exitOK
}

// writeBundle writes what the receivers' administrators get.
func (a *app) writeBundle(dir string, b *rollover.Bundle) error {
	base := filepath.Join(dir, b.Alias)
	files := []struct {
		ext, what string
		data      []byte
	}{
		{".pem", "certificate and chain, PEM", b.PEM()},
		{".der", "certificate, DER", b.Certificate.Raw},
		{".txt", "fingerprints and key identifiers", []byte(b.String())},
	}
	for _, f := range files {
		if err := os.WriteFile(base+f.ext, f.data, 0o644); err != nil {
			return err
		}
		a.printf("wrote %s (%s)", base+f.ext, f.what)
	}
	return nil
}

// cmdExportCert writes a key's certificate.
func cmdExportCert(a *app, args []string) int {
	fs := a.flags()
	alias := fs.String("alias", "", "the key; the current key if empty")
	format := fs.String("format", "pem", "pem or der")
	out := fs.String("out", "-", "file to write, or - for standard output (PEM only)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	switch {
	case *format != "pem" && *format != "der":
		return a.usageError("-format is pem or der")
	case *format == "der" && *out == "-":
		return a.usageError("DER is binary: give -out FILE")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	if *alias == "" {
		for _, e := range a.store.View().Entries() {
			if e.Status == keystore.StatusCurrent {
				*alias = e.Alias
			}
		}
	}
	// A certificate that leaves the store counts as handed to a
	// receiver: the store keeps the key until its retention ends, and a
	// renewal whose new key it is can no longer be cancelled.
	before, _ := a.store.View().Entry(*alias)
	c, err := a.m.ExportCertificate(a.ctx, *alias, "keyadmin export-cert")
	if err != nil {
		return a.fail(err)
	}
	if before.Provided.IsZero() {
		fmt.Fprintf(a.stderr, "keyadmin: recorded that the certificate of %s was handed out: the store keeps this key until its retention ends", *alias)
		if st, err := a.m.Resume(a.ctx); err == nil && st.Report().Stage == rollover.StageKeyAdded && st.Report().New != nil && st.Report().New.Alias == *alias {
			fmt.Fprint(a.stderr, "; the renewal can no longer be cancelled: take step 3 with 'keyadmin provide'")
		}
		fmt.Fprintln(a.stderr)
	}
	// The files derive from the certificate: DER is its encoding, PEM
	// one CERTIFICATE block of it.
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	if *format == "der" {
		data = c.Raw
	}
	if err := writeOutput(*out, data, a.stdout); err != nil {
		return a.fail(err)
	}
	if *out != "-" {
		a.printf("wrote the certificate of %s (%s) to %s", *alias, strings.ToUpper(*format), *out)
		a.printf("subject %s, valid until %s", subject(c.Subject), stamp(c.NotAfter))
		a.printf("SHA-256: %s", wssec.FingerprintOf(c))
	}
	return exitOK
}
