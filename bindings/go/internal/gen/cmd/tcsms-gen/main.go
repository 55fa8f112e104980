// Command tcsms-gen writes models_gen.go from spec/actions.json.
//
//	go run ./internal/gen/cmd/tcsms-gen -spec ../../spec/actions.json -out models_gen.go
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tcsms/tcsms/bindings/go/internal/gen"
)

func main() {
	spec := flag.String("spec", "../../spec/actions.json", "path of spec/actions.json")
	out := flag.String("out", "models_gen.go", "output file")
	flag.Parse()
	data, err := os.ReadFile(*spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcsms-gen:", err)
		os.Exit(1)
	}
	src, err := gen.Generate(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcsms-gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "tcsms-gen:", err)
		os.Exit(1)
	}
}
