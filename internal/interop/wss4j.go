package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WSS4JVersion is the WSS4J release the Debian package provides.
const WSS4JVersion = "1.6.19"

const debianJavaInstall = "apt-get install libwss4j-java libxml-security-java"

// WSS4JJars are the Debian jars that the WSS4J driver program is compiled
// and run against. stax2-api is needed by Santuario at class-load time.
var WSS4JJars = []string{
	"/usr/share/java/wss4j.jar",
	"/usr/share/java/xmlsec.jar",
	"/usr/share/java/commons-logging.jar",
	"/usr/share/java/commons-codec.jar",
	"/usr/share/java/slf4j-api.jar",
	"/usr/share/java/slf4j-nop.jar",
	"/usr/share/java/woodstox-core.jar",
	"/usr/share/java/stax2-api.jar",
}

// WSS4JTools are the tools the WSS4J driver needs: a JDK and the jars.
func WSS4JTools() []Tool {
	tools := []Tool{
		Executable("javac", "apt-get install default-jdk-headless"),
		Executable("java", "apt-get install default-jdk-headless"),
	}
	for _, jar := range WSS4JJars {
		tools = append(tools, File(filepath.Base(jar), jar, debianJavaInstall))
	}
	return tools
}

// WSS4J runs the compiled driver program (testdata/interop/java/WssInterop.java).
type WSS4J struct {
	java      string
	classpath string
}

// BuildWSS4J compiles the driver source into dir and returns a runner for
// it. javac and java are the paths [Require] returned for [WSS4JTools].
func BuildWSS4J(javac, java, source, dir string) (*WSS4J, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cp := strings.Join(WSS4JJars, string(os.PathListSeparator))
	cmd := exec.Command(javac, "-nowarn", "-encoding", "UTF-8", "-d", dir, "-cp", cp, source)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("interop: javac %s: %v\n%s", source, err, out)
	}
	return &WSS4J{java: java, classpath: dir + string(os.PathListSeparator) + cp}, nil
}

// Run runs one command of the driver and returns its standard output.
func (w *WSS4J) Run(args ...string) ([]byte, error) {
	cmd := exec.Command(w.java, append([]string{"-cp", w.classpath, "WssInterop"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("interop: WssInterop %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Batch runs the jobs in one JVM, since starting a JVM is slow. It returns
// one error per job (nil for success, else a [*JobError] with WSS4J's
// words), or an error if the batch itself could not run.
func (w *WSS4J) Batch(jobs []WSS4JJob) ([]error, error) {
	lines := make([]string, len(jobs))
	for i, j := range jobs {
		args := j.args()
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\r\n") {
				return nil, fmt.Errorf("interop: WSS4J job %d: argument %q is empty or contains white space", i+1, a)
			}
		}
		lines[i] = strings.Join(args, " ")
	}
	cmd := exec.Command(w.java, "-cp", w.classpath, "WssInterop", "batch", "-")
	return runBatch("WSS4J", cmd, lines)
}

// WSS4JJob is one job for [WSS4J.Batch]: a [WSS4JEncrypt] or a [WSS4JDecrypt].
type WSS4JJob interface{ args() []string }

// WSS4JEncrypt asks WSSecEncrypt to encrypt the envelope in the file In for
// the certificate in the PEM file Cert, writing Out. Names of algorithms
// and key identifiers are those of WssInterop.java's usage text; empty means
// its default.
type WSS4JEncrypt struct {
	In, Out, Cert string
	KeyTransport  string   // oaep-mgf1p, rsa-oaep, rsa15
	Digest        string   // OAEP DigestMethod: sha1, sha256, ...
	Data          string   // aes128-cbc, aes256-gcm, 3des, ...
	KeyIdentifier string   // issuerserial, bst, x509, ski, thumbprint
	Part          string   // content, element, none
	Headers       []string // {namespace}local of header blocks to encrypt
	Embed         bool     // EncryptedKey inside EncryptedData/ds:KeyInfo
}

func (e WSS4JEncrypt) args() []string {
	a := []string{"encrypt", "--in", e.In, "--out", e.Out, "--cert", e.Cert}
	opt := func(k, v string) {
		if v != "" {
			a = append(a, k, v)
		}
	}
	opt("--kt", e.KeyTransport)
	opt("--digest", e.Digest)
	opt("--data", e.Data)
	opt("--keyid", e.KeyIdentifier)
	opt("--part", e.Part)
	for _, h := range e.Headers {
		a = append(a, "--header", h)
	}
	if e.Embed {
		a = append(a, "--embed")
	}
	return a
}

// KeyPair names the PEM files of a private key and its certificate.
type KeyPair struct {
	Key, Cert string
}

// WSS4JDecrypt asks WSSecurityEngine to process the message in the file In
// with the given keys, writing the resulting envelope to Out.
type WSS4JDecrypt struct {
	In, Out string
	Keys    []KeyPair
}

func (d WSS4JDecrypt) args() []string {
	a := []string{"decrypt", "--in", d.In, "--out", d.Out}
	for _, k := range d.Keys {
		a = append(a, "--key", k.Key, "--cert", k.Cert)
	}
	return a
}
