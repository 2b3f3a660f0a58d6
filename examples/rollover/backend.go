package main

import (
	"context"

	"github.com/wsrenew/wsrenew/keystore"
)

// backendConfig names the key store every process of the demo opens.
type backendConfig struct {
	Dir string `json:"dir,omitempty"` // a directory on this host
}

func (c backendConfig) open(ctx context.Context) (keystore.Backend, func(), error) {
	return keystore.Dir(c.Dir), func() {}, nil
}

func (c backendConfig) String() string { return "directory " + c.Dir }
