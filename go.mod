module github.com/wsrenew/wsrenew

go 1.26
