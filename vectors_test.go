package wsrenew_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// The corpus of messages produced by third-party implementations; see
// testdata/README.md.
const (
	interopDir = "testdata/interop"
	vectorsDir = interopDir + "/vectors"
)

// sidecar holds the fields of a vector's <name>.json that the tests use;
// other fields document the vector and are ignored.
type sidecar struct {
	Producer         string          `json:"producer"`
	Key              string          `json:"key"`
	Expect           string          `json:"expect"`
	Policy           map[string]bool `json:"policy"`
	ExpectWithPolicy string          `json:"expect_with_policy"`
	Plaintext        string          `json:"plaintext"`
	PlaintextSHA256  string          `json:"plaintext_sha256"`
}

// expectations maps the names a sidecar uses to the sentinels.
var expectations = map[string]error{
	"success":                nil,
	"ErrNoMatchingKey":       wssec.ErrNoMatchingKey,
	"ErrDecryptionFailed":    wssec.ErrDecryptionFailed,
	"ErrAlgorithmNotAllowed": wssec.ErrAlgorithmNotAllowed,
	"ErrMalformed":           wssec.ErrMalformed,
	"ErrLimitExceeded":       wssec.ErrLimitExceeded,
	"ErrNotEncrypted":        wssec.ErrNotEncrypted,
}

func expectation(t *testing.T, name string) error {
	t.Helper()
	want, ok := expectations[name]
	if !ok {
		t.Fatalf("unknown expectation %q", name)
	}
	return want
}

// sidecarPolicy turns a sidecar's policy object into a wssec.Policy.
func sidecarPolicy(t *testing.T, m map[string]bool) wssec.Policy {
	t.Helper()
	var p wssec.Policy
	for k, v := range m {
		switch k {
		case "allow_rsa15":
			p.AllowRSA15 = v
		case "allow_triple_des":
			p.AllowTripleDES = v
		default:
			t.Fatalf("unknown policy key %q", k)
		}
	}
	return p
}

// testRing returns a ring as it is during a renewal: new is current, old
// is retained with no expiry yet. Keys are named as in internal/testpki, so
// that ds:KeyName references resolve.
func testRing(t *testing.T) *wssec.KeyRing {
	t.Helper()
	old, nw := testpki.Load(testpki.Old), testpki.Load(testpki.New)
	ring := wssec.NewKeyRing(wssec.Key{Decrypter: nw.Key, Certificate: nw.Certificate, Name: testpki.New})
	if err := ring.Retain(wssec.Key{Decrypter: old.Key, Certificate: old.Certificate, Name: testpki.Old}, time.Time{}); err != nil {
		t.Fatalf("Retain(old) error = %v", err)
	}
	return ring
}

func TestVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d vectors in %s, want at least 25", len(files), vectorsDir)
	}
	ring := testRing(t)

	var mu sync.Mutex
	failedText := map[string][]string{} // Error() text -> vectors
	t.Run("vector", func(t *testing.T) {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sc := readSidecar(t, file)
				msg, err := os.ReadFile(filepath.Join(vectorsDir, name+".xml"))
				if err != nil {
					t.Fatal(err)
				}
				plain := readPlaintext(t, sc)
				runs := []struct {
					policy map[string]bool
					expect string
				}{{nil, sc.Expect}}
				if sc.ExpectWithPolicy != "" {
					runs = append(runs, struct {
						policy map[string]bool
						expect string
					}{sc.Policy, sc.ExpectWithPolicy})
				}
				for _, r := range runs {
					want := expectation(t, r.expect)
					d := &wssec.Decryptor{Keys: ring, Policy: sidecarPolicy(t, r.policy)}
					res, err := d.Decrypt(msg)
					if want != nil {
						if !errors.Is(err, want) {
							t.Fatalf("Decrypt(%s) with policy %v error = %v, want %v", name, r.policy, err, want)
						}
						if errors.Is(err, wssec.ErrDecryptionFailed) {
							mu.Lock()
							failedText[err.Error()] = append(failedText[err.Error()], name)
							mu.Unlock()
						}
						continue
					}
					if err != nil {
						t.Fatalf("Decrypt(%s) with policy %v error = %v, want success", name, r.policy, err)
					}
					compareEnvelopes(t, name, plain, res.Envelope)
					checkKeyUsed(t, name, sc.Key, res.KeysUsed)
				}
			})
		}
	})
	if len(failedText) > 1 {
		t.Errorf("ErrDecryptionFailed has %d different texts, want one: %v", len(failedText), failedText)
	}
}

func readSidecar(t *testing.T, file string) sidecar {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if sc.Producer == "" || sc.Key == "" || sc.Expect == "" || sc.Plaintext == "" {
		t.Fatalf("%s: producer, key, expect and plaintext are required", file)
	}
	if (sc.ExpectWithPolicy == "") != (len(sc.Policy) == 0) {
		t.Fatalf("%s: policy and expect_with_policy go together", file)
	}
	return sc
}

// readPlaintext returns the sidecar's plaintext envelope after checking
// its digest.
func readPlaintext(t *testing.T, sc sidecar) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(interopDir, filepath.FromSlash(sc.Plaintext)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != sc.PlaintextSHA256 {
		t.Fatalf("%s: sha256 = %s, sidecar says %s", sc.Plaintext, got, sc.PlaintextSHA256)
	}
	return b
}

func checkKeyUsed(t *testing.T, name, key string, used []*x509.Certificate) {
	t.Helper()
	want := testpki.Load(key).Certificate
	for _, c := range used {
		if c.Equal(want) {
			return
		}
	}
	t.Errorf("Decrypt(%s) KeysUsed = %d certificates, want one of them to be %q", name, len(used), key)
}

const nsWSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

// compareEnvelopes checks that the decrypted envelope got has the Body and
// header blocks of the plaintext want, compared in exclusive canonical form
// so that where namespaces are declared does not matter. The prefixes that
// appear in QName-valued content (xsi:type, faultcode) are canonicalized as
// inclusive, so each must still be bound where it was. Security headers,
// which the producer added, are left out.
func compareEnvelopes(t *testing.T, name string, want, got []byte) {
	t.Helper()
	wb, wh := canonicalParts(t, want)
	gb, gh := canonicalParts(t, got)
	if diff := cmp.Diff(wb, gb); diff != "" {
		t.Errorf("Decrypt(%s): Body differs from the plaintext (-want +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(wh, gh); diff != "" {
		t.Errorf("Decrypt(%s): header blocks differ from the plaintext (-want +got):\n%s", name, diff)
	}
}

// qnamePrefixes are the prefixes the plaintext envelopes use inside
// attribute values and text.
const qnamePrefixes = "tns xsd xsi"

func canonicalParts(t *testing.T, envelope []byte) (body string, headers []string) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		t.Fatalf("parse envelope: %v", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" {
		t.Fatalf("no SOAP Envelope")
	}
	soapNS := root.NamespaceURI()
	for _, el := range root.ChildElements() {
		if el.NamespaceURI() != soapNS {
			continue
		}
		switch el.Tag {
		case "Body":
			body = canonical(t, el)
		case "Header":
			for _, h := range el.ChildElements() {
				if h.Tag == "Security" && h.NamespaceURI() == nsWSSE {
					continue
				}
				headers = append(headers, canonical(t, h))
			}
		}
	}
	if body == "" {
		t.Fatalf("no SOAP Body")
	}
	return body, headers
}

func canonical(t *testing.T, el *etree.Element) string {
	t.Helper()
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatalf("namespace context of %s: %v", el.Tag, err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatalf("detach %s: %v", el.Tag, err)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(qnamePrefixes).Canonicalize(detached)
	if err != nil {
		t.Fatalf("canonicalize %s: %v", el.Tag, err)
	}
	return string(b)
}

// TestVectors_corpus checks the corpus itself: every vector has a sidecar,
// names are unique scenarios, and each expectation and producer occurs.
func TestVectors_corpus(t *testing.T) {
	t.Parallel()
	xmls, err := filepath.Glob(filepath.Join(vectorsDir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	producers := map[string]int{}
	expects := map[string]int{}
	for _, x := range xmls {
		side := strings.TrimSuffix(x, ".xml") + ".json"
		if _, err := os.Stat(side); err != nil {
			t.Errorf("%s has no sidecar: %v", x, err)
			continue
		}
		sc := readSidecar(t, side)
		producers[strings.Fields(sc.Producer)[0]]++
		expects[sc.Expect]++
		if sc.ExpectWithPolicy != "" {
			expects[sc.ExpectWithPolicy+" with policy"]++
		}
		if strings.ContainsAny(filepath.Base(x), " \t") {
			t.Errorf("%s: vector names have no spaces", x)
		}
	}
	for _, p := range []string{"wss4j", "xmlsec1", "xml-encryption"} {
		if producers[p] == 0 {
			t.Errorf("no vector from %s", p)
		}
	}
	for _, e := range []string{"success", "ErrNoMatchingKey", "ErrDecryptionFailed", "ErrAlgorithmNotAllowed", "ErrMalformed", "success with policy"} {
		if expects[e] == 0 {
			t.Errorf("no vector expects %s", e)
		}
	}
	if t.Failed() {
		keys := make([]string, 0, len(expects))
		for k, n := range expects {
			keys = append(keys, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(keys)
		t.Logf("expectations: %s", strings.Join(keys, ", "))
	}
}
