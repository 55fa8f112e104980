module github.com/tcsms/tcsms/bindings/go

go 1.24
