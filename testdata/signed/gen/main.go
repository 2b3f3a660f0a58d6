// Command gen regenerates the signed-message vectors in testdata/signed: it
// drives Apache WSS4J (WSSecTimestamp, WSSecSignature, WSSecEncrypt through
// testdata/interop/java/WssInterop.java) over the envelopes in
// testdata/interop/plaintext, derives the attack vectors from one of its
// messages (derive.go), runs WSS4J's own engine over every vector, and
// writes one sidecar per vector and VECTORS.md.
//
// Run it from the repository root through testdata/interop/regenerate.sh,
// which installs the tools first.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/internal/interop"
)

const (
	signedDir    = "testdata/signed"
	interopDir   = "testdata/interop"
	plaintextDir = interopDir + "/plaintext"
	pkiDir       = "internal/testpki/pki"

	santuarioVersion = "2.1.7"
	producer         = "wss4j " + interop.WSS4JVersion + " (Santuario " + santuarioVersion + ")"
)

// Sidecar is the JSON file next to each vector.
type Sidecar struct {
	Producer        string   `json:"producer"`
	Order           string   `json:"order"`
	Signer          string   `json:"signer"`
	EncryptedFor    string   `json:"encrypted_for,omitempty"`
	Signed          []string `json:"signed"`
	KeyIdentifier   string   `json:"key_identifier"`
	SignatureMethod string   `json:"signature_method"`
	DigestMethod    string   `json:"digest_method"`
	C14N            string   `json:"c14n"`
	Created         string   `json:"created,omitempty"`
	Expires         string   `json:"expires,omitempty"`
	// At is when to verify, if not one minute after created.
	At         string      `json:"at,omitempty"`
	Expect     string      `json:"expect"`
	ExpectWith *ExpectWith `json:"expect_with,omitempty"`
	Plaintext  string      `json:"plaintext"`
	Notes      string      `json:"notes,omitempty"`
}

// ExpectWith is a second policy under which the vector verifies.
type ExpectWith struct {
	AllowSHA1 bool     `json:"allow_sha1,omitempty"`
	Trust     []string `json:"trust,omitempty"`
}

// vector is one file of the corpus on its way to the disk.
type vector struct {
	name  string
	spec  spec   // the producing spec; for derived vectors, the source's
	mut   string // mutation name for derived vectors
	facts facts  // what the message says about itself
	sc    Sidecar
	wss4j string // expected outcome of WSS4J's engine
	got   string // outcome of WSS4J's engine
}

// only restricts a run to the specs whose name contains it: their vectors
// are made anew and their rows of VECTORS.md replaced, everything else is
// left as it is (no attack vectors are derived).
var only = flag.String("only", "", "regenerate only the vectors whose name contains this")

func main() {
	log.SetFlags(0)
	log.SetPrefix("signed/gen: ")
	flag.Parse()
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the repository root")
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	w, err := buildDriver()
	if err != nil {
		return err
	}
	specs := allSpecs()
	if *only != "" {
		specs = slices.DeleteFunc(specs, func(s spec) bool { return !strings.Contains(s.name(), *only) })
		if len(specs) == 0 {
			return fmt.Errorf("no spec matches -only %q", *only)
		}
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.name()] {
			return fmt.Errorf("duplicate vector name %s", s.name())
		}
		seen[s.name()] = true
	}
	if *only == "" {
		if err := clean(); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp("", "wsrenew-signed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for i, s := range specs {
		if s.largeBody == 0 {
			continue
		}
		plain, err := largePlaintext(s.largeBody)
		if err != nil {
			return err
		}
		specs[i].in = filepath.Join(tmp, s.name()+".plain.xml")
		if err := os.WriteFile(specs[i].in, plain, 0o644); err != nil {
			return err
		}
	}

	if err := produce(w, tmp, specs); err != nil {
		return err
	}
	var vectors []*vector
	bySource := map[string]*vector{}
	for _, s := range specs {
		v := &vector{name: s.name(), spec: s, wss4j: s.wss4j}
		if err := v.analyse(); err != nil {
			return err
		}
		if err := v.check(); err != nil {
			return err
		}
		v.sc = sidecarFor(v)
		vectors = append(vectors, v)
		bySource[v.name] = v
	}
	var derived []*vector
	if *only == "" {
		if derived, err = deriveAll(bySource); err != nil {
			return err
		}
	}
	vectors = append(vectors, derived...)

	if err := crossCheck(w, tmp, vectors); err != nil {
		return err
	}
	for _, v := range vectors {
		if err := writeSidecar(v.name, v.sc); err != nil {
			return err
		}
		if v.spec.largeBody != 0 && v.mut == "" {
			if err := compressVector(v.name); err != nil {
				return err
			}
		}
	}
	index := writeIndex
	if *only != "" {
		index = mergeIndex
	}
	if err := index(vectors); err != nil {
		return err
	}
	log.Printf("%d vectors (%d from WSS4J, %d derived)", len(vectors), len(specs), len(derived))
	return nil
}

func buildDriver() (*interop.WSS4J, error) {
	paths, err := interop.Find(interop.WSS4JTools()...)
	if err != nil {
		return nil, err
	}
	for _, jar := range []string{"wss4j-" + interop.WSS4JVersion, "xmlsec-" + santuarioVersion} {
		if _, err := os.Stat("/usr/share/java/" + jar + ".jar"); err != nil {
			return nil, fmt.Errorf("%s is not the installed version: %v", jar, err)
		}
	}
	return interop.BuildWSS4J(paths[0], paths[1], interopDir+"/java/WssInterop.java", interopDir+"/build/java")
}

// clean removes the previous vectors, sidecars and index, leaving gen/.
func clean() error {
	for _, pat := range []string{"*.xml", "*.json", "VECTORS.md"} {
		files, err := filepath.Glob(filepath.Join(signedDir, pat))
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func pkiFile(name, ext string) string { return filepath.Join(pkiDir, name+"."+ext) }

func vectorPath(name string) string { return filepath.Join(signedDir, name+".xml") }

// signArgs is the WssInterop sign command line of a spec.
func signArgs(s spec) []string {
	in := s.in
	if in == "" {
		in = filepath.Join(plaintextDir, s.plaintext())
	}
	a := []string{"sign", "--in", in, "--out", vectorPath(s.name()),
		"--key", pkiFile(s.signer, "key"), "--cert", pkiFile(s.signer, "pem"),
		"--order", s.order, "--keyid", s.keyID}
	if s.defaults {
		a = append(a, "--sigalg", "default", "--sigdigest", "default")
	} else {
		a = append(a, "--sigalg", s.sigAlg, "--sigdigest", s.digest)
	}
	if s.noTimestamp {
		a = append(a, "--no-timestamp")
	} else if s.ttl != 0 {
		a = append(a, "--ttl", strconv.Itoa(s.ttl))
	}
	for _, p := range s.parts {
		a = append(a, "--sign", p)
	}
	if s.encFor != "" {
		a = append(a, "--enc-cert", pkiFile(s.encFor, "pem"), "--data", s.encData, "--enc-keyid", s.encKeyID)
		if s.encSig {
			a = append(a, "--encrypt-signature")
		}
	}
	return a
}

// batch runs the driver once over the command lines and returns one error
// per line (nil for success).
func batch(w *interop.WSS4J, tmp, label string, lines [][]string) ([]error, error) {
	var b strings.Builder
	for _, l := range lines {
		for _, arg := range l {
			if arg == "" || strings.ContainsAny(arg, " \t\r\n") {
				return nil, fmt.Errorf("argument %q is empty or contains white space", arg)
			}
		}
		b.WriteString(strings.Join(l, " ") + "\n")
	}
	file := filepath.Join(tmp, label+".batch")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	out, runErr := w.Run("batch", file)
	errs := make([]error, len(lines))
	seen := make([]bool, len(lines))
	for _, line := range strings.Split(string(out), "\n") {
		status, rest, _ := strings.Cut(line, " ")
		num, msg, _ := strings.Cut(rest, ": ")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > len(lines) {
			continue
		}
		switch status {
		case "ok":
			seen[n-1] = true
		case "FAIL":
			seen[n-1] = true
			errs[n-1] = errors.New(msg)
		}
	}
	for i, s := range seen {
		if !s {
			return nil, fmt.Errorf("WSS4J did not report on %s job %d: %v", label, i+1, runErr)
		}
	}
	return errs, nil
}

func produce(w *interop.WSS4J, tmp string, specs []spec) error {
	lines := make([][]string, len(specs))
	for i, s := range specs {
		lines[i] = signArgs(s)
	}
	errs, err := batch(w, tmp, "sign", lines)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			errs[i] = fmt.Errorf("%s: %w", specs[i].name(), e)
		}
	}
	return errors.Join(errs...)
}

// crossCheck runs WSS4J's engine over every vector, trusting the signers
// of expect_with (else receiver) and holding both tenant keys, and checks
// that its outcome is the one the spec records.
func crossCheck(w *interop.WSS4J, tmp string, vectors []*vector) error {
	// Wait until the short-lived messages have expired, so that the
	// engine's verdict does not depend on how fast the batch ran.
	var latest time.Time
	for _, v := range vectors {
		if v.spec.ttl != 0 && v.spec.ttl < 60 && v.facts.expires.After(latest) {
			latest = v.facts.expires
		}
	}
	if d := time.Until(latest.Add(500 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
	lines := make([][]string, len(vectors))
	for i, v := range vectors {
		trust := []string{"receiver"}
		if v.sc.ExpectWith != nil && len(v.sc.ExpectWith.Trust) > 0 {
			trust = v.sc.ExpectWith.Trust
		}
		l := []string{"verify", "--in", vectorPath(v.name), "--out", filepath.Join(tmp, fmt.Sprintf("verify-%d.txt", i))}
		for _, t := range trust {
			l = append(l, "--trust", pkiFile(t, "pem"))
		}
		for _, k := range []string{"new", "old"} {
			l = append(l, "--key", pkiFile(k, "key"), "--cert", pkiFile(k, "pem"))
		}
		lines[i] = l
	}
	errs, err := batch(w, tmp, "verify", lines)
	if err != nil {
		return err
	}
	var bad []error
	for i, v := range vectors {
		if errs[i] == nil {
			v.got = wssOK
			summary, err := os.ReadFile(filepath.Join(tmp, fmt.Sprintf("verify-%d.txt", i)))
			if err != nil {
				return err
			}
			if !bytes.Contains(summary, []byte("signature ")) {
				v.got = "no signature processed"
			}
		} else {
			v.got = errs[i].Error()
		}
		if v.got == wssOK && v.wss4j == wssOK {
			continue
		}
		if v.wss4j == wssOK || !strings.Contains(v.got, v.wss4j) {
			bad = append(bad, fmt.Errorf("%s: WSS4J's engine says %q, want %q", v.name, v.got, v.wss4j))
		}
	}
	return errors.Join(bad...)
}

// verifyAt gives an expired vector a verification time ten minutes after
// its Expires: beyond any usual clock-skew allowance (5 minutes by
// default), where "created + 1 minute" would still be within it.
func verifyAt(s spec, f facts) string {
	if s.expect != expired || f.expiresText == "" {
		return ""
	}
	e, err := time.Parse(time.RFC3339Nano, f.expiresText)
	if err != nil {
		return ""
	}
	return e.Add(10 * time.Minute).UTC().Format(time.RFC3339Nano)
}

func sidecarFor(v *vector) Sidecar {
	s, f := v.spec, v.facts
	sc := Sidecar{
		Producer:        producer,
		Order:           s.order,
		Signer:          s.signer,
		EncryptedFor:    s.encFor,
		Signed:          f.signed,
		KeyIdentifier:   f.keyID,
		SignatureMethod: f.signatureMethod,
		DigestMethod:    f.digestMethod,
		C14N:            f.c14n,
		Created:         f.created,
		Expires:         f.expiresText,
		At:              verifyAt(s, f),
		Expect:          s.expect,
		ExpectWith:      s.with,
		Plaintext:       "interop/plaintext/" + s.plaintext(),
	}
	if s.largeBody != 0 {
		sc.Plaintext = fmt.Sprintf("interop/plaintext/%s with entries added to tns:Entries until the Body holds %d elements (largePlaintext in signed/gen/large.go)", s.plaintext(), s.largeBody)
	}
	notes := []string{}
	if s.notes != "" {
		notes = append(notes, s.notes)
	}
	notes = append(notes, "Security header: "+strings.Join(f.headerOrder, ", ")+".")
	if s.encFor != "" {
		notes = append(notes, fmt.Sprintf("Body content encrypted for %s: rsa-oaep-mgf1p (SHA-1), %s, EncryptedKey referenced by %s.",
			s.encFor, s.encData, keyIDNames[s.encKeyID]))
	}
	sc.Notes = strings.Join(notes, " ")
	return sc
}

var keyIDNames = map[string]string{
	"bst":          "a BinarySecurityToken",
	"issuerserial": "IssuerSerial",
	"ski":          "SKI KeyIdentifier",
	"thumbprint":   "ThumbprintSHA1 KeyIdentifier",
	"x509":         "X509v3 KeyIdentifier",
}

func writeSidecar(name string, sc Sidecar) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sc); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(signedDir, name+".json"), b.Bytes(), 0o644)
}

// shortError keeps the first and the innermost message of the driver's
// "caused by" chain, with simple class names.
func shortError(s string) string {
	chain := strings.Split(s, ": caused by ")
	simple := func(m string) string {
		cls, msg, ok := strings.Cut(m, ": ")
		if !ok {
			cls, msg = m, ""
		}
		if strings.Contains(cls, ".") && !strings.Contains(cls, " ") {
			cls = cls[strings.LastIndexByte(cls, '.')+1:]
		} else if msg != "" {
			return m
		}
		if msg == "" {
			return cls
		}
		return cls + ": " + msg
	}
	out := simple(chain[0])
	if len(chain) > 1 {
		out += " (caused by " + simple(chain[len(chain)-1]) + ")"
	}
	return strings.ReplaceAll(out, "|", "\\|")
}

// writeIndex writes VECTORS.md, a table of every vector.
func writeIndex(vectors []*vector) error {
	vs := slices.Clone(vectors)
	sort.Slice(vs, func(i, j int) bool { return vs[i].name < vs[j].name })
	short := func(uri string) string { return uri[strings.LastIndexAny(uri, "#/")+1:] }
	var b strings.Builder
	b.WriteString("# Signed vector index\n\nGenerated by `testdata/interop/regenerate.sh` (`go run ./testdata/signed/gen`) from the sidecars; do not edit.\n")
	b.WriteString("The last column is the verdict of WSS4J 1.6.19's own `WSSecurityEngine` over the vector, trusting the signers of `expect_with` (else `receiver`) right after generation.\n\n")
	b.WriteString("| vector | order | signer | key identifier | signature | digest | signed | expect | expect_with | WSS4J engine |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range vs {
		sc := v.sc
		with := ""
		if sc.ExpectWith != nil {
			var p []string
			if sc.ExpectWith.AllowSHA1 {
				p = append(p, "allow_sha1")
			}
			if len(sc.ExpectWith.Trust) > 0 {
				p = append(p, "trust "+strings.Join(sc.ExpectWith.Trust, "+"))
			}
			with = "success (" + strings.Join(p, ", ") + ")"
		}
		signer := sc.Signer
		if sc.EncryptedFor != "" {
			signer += ", for " + sc.EncryptedFor
		}
		expect := sc.Expect
		if v.mut != "" {
			expect += " (" + v.mut + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			v.name, sc.Order, signer, sc.KeyIdentifier, short(sc.SignatureMethod), short(sc.DigestMethod),
			strings.Join(sc.Signed, ", "), expect, with, shortError(v.got))
	}
	return os.WriteFile(filepath.Join(signedDir, "VECTORS.md"), []byte(b.String()), 0o644)
}
