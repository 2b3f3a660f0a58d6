// Command report reads the JSON lines written by measure, peer_xmlsec.py
// and SantuarioPeer, and the manifest of internal/bench/gen, and prints the
// comparison as Markdown tables.
//
// Usage:
//
//	report -manifest DIR/manifest.tsv results.jsonl
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
	"strconv"
	"strings"
)

// The messages of the main table: tag-dense records, AES-256-GCM.
const (
	small = "records-1KB-AES256GCM"
	big   = "records-16MB-AES256GCM"
)

type record struct {
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
	recs    map[key]record
	payload map[string]float64 // plaintext envelope bytes by message
	files   []string           // manifest order
}

// us returns a median in microseconds, or NaN if it was not measured.
func (r *results) us(impl, what, file string) float64 {
	if rec, ok := r.recs[key{impl, what, file}]; ok {
		return rec.MedianUS
	}
	return math.NaN()
}

// mbps returns the throughput in MB/s (10^6 bytes) of the payload.
func (r *results) mbps(impl, what, file string) float64 {
	return r.payload[file] / r.us(impl, what, file)
}

// rss returns the peak resident set size over the baseline, in bytes.
func (r *results) rss(impl, file string) float64 {
	rec, ok := r.recs[key{impl, "rss", file}]
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
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("report: ")
	if *manifest == "" || flag.NArg() != 1 {
		log.Fatal("usage: report -manifest DIR/manifest.tsv results.jsonl")
	}
	r := &results{recs: map[key]record{}, payload: map[string]float64{}}
	if err := r.readManifest(*manifest); err != nil {
		log.Fatal(err)
	}
	if err := r.readResults(flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
	r.print(os.Stdout)
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "RSA-2048 OAEP key transport, AES-256-GCM, tag-dense order records; 1 KB = %s B and 16 MB = %s B of plaintext envelope. ",
		group(r.payload[small]), group(r.payload[big]))
	fmt.Fprintf(w, "Medians; the XML overhead is the median, over 1 KB decryptions each followed by the RSA operation alone, of the difference between the two; MB/s = 10^6 bytes of plaintext envelope per second; peak RSS is the growth of VmHWM over the process's baseline after a 1 KB decryption.\n\n")

	fmt.Fprintln(w, "| implementation | 1 KB µs/msg | own RSA op µs | XML overhead µs (total − RSA op, paired) | 16 MB MB/s | peak RSS ÷ payload (16 MB) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	row := func(name, id string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, num(r.us(id, "decrypt", small)), num(r.rsaOp(id)), num(r.overhead(id)),
			fixed(r.mbps(id, "decrypt", big), 1), times(r.rss(id, big)/r.payload[big]))
	}
	row("wsrenew (Go)", "wsrenew")
	for _, p := range peers {
		row(p.name, p.id)
	}
	floor1k := r.us("go-floor", "rsa", "") + r.us("go-floor", "data", small)
	fmt.Fprintf(w, "| Go floor: rsa.DecryptOAEP + base64 + AES | %s | %s | %s | %s (base64 + AES only) | — |\n",
		num(floor1k), num(r.us("go-floor", "rsa", "")), num(r.us("go-floor", "data", small)), fixed(r.mbps("go-floor", "data", big), 1))

	fmt.Fprintf(w, "\nOur ratio to each (wsrenew ÷ other): for µs and RSS below 1 means we are faster or smaller; for MB/s above 1 means we are faster.\n\n")
	fmt.Fprintln(w, "| wsrenew ÷ | 1 KB µs/msg | XML overhead µs | 16 MB MB/s | peak RSS ÷ payload |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	ours := r.us("wsrenew", "decrypt", small)
	for _, p := range peers {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", p.name, times(ours/r.us(p.id, "decrypt", small)), times(r.overhead("wsrenew")/r.overhead(p.id)),
			times(r.mbps("wsrenew", "decrypt", big)/r.mbps(p.id, "decrypt", big)), times(r.rss("wsrenew", big)/r.rss(p.id, big)))
	}
	fmt.Fprintf(w, "| Go floor | %s | — | %s | — |\n", times(ours/floor1k),
		times(r.mbps("wsrenew", "decrypt", big)/r.mbps("go-floor", "data", big)))

	fmt.Fprintf(w, "\nOwn RSA op: wsrenew: rsa.DecryptOAEP; xmlsec1: OpenSSL's RSA-OAEP decryption through python3-cryptography, same libcrypto (xmlsec decrypting the EncryptedKey element alone: %s µs); Santuario: JCE Cipher RSA/ECB/OAEPPadding, as XMLCipher calls it.\n",
		num(r.us("xmlsec1", "rsa-encryptedkey", "")))
	fmt.Fprintf(w, "\nEvery message (time per message; for 16 MB also MB/s, and peak RSS growth in MiB and ÷ payload):\n\n")
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

// rsaOp returns the implementation's own RSA-OAEP decryption time.
func (r *results) rsaOp(id string) float64 {
	if id == "wsrenew" {
		id = "go-floor"
	}
	return r.us(id, "rsa", "")
}

// overhead returns the XML overhead on the small message: the median of
// the paired differences between a whole decryption and the RSA operation
// alone, or the difference of the medians if no paired run was recorded.
func (r *results) overhead(id string) float64 {
	if v := r.us(id, "overhead", small); !math.IsNaN(v) {
		return v
	}
	return r.us(id, "decrypt", small) - r.rsaOp(id)
}

func (r *results) cell(id, what, file string) string {
	us := r.us(id, what, file)
	if math.IsNaN(us) {
		return "—"
	}
	var s string
	if us < 1000 {
		s = fmt.Sprintf("%s µs", fixed(us, 1))
	} else {
		s = fmt.Sprintf("%s ms, %s MB/s", fixed(us/1e3, 1), fixed(r.mbps(id, what, file), 1))
	}
	if rss := r.rss(id, file); !math.IsNaN(rss) {
		s += fmt.Sprintf(", %s MiB = %s", fixed(rss/(1<<20), 0), times(rss/r.payload[file]))
	}
	return s
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return group(v)
}

// group formats v rounded to an integer with thousands separators.
func group(v float64) string {
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

func (r *results) readManifest(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return fmt.Errorf("%s: bad line %q", path, line)
		}
		n, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r.payload[f[0]] = n
		r.files = append(r.files, f[0])
	}
	return nil
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
		r.recs[key{rec.Impl, rec.What, rec.File}] = rec
	}
	return s.Err()
}
