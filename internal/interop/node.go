package interop

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
)

// XMLEncryptionVersion is the version of the npm package xml-encryption that
// testdata/interop/node/package.json pins.
const XMLEncryptionVersion = "6.0.1"

// NodeTools are the tools the xml-encryption driver needs: node, and the
// package installed by npm ci in dir (testdata/interop/node).
func NodeTools(dir string) []Tool {
	return []Tool{
		Executable("node", "apt-get install nodejs"),
		File("xml-encryption", filepath.Join(dir, "node_modules", "xml-encryption", "package.json"),
			"npm ci in "+dir),
	}
}

// XMLEncryption runs the driver script testdata/interop/node/xmlenc.js.
type XMLEncryption struct {
	Node   string // path of node
	Script string // path of xmlenc.js
}

// NodeJob is one job of the driver script; see its usage text. Empty fields
// take the script's defaults.
type NodeJob struct {
	Op     string   `json:"op"` // encrypt or decrypt
	In     string   `json:"in"`
	Out    string   `json:"out"`
	Cert   string   `json:"cert,omitempty"`
	KT     string   `json:"kt,omitempty"`     // rsa-oaep-mgf1p, rsa-oaep, rsa-1_5
	Digest string   `json:"digest,omitempty"` // sha1, sha256, sha512
	MGF    string   `json:"mgf,omitempty"`    // sha1 ... sha512, rsa-oaep only
	Data   string   `json:"data,omitempty"`   // aes128-cbc, aes256-gcm, ...
	Part   string   `json:"part,omitempty"`   // element or content
	Label  string   `json:"label,omitempty"`  // OAEP label (OAEPparams), base64
	Keys   []string `json:"keys,omitempty"`   // private keys (PEM) to try, in order
}

// Batch runs the jobs in one node process. It returns one error per job
// (nil for success, else a [*JobError] with the library's words), or an
// error if the batch itself could not run.
func (x XMLEncryption) Batch(jobs []NodeJob) ([]error, error) {
	lines := make([]string, len(jobs))
	for i, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		lines[i] = string(b)
	}
	cmd := exec.Command(x.Node, x.Script, "batch", "-")
	return runBatch("xml-encryption", cmd, lines)
}
