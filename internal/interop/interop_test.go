package interop

import (
	"testing"
)

func TestExecutable(t *testing.T) {
	t.Parallel()
	if p, why := Executable("go", "install Go").Find(); p == "" {
		t.Fatalf("Executable(go).Find() = %q, %q; want a path", p, why)
	}
	if p, why := Executable("wsrenew-no-such-tool", "nothing").Find(); p != "" || why == "" {
		t.Fatalf("Executable(missing).Find() = %q, %q; want no path and a reason", p, why)
	}
	if p, why := File("x", "/nonexistent/wsrenew.jar", "nothing").Find(); p != "" || why == "" {
		t.Fatalf("File(missing).Find() = %q, %q; want no path and a reason", p, why)
	}
}
