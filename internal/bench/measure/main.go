// Command measure times wssec.Decryptor.Decrypt on the messages written by
// internal/bench/gen, together with the floors no implementation can go
// below: one RSA-OAEP decryption, and base64 decoding plus AES decryption
// of the same CipherValue. It prints one JSON object per line.
//
// Usage:
//
//	measure -dir DIR -mode time   # every message of DIR/manifest.tsv, and the floors
//	measure -dir DIR -mode rss -file NAME
//
// In time mode each message is decrypted once and checked against the
// manifest, then decrypted -warmup times untimed and -n times timed; the
// median of the timed runs is reported. Messages of 1 MB and more use
// -large-warmup and -large-n instead. On the first small message each
// decryption is followed by the RSA operation alone, and the median of
// the differences is reported as the XML overhead.
//
// In rss mode the process decrypts the small message -small once (loading
// every code path), reads its peak resident set size (VmHWM in
// /proc/self/status) as the baseline, then reads and decrypts the message
// NAME once and reads the peak again. Run it in a fresh process per
// message.
//
// With -signed both modes work on the signed messages of signed.tsv
// instead (signed.go): each is verified against signer.pem and decrypted
// by one Decryptor, and every small one is paired with its RSA operations
// alone.
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wsrenew/wsrenew/wssec"
)

// entry is one line of manifest.tsv.
type entry struct {
	name     string
	payload  int // plaintext envelope bytes
	elements int // elements below the Body once decrypted
	chars    int // text characters below the Body once decrypted
}

// large is the payload size from which the -large-* iteration counts apply.
const large = 1 << 20

type config struct {
	dir         string
	warmup, n   int
	largeWarmup int
	largeN      int
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", "", "directory written by internal/bench/gen")
	mode := flag.String("mode", "time", "time or rss")
	file := flag.String("file", "", "rss mode: the message to measure, by manifest name")
	small := flag.String("small", "records-1KB-AES256GCM", "rss mode: the message decrypted before the baseline is read")
	flag.IntVar(&c.warmup, "warmup", 300, "untimed decryptions of a small message")
	flag.IntVar(&c.n, "n", 500, "timed decryptions of a small message")
	flag.IntVar(&c.largeWarmup, "large-warmup", 2, "untimed decryptions of a message of 1 MB or more")
	flag.IntVar(&c.largeN, "large-n", 5, "timed decryptions of a message of 1 MB or more")
	signed := flag.Bool("signed", false, "time or measure the signed messages of signed.tsv (-small defaults to "+signedSmall+")")
	token := flag.String("pkcs11", "", "time mode: decrypt the small messages with the key in the PKCS#11 token this RFC 7512 URI names (PIN in $WSRENEW_BENCH_PIN) instead")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("measure: ")
	if c.dir == "" {
		log.Fatal("-dir is required")
	}
	entries, err := readManifest(filepath.Join(c.dir, "manifest.tsv"))
	if err != nil {
		log.Fatal(err)
	}
	key, cert, err := readKey(c.dir)
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: key, Certificate: cert})}
	out := json.NewEncoder(os.Stdout)
	if *signed {
		if err := runSigned(c, *mode, key, cert, *small, *file, out); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *token != "" {
		if err := timeToken(c, *token, cert, d, entries, out); err != nil {
			log.Fatal(err)
		}
		return
	}
	switch *mode {
	case "time":
		err = timeAll(c, d, key, entries, out)
	case "rss":
		err = peakRSS(c.dir, d, entries, *small, *file, out)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runSigned is main for -signed.
func runSigned(c config, mode string, key *rsa.PrivateKey, cert *x509.Certificate, small, file string, out *json.Encoder) error {
	signer, err := readSigner(c.dir)
	if err != nil {
		return err
	}
	switch mode {
	case "time":
		return timeSigned(c, key, cert, signer, out)
	case "rss":
		if !flagSet("small") {
			small = signedSmall
		}
		return peakRSSSigned(c.dir, key, cert, signer, small, file, out)
	}
	return fmt.Errorf("unknown -mode %q", mode)
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func timeAll(c config, d *wssec.Decryptor, key *rsa.PrivateKey, entries []entry, out *json.Encoder) error {
	rsaDone := false
	for _, e := range entries {
		msg, err := os.ReadFile(filepath.Join(c.dir, e.name+".xml"))
		if err != nil {
			return err
		}
		r, err := d.Decrypt(msg)
		if err != nil {
			return fmt.Errorf("Decrypt(%s): %w", e.name, err)
		}
		if err := check(e, r.Envelope); err != nil {
			return err
		}
		ek, alg, cv, err := cipherValues(msg)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		cek, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, key, ek, nil)
		if err != nil {
			return fmt.Errorf("%s: EncryptedKey: %w", e.name, err)
		}
		decrypt := func() error {
			_, err := d.Decrypt(msg)
			return err
		}
		warmup, n := c.warmup, c.n
		if e.payload >= large {
			warmup, n = c.largeWarmup, c.largeN
		}
		if !rsaDone && e.payload < large {
			// On the first small message, alternate whole decryptions with
			// the RSA operation alone, so that both see the same machine
			// and their difference, the XML overhead, is not swamped by
			// changes in load between two separate loops.
			rsaOp := func() error {
				_, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, key, ek, nil)
				return err
			}
			p, err := paired(warmup, n, decrypt, rsaOp)
			if err != nil {
				return fmt.Errorf("Decrypt(%s): %w", e.name, err)
			}
			out.Encode(record{Impl: "wsrenew", What: "decrypt", File: e.name, MedianUS: p.a, N: n})
			out.Encode(record{Impl: "go-floor", What: "rsa", MedianUS: p.b, N: n})
			out.Encode(record{Impl: "wsrenew", What: "overhead", File: e.name, MedianUS: p.diff, N: n})
			rsaDone = true
		} else {
			med, err := median(warmup, n, decrypt)
			if err != nil {
				return fmt.Errorf("Decrypt(%s): %w", e.name, err)
			}
			out.Encode(record{Impl: "wsrenew", What: "decrypt", File: e.name, MedianUS: med, N: n})
		}

		buf := make([]byte, base64.StdEncoding.DecodedLen(len(cv)))
		med, err := median(warmup, n, func() error { return decryptData(alg, cek, cv, buf) })
		if err != nil {
			return fmt.Errorf("%s: data floor: %w", e.name, err)
		}
		out.Encode(record{Impl: "go-floor", What: "data", File: e.name, MedianUS: med, N: n})
	}
	return nil
}

func peakRSS(dir string, d *wssec.Decryptor, entries []entry, small, name string, out *json.Encoder) error {
	se, err := findEntry(entries, small, "the manifest")
	if err != nil {
		return err
	}
	e, err := findEntry(entries, name, "the manifest")
	if err != nil {
		return err
	}
	msg, err := os.ReadFile(filepath.Join(dir, se.name+".xml"))
	if err != nil {
		return err
	}
	if _, err := d.Decrypt(msg); err != nil {
		return fmt.Errorf("Decrypt(%s): %w", se.name, err)
	}
	base, err := vmHWM()
	if err != nil {
		return err
	}
	msg, err = os.ReadFile(filepath.Join(dir, e.name+".xml"))
	if err != nil {
		return err
	}
	r, err := d.Decrypt(msg)
	if err != nil {
		return fmt.Errorf("Decrypt(%s): %w", e.name, err)
	}
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	if err := check(e, r.Envelope); err != nil {
		return err
	}
	return out.Encode(record{Impl: "wsrenew", What: "rss", File: e.name, BaselineKB: base, PeakKB: peak})
}

// record is one line of output; the report program reads the same fields
// from every implementation.
type record struct {
	Impl       string  `json:"impl"`
	What       string  `json:"what"`
	File       string  `json:"file,omitempty"`
	MedianUS   float64 `json:"median_us,omitempty"`
	N          int     `json:"n,omitempty"`
	BaselineKB int     `json:"baseline_kb,omitempty"`
	PeakKB     int     `json:"peak_kb,omitempty"`
}

const soap11 = "http://schemas.xmlsoap.org/soap/envelope/"

// check compares the element and character counts below the decrypted
// envelope's Body with the manifest.
func check(e entry, envelope []byte) error {
	d := xml.NewDecoder(bytes.NewReader(envelope))
	depth, elements, chars := 0, 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: decrypted envelope: %w", e.name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth > 0:
				depth++
				elements++
			case t.Name.Space == soap11 && t.Name.Local == "Body":
				depth = 1
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		case xml.CharData:
			if depth > 0 {
				chars += utf8.RuneCount(t)
			}
		}
	}
	if elements != e.elements || chars != e.chars {
		return fmt.Errorf("%s: decrypted Body has %d elements and %d characters, want %d and %d",
			e.name, elements, chars, e.elements, e.chars)
	}
	return nil
}

func readManifest(path string) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []entry
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		var nums [3]int
		for i := range nums {
			if nums[i], err = strconv.Atoi(fields[i+1]); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		entries = append(entries, entry{name: fields[0], payload: nums[0], elements: nums[1], chars: nums[2]})
	}
	return entries, s.Err()
}

func readKey(dir string) (*rsa.PrivateKey, *x509.Certificate, error) {
	keyPEM, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, nil, errors.New("key.pem or cert.pem holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("key.pem is not an RSA key")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// vmHWM returns the peak resident set size of this process in KiB.
func vmHWM() (int, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// findEntry returns the entry of entries called name; where names the
// list in the error if there is none.
func findEntry(entries []entry, name, where string) (entry, error) {
	for _, e := range entries {
		if e.name == name {
			return e, nil
		}
	}
	return entry{}, fmt.Errorf("%s is not in %s", name, where)
}
