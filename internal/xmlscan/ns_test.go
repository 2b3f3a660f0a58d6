package xmlscan

import "testing"

func TestIsID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ns, local string
		want      bool
	}{
		{"", "Id", true},
		{NSWSU, "Id", true},
		{NSXML, "id", true},
		{"", "id", false},
		{"", "ID", false},
		{NSWSU, "id", false},
		{NSXML, "Id", false},
		{"urn:other", "Id", false},
		{"http://www.w3.org/2000/09/xmldsig#", "Id", false},
	} {
		if got := IsID(tc.ns, tc.local); got != tc.want {
			t.Errorf("IsID(%q, %q) = %v, want %v", tc.ns, tc.local, got, tc.want)
		}
	}
}

func TestMayBeID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Id", true}, {"xml:id", true}, {"p:Id", true}, {"wsu:Id", true},
		{"id", false}, {"p:id", false}, {"xml:Id", false}, {"Ids", false}, {"x", false},
	} {
		if got := mayBeID([]byte(tc.name)); got != tc.want {
			t.Errorf("mayBeID(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
