module github.com/wsrenew/wsrenew

go 1.26

require (
	github.com/beevik/etree v1.8.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	golang.org/x/crypto v0.11.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)
