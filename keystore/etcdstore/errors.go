package etcdstore

import "errors"

// ErrInvalidArgument means that a constructor or method got an argument
// it cannot use: a nil client or context, an empty prefix, a negative
// record lifetime, or a commit that both writes and removes a blob. An
// invalid blob, kind or id name also wraps [keystore.ErrInvalidName].
//
// A lost commit race wraps [keystore.ErrConflict]; a missing blob wraps
// [io/fs.ErrNotExist]; errors of the etcd client are wrapped with %w, so
// that a context's error stays visible to [errors.Is].
var ErrInvalidArgument = errors.New("etcdstore: invalid argument")
