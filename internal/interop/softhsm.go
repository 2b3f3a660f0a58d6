package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// SoftHSMModules are the places Debian's libsofthsm2 installs the SoftHSM2
// PKCS#11 module, in the order they are tried.
var SoftHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
}

// SoftHSMTool is the SoftHSM2 PKCS#11 module.
func SoftHSMTool() Tool {
	return Tool{Name: "SoftHSM2", Find: func() (string, string) {
		for _, p := range SoftHSMModules {
			if _, err := os.Stat(p); err == nil {
				return p, ""
			}
		}
		return "", "SoftHSM2 module libsofthsm2.so not found (apt-get install softhsm2)"
	}}
}

// SoftHSM is a SoftHSM2 token private to the test binary.
type SoftHSM struct {
	// Module is the path of the PKCS#11 module.
	Module string
	// Token is the token's label; PIN its user PIN.
	Token, PIN string
}

var (
	softHSMOnce sync.Once
	softHSM     *SoftHSM
	softHSMErr  string
)

// RequireSoftHSM returns the test binary's SoftHSM2 token, skipping or
// failing (see [Require]) when SoftHSM2 is missing. The module reads
// SOFTHSM2_CONF and its tokens once per process, so the first call points
// it at a configuration in a fresh temporary directory and creates one
// token there, labelled "wsrenew-test" with user PIN pin, for the whole
// test binary; tests keep apart by the labels of their keys. Every call
// must give the same pin.
func RequireSoftHSM(t testing.TB, pin string) *SoftHSM {
	t.Helper()
	paths := Require(t, SoftHSMTool(), Executable("softhsm2-util", "apt-get install softhsm2"))
	softHSMOnce.Do(func() {
		softHSM, softHSMErr = setupSoftHSM(paths[0], paths[1], pin)
	})
	if softHSM == nil {
		t.Fatalf("interop: SoftHSM2 setup: %s", softHSMErr)
	}
	if softHSM.PIN != pin {
		t.Fatalf("interop: RequireSoftHSM called with two PINs")
	}
	return softHSM
}

func setupSoftHSM(module, util, pin string) (*SoftHSM, string) {
	dir, err := os.MkdirTemp("", "wsrenew-softhsm-")
	if err != nil {
		return nil, err.Error()
	}
	tokens := filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return nil, err.Error()
	}
	cfg := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return nil, err.Error()
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return nil, err.Error()
	}
	const label = "wsrenew-test"
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "so-"+pin).CombinedOutput()
	if err != nil {
		return nil, "softhsm2-util --init-token: " + err.Error() + "\n" + string(out)
	}
	return &SoftHSM{Module: module, Token: label, PIN: pin}, ""
}
