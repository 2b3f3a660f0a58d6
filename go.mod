module github.com/wsrenew/wsrenew

go 1.26

require (
	github.com/ThalesGroup/crypto11 v1.6.2
	github.com/beevik/etree v1.8.1
	github.com/google/go-cmp v0.7.0
	github.com/russellhaering/goxmldsig v1.6.1
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/miekg/pkcs11 v1.1.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/thales-e-security/pool v0.0.2 // indirect
	golang.org/x/crypto v0.11.0 // indirect
)
