package reports

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestTranslationsComplete: every text the report passes through its
// translator (t("...") in this package's sources, and the few it passes
// as values) has a Dutch and a French translation, and no translation is
// left over from a text the report no longer writes.
func TestTranslationsComplete(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\bt\(("(?:[^"\\]|\\.)*")\)`)
	used := map[string]bool{"Contents": true, "Group": true, "no rows": true,
		"needs the key": true, "no compliance variable in the protocol": true, "no activity log imported": true}
	for _, f := range files {
		if filepath.Ext(f) != ".go" || regexp.MustCompile(`_test\.go$`).MatchString(f) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			s, err := strconv.Unquote(m[1])
			if err != nil {
				t.Fatal(err)
			}
			used[s] = true
		}
	}
	if len(used) < 150 {
		t.Fatalf("found %d texts: the scan is broken", len(used))
	}
	for lang, words := range translations {
		for s := range used {
			if _, ok := words[s]; !ok {
				t.Errorf("%s: no translation of %q", lang, s)
			}
		}
		for s := range words {
			if !used[s] {
				t.Errorf("%s: %q is translated but never written", lang, s)
			}
		}
	}
}
