package tcsms

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVersionIsCrateVersion: the header and the library the package compiled against (from the
// staging prefix that run-tests.sh installs) carries the one version of the
// repository, [workspace.package] version in Cargo.toml.
func TestVersionIsCrateVersion(t *testing.T) {
	manifest, err := os.ReadFile("../../Cargo.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?ms)^\[workspace\.package\].*?^version = "([^"]+)"`).FindSubmatch(manifest)
	if m == nil {
		t.Fatal("no [workspace.package] version in ../../Cargo.toml")
	}
	want := string(m[1])
	if got := HeaderVersion(); got != want {
		t.Fatalf("HeaderVersion() = %q, Cargo.toml has %q: the installed header is stale", got, want)
	}
	if lib := Version(); !strings.HasPrefix(lib, "tcsms "+want+" ") {
		t.Fatalf("Version() of the loaded library = %q, want tcsms %s", lib, want)
	}
}
