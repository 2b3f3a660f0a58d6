package keystore

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestErrorTypes(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	tests := []struct {
		err      error
		want     string
		sentinel error
	}{
		{&Error{Err: ErrCorruptManifest, Source: "/s/manifest.json", Reason: "generation 0"}, "keystore: corrupt manifest: /s/manifest.json: generation 0", ErrCorruptManifest},
		{&Error{Err: ErrCorruptManifest, Source: "/m", Cause: cause}, "keystore: corrupt manifest: /m: cause", cause},
		{&EntryError{Alias: "a", Err: ErrUnknownAlias}, `keystore: unknown alias: alias "a"`, ErrUnknownAlias},
		{&EntryError{Alias: "a", Location: "/s/a.1.p12", Err: ErrMissingFile, Cause: fs.ErrNotExist}, `keystore: missing entry file: alias "a": /s/a.1.p12: file does not exist`, fs.ErrNotExist},
		{statusError("a", StatusCurrent, "Remove"), `keystore: operation not allowed for entry status: Remove of current entry "a"`, ErrStatus},
		{&Error{Source: "PEM", Reason: "no certificate", Err: ErrMalformed}, "keystore: malformed input: PEM: no certificate", ErrMalformed},
		{&Error{Source: "PKCS#12", Err: ErrMalformed, Cause: cause}, "keystore: malformed input: PKCS#12: cause", cause},
		{&Error{Err: ErrClockBehind}, "keystore: clock is behind the store's latest recorded time: the clock shows 0001-01-01T00:00:00Z, the store recorded 0001-01-01T00:00:00Z; correct the clock", ErrClockBehind},
		{&Error{Err: ErrOutcomeUnknown, Source: "/s/manifest.json", Generation: 4, Cause: cause}, "keystore: outcome of the change unknown: /s/manifest.json was replaced with generation 4 but may not be durable; open the store again to see what it holds: cause", ErrOutcomeUnknown},
		{&Error{Err: ErrToken, Source: "pkcs11:token=t", Reason: "open the token"}, "keystore: PKCS#11 token failure: pkcs11:token=t: open the token", ErrToken},
		{&EntryError{Alias: "a", Err: ErrKeyDisabled, Cause: cause}, `keystore: message encrypted to disabled key "a" (` + (&EntryError{}).Fingerprint.String() + `, disabled 0001-01-01T00:00:00Z, destroyed after 0001-01-01T00:00:00Z; restore it if receivers still use it): cause`, cause},
		{&ruleError{"2 current keys", ErrNoCurrentKey}, "2 current keys", ErrNoCurrentKey},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, tc.sentinel) {
			t.Errorf("errors.Is(%q, %v) = false, want true", tc.err, tc.sentinel)
		}
	}
	if s := Status(9).String(); s != "Status(9)" {
		t.Errorf("Status(9).String() = %q", s)
	}
}

// Every sentinel names the package and reads as a lower-case phrase.
func TestSentinels(t *testing.T) {
	t.Parallel()
	sentinels := []error{
		ErrNoPassword, ErrWrongPassword, ErrKeyMismatch, ErrUnknownAlias, ErrDuplicateAlias,
		ErrDuplicateKey, ErrInvalidName, ErrCorruptManifest, ErrMissingFile, ErrCorruptEntry,
		ErrNotExist, ErrExist, ErrMalformed, ErrEncryptedKey, ErrUnsupportedKey, ErrStatus,
		ErrNoCurrentKey, ErrInvalidOptions, ErrInvalidState, ErrStateNotFound, ErrTxDone,
		ErrConflict, ErrNoRecords, ErrCorruptRecord,
	}
	seen := map[string]bool{}
	for _, s := range sentinels {
		msg := s.Error()
		rest, ok := strings.CutPrefix(msg, "keystore: ")
		if !ok || rest == "" || strings.ToLower(rest[:1]) != rest[:1] || strings.HasSuffix(msg, ".") || seen[msg] {
			t.Errorf("sentinel %q: want a unique \"keystore: \" phrase in lower case without final punctuation", msg)
		}
		seen[msg] = true
	}
}
