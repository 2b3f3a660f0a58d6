// Command report reads the JSON lines written by measure, peer_xmlsec.py
// and SantuarioPeer, and the manifest of internal/bench/gen, and prints the
// comparison as Markdown tables.
//
// Usage:
//
//	report -manifest DIR/manifest.tsv [-signed DIR/signed.tsv] [-plain=false] results.jsonl
//
// With -signed the tables of the signed messages follow (signed.go);
// -plain=false leaves out the decrypt-only tables, for results of a
// signed-only run (peers.sh with PLAIN=0).
//
// Timing lines may carry a "round" number. Every figure is then computed
// per round and the tables show the median over the rounds, with the
// lowest and highest round in parentheses.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The messages of the main table: tag-dense records, AES-256-GCM.
const (
	small = "records-1KB-AES256GCM"
	big   = "records-16MB-AES256GCM"
)

type record struct {
	Round      int     `json:"round"`
	Impl       string  `json:"impl"`
	What       string  `json:"what"`
	File       string  `json:"file"`
	MedianUS   float64 `json:"median_us"`
	N          int     `json:"n"`
	BaselineKB float64 `json:"baseline_kb"`
	PeakKB     float64 `json:"peak_kb"`
}

type key struct{ impl, what, file string }

type results struct {
	times   map[key]map[int]float64 // median µs by round
	rss     map[key]record
	rounds  []int
	payload map[string]float64 // plaintext envelope bytes by message
	files   []string           // manifest order
}

// metric is a figure computed from one round's measurements; NaN if
// something it needs was not measured.
type metric func(round int) float64

// us returns the median time of one measurement in a round.
func (r *results) us(impl, what, file string) metric {
	return func(round int) float64 {
		if v, ok := r.times[key{impl, what, file}][round]; ok {
			return v
		}
		return math.NaN()
	}
}

// mbps returns the throughput in MB/s (10^6 bytes) of the payload.
func (r *results) mbps(impl, what, file string) metric {
	t := r.us(impl, what, file)
	return func(round int) float64 { return r.payload[file] / t(round) }
}

// rsaOp returns the implementation's own RSA-OAEP decryption time.
func (r *results) rsaOp(id string) metric {
	if id == "wsrenew" {
		id = "go-floor"
	}
	return r.us(id, "rsa", "")
}

// overhead returns the XML overhead on the small message: the median of
// the paired differences between a whole decryption and the RSA operation
// alone, or the difference of the medians if no paired run was recorded.
func (r *results) overhead(id string) metric {
	paired, total, op := r.us(id, "overhead", small), r.us(id, "decrypt", small), r.rsaOp(id)
	return func(round int) float64 {
		if v := paired(round); !math.IsNaN(v) {
			return v
		}
		return total(round) - op(round)
	}
}

func sum(a, b metric) metric { return func(k int) float64 { return a(k) + b(k) } }
func div(a, b metric) metric { return func(k int) float64 { return a(k) / b(k) } }

// over returns the median, lowest and highest value of m over the rounds.
func (r *results) over(m metric) (med, lo, hi float64) {
	var vs []float64
	for _, k := range r.rounds {
		if v := m(k); !math.IsNaN(v) && !math.IsInf(v, 0) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	slices.Sort(vs)
	n := len(vs)
	med = vs[n/2]
	if n%2 == 0 {
		med = (vs[n/2-1] + vs[n/2]) / 2
	}
	return med, vs[0], vs[n-1]
}

// show formats m over the rounds as "median (lowest–highest)".
func (r *results) show(m metric, format func(float64) string) string {
	med, lo, hi := r.over(m)
	if math.IsNaN(med) {
		return "—"
	}
	s := format(med)
	if l, h := format(lo), format(hi); l != h {
		s += " (" + strings.TrimSuffix(l, "×") + "–" + strings.TrimSuffix(h, "×") + ")"
	}
	return s
}

// rssBytes returns the peak resident set size over the baseline, in bytes.
func (r *results) rssBytes(impl, file string) float64 {
	rec, ok := r.rss[key{impl, "rss", file}]
	if !ok {
		return math.NaN()
	}
	return (rec.PeakKB - rec.BaselineKB) * 1024
}

type impl struct{ id, name string }

var peers = []impl{
	{"xmlsec1", "xmlsec1 (python3-xmlsec, OpenSSL)"},
	{"santuario", "Santuario (XMLCipher, JCE)"},
}

func main() {
	manifest := flag.String("manifest", "", "manifest.tsv written by gen")
	signedManifest := flag.String("signed", "", "signed.tsv written by gen: print the signed messages' tables too")
	plain := flag.Bool("plain", true, "print the decrypt-only tables (false: results.jsonl holds none)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("report: ")
	if *manifest == "" || flag.NArg() != 1 {
		log.Fatal("usage: report -manifest DIR/manifest.tsv results.jsonl")
	}
	r := &results{times: map[key]map[int]float64{}, rss: map[key]record{}, payload: map[string]float64{}}
	var err error
	if r.files, err = r.readManifest(*manifest); err != nil {
		log.Fatal(err)
	}
	var signedFiles []string
	if *signedManifest != "" {
		if signedFiles, err = r.readManifest(*signedManifest); err != nil {
			log.Fatal(err)
		}
	}
	if err := r.readResults(flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
	if *plain {
		r.print(os.Stdout)
	}
	if *signedManifest != "" {
		r.printSigned(os.Stdout, signedFiles)
	}
}

func (r *results) print(w io.Writer) {
	us, mb := func(v float64) string { return group(v) }, func(v float64) string { return fixed(v, 1) }
	fmt.Fprintf(w, "RSA-2048 OAEP key transport, AES-256-GCM, tag-dense order records; 1 KB = %s B and 16 MB = %s B of plaintext envelope. ",
		group(r.payload[small]), group(r.payload[big]))
	fmt.Fprintf(w, "Each figure is the median over %d rounds of each round's median, with the lowest and highest round in parentheses. ", len(r.rounds))
	fmt.Fprintf(w, "XML overhead: the median, over 1 KB decryptions each followed by the RSA operation alone, of the difference. MB/s: 10^6 bytes of plaintext envelope per second. ")
	fmt.Fprintf(w, "Peak RSS: the growth of VmHWM over the process's baseline after a 1 KB decryption, one fresh process each.\n\n")

	fmt.Fprintln(w, "| implementation | 1 KB µs/msg | own RSA op µs | XML overhead µs (total − RSA op, paired) | 16 MB MB/s | peak RSS ÷ payload (16 MB) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	row := func(name, id string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name,
			r.show(r.us(id, "decrypt", small), us), r.show(r.rsaOp(id), us), r.show(r.overhead(id), us),
			r.show(r.mbps(id, "decrypt", big), mb), times(r.rssBytes(id, big)/r.payload[big]))
	}
	row("wsrenew (Go)", "wsrenew")
	for _, p := range peers {
		row(p.name, p.id)
	}
	if _, ok := r.times[key{"wsrenew-pkcs11", "decrypt", small}]; ok {
		fmt.Fprintf(w, "| wsrenew, key in SoftHSM2 (PKCS#11) | %s | %s | %s | — | — |\n",
			r.show(r.us("wsrenew-pkcs11", "decrypt", small), us), r.show(r.rsaOp("wsrenew-pkcs11"), us), r.show(r.overhead("wsrenew-pkcs11"), us))
	}
	floorRSA := r.us("go-floor", "rsa", "")
	floor1k := sum(floorRSA, r.us("go-floor", "data", small))
	fmt.Fprintf(w, "| Go floor: rsa.DecryptOAEP + base64 + AES | %s | %s | %s | %s (base64 + AES only) | — |\n",
		r.show(floor1k, us), r.show(floorRSA, us), r.show(r.us("go-floor", "data", small), us), r.show(r.mbps("go-floor", "data", big), mb))

	if _, ok := r.times[key{"wsrenew-pkcs11", "decrypt", small}]; ok {
		tok, par := r.us("wsrenew-pkcs11", "decrypt", small), r.us("wsrenew-pkcs11", "decrypt-parallel", small)
		fmt.Fprintf(w, "\nKey in SoftHSM2: 1 KB µs/msg ÷ xmlsec1's: %s. From one goroutine per core at once: %s µs/msg of wall time, %s the throughput of one at a time.\n",
			r.show(div(tok, r.us("xmlsec1", "decrypt", small)), times), r.show(par, us), r.show(div(tok, par), times))
		if _, ok := r.times[key{"wsrenew", "decrypt-parallel", small}]; ok {
			fmt.Fprintf(w, "The same with the key in a file, right after: %s the throughput of one at a time (how far the machine let two decryptions run at once).\n",
				r.show(div(r.us("wsrenew", "decrypt", small), r.us("wsrenew", "decrypt-parallel", small)), times))
		}
		if _, ok := r.times[key{"openssl", "rsa-fresh", ""}]; ok {
			fmt.Fprintf(w, "Where the token's RSA op goes: the PKCS#11 call without the RSA operation (a ciphertext one byte short) %s µs; OpenSSL's RSA-OAEP decryption with one RSA object kept (as xmlsec1 and openssl speed use it) %s µs, with a new RSA object built from the key's numbers for every operation (as SoftHSM2 does in every C_DecryptInit) %s µs, paired difference %s µs.\n",
				r.show(r.us("wsrenew-pkcs11", "call", ""), us), r.show(r.us("openssl", "rsa-kept", ""), us),
				r.show(r.us("openssl", "rsa-fresh", ""), us), r.show(r.us("openssl", "rsa-fresh-extra", ""), us))
		}
	}

	fmt.Fprintf(w, "\nOur ratio to each (wsrenew ÷ other, per round): for µs and RSS below 1 means we are faster or smaller; for MB/s above 1 means we are faster.\n\n")
	fmt.Fprintln(w, "| wsrenew ÷ | 1 KB µs/msg | XML overhead µs | 16 MB MB/s | peak RSS ÷ payload |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	ours, oursMB := r.us("wsrenew", "decrypt", small), r.mbps("wsrenew", "decrypt", big)
	for _, p := range peers {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", p.name,
			r.show(div(ours, r.us(p.id, "decrypt", small)), times),
			r.show(div(r.overhead("wsrenew"), r.overhead(p.id)), times),
			r.show(div(oursMB, r.mbps(p.id, "decrypt", big)), times),
			times(r.rssBytes("wsrenew", big)/r.rssBytes(p.id, big)))
	}
	fmt.Fprintf(w, "| Go floor | %s | — | %s | — |\n",
		r.show(div(ours, floor1k), times), r.show(div(oursMB, r.mbps("go-floor", "data", big)), times))

	fmt.Fprintf(w, "\nOwn RSA op: wsrenew: rsa.DecryptOAEP; xmlsec1: OpenSSL's RSA-OAEP decryption through python3-cryptography, same libcrypto (xmlsec decrypting the EncryptedKey element alone: %s µs); Santuario: JCE Cipher RSA/ECB/OAEPPadding, as XMLCipher calls it.\n",
		r.show(r.us("xmlsec1", "rsa-encryptedkey", ""), us))

	fmt.Fprintf(w, "\nEvery message (median over the rounds; for 16 MB also MB/s, and peak RSS growth in MiB and ÷ payload):\n\n")
	fmt.Fprintf(w, "| message | wsrenew | xmlsec1 | Santuario | Go floor (base64 + AES) |\n")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	for _, f := range r.files {
		fmt.Fprintf(w, "| %s", f)
		for _, id := range []string{"wsrenew", "xmlsec1", "santuario"} {
			fmt.Fprintf(w, " | %s", r.cell(id, "decrypt", f))
		}
		fmt.Fprintf(w, " | %s |\n", r.cell("go-floor", "data", f))
	}
}

func (r *results) cell(id, what, file string) string {
	t, _, _ := r.over(r.us(id, what, file))
	if math.IsNaN(t) {
		return "—"
	}
	if r.payload[file] < 1<<20 {
		return fmt.Sprintf("%s µs", group(t))
	}
	mbps, _, _ := r.over(r.mbps(id, what, file))
	s := fmt.Sprintf("%s ms, %s MB/s", fixed(t/1e3, 1), fixed(mbps, 1))
	if rss := r.rssBytes(id, file); !math.IsNaN(rss) {
		s += fmt.Sprintf(", %s MiB = %s", fixed(rss/(1<<20), 0), times(rss/r.payload[file]))
	}
	return s
}

// group formats v rounded to an integer with thousands separators.
func group(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func times(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fixed(v, 2) + "×"
}

// readManifest records the payload of every message of a manifest and
// returns their names in its order.
func (r *results) readManifest(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		n, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r.payload[f[0]] = n
		files = append(files, f[0])
	}
	return files, nil
}

func (r *results) readResults(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return fmt.Errorf("%s: %q: %w", path, line, err)
		}
		k := key{rec.Impl, rec.What, rec.File}
		if rec.What == "rss" {
			r.rss[k] = rec
			continue
		}
		if r.times[k] == nil {
			r.times[k] = map[int]float64{}
		}
		r.times[k][rec.Round] = rec.MedianUS
		if !slices.Contains(r.rounds, rec.Round) {
			r.rounds = append(r.rounds, rec.Round)
		}
	}
	slices.Sort(r.rounds)
	return s.Err()
}
