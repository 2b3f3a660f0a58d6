package c14n

import "errors"

var (
	// ErrUnboundPrefix reports an element or attribute whose prefix is not
	// bound to a namespace where it stands.
	ErrUnboundPrefix = errors.New("c14n: unbound namespace prefix")
	// ErrUnsupported reports an unknown algorithm or a construct the
	// package does not canonicalize (xml:base inherited under Canonical
	// XML 1.1, a directive inside an element).
	ErrUnsupported = errors.New("c14n: unsupported input")
	// ErrTooLarge reports output beyond [Options.MaxBytes].
	ErrTooLarge = errors.New("c14n: canonical form exceeds the byte limit")
	// ErrStopped reports a reading of bytes stopped through its
	// [Guard].
	ErrStopped = errors.New("c14n: stopped")
)
