package etcdstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
)

// One process rotates the key of a store on etcd; another follows the
// change through a watch.
func Example() {
	// A single-member etcd server for the example; in production, a
	// clientv3.Client of your cluster, with TLS and authentication.
	dir, err := os.MkdirTemp("", "etcdstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cluster, err := etcdtest.Launch(1, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	cli, err := etcdtest.Dial(cluster.Endpoints())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	ctx := context.Background()
	b, err := etcdstore.New(cli, "/wsrenew/partner-a")
	if err != nil {
		log.Fatal(err)
	}
	password := keystore.PasswordValue("example-store-password")
	operator, err := keystore.Create(ctx, b, password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	follower, err := keystore.Open(ctx, b, password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	changes, err := b.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	<-changes // the first value comes at once

	bundle, err := os.ReadFile("../testdata/old-bundle.pem")
	if err != nil {
		log.Fatal(err)
	}
	cred, err := keystore.ParsePEM(bundle, nil, "")
	if err != nil {
		log.Fatal(err)
	}
	err = operator.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add("tenant-2025", cred, nil); err != nil {
			return err
		}
		return tx.Rotate("tenant-2025")
	})
	if err != nil {
		log.Fatal(err)
	}

	<-changes
	changed, err := follower.Reload(ctx)
	if err != nil {
		log.Fatal(err)
	}
	e, err := follower.View().Entry("tenant-2025")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", changed)
	fmt.Println("tenant-2025:", e.Status)
	// Output:
	// changed: true
	// tenant-2025: current
}

// A process registers itself as a holder with a leased record, which
// vanishes if the process stops putting it again within the ttl.
func ExampleBackend_PutRecord() {
	dir, err := os.MkdirTemp("", "etcdstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cluster, err := etcdtest.Launch(1, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	cli, err := etcdtest.Dial(cluster.Endpoints())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	ctx := context.Background()
	b, err := etcdstore.New(cli, "/wsrenew/partner-a")
	if err != nil {
		log.Fatal(err)
	}
	// Put again at least every 30 s to stay listed.
	if err := b.PutRecord(ctx, "holders", "replica-1", []byte(`{"host":"app-1"}`), 30*time.Second); err != nil {
		log.Fatal(err)
	}
	holders, err := b.Records(ctx, "holders")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", holders["replica-1"])
	if err := b.DeleteRecord(ctx, "holders", "replica-1"); err != nil {
		log.Fatal(err)
	}
	holders, err = b.Records(ctx, "holders")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("holders after delete:", len(holders))
	// Output:
	// {"host":"app-1"}
	// holders after delete: 0
}
