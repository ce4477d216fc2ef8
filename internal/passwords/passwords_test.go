package passwords

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashVerify: a hash verifies its password and no other, salts
// differ, the PHC string carries the parameters, and malformed or
// tampered hashes never verify.
func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q", h)
	}
	if !Verify("correct horse battery staple", h) || Verify("correct horse battery stapl", h) || Verify("", h) {
		t.Error("verify")
	}
	h2, _ := Hash("correct horse battery staple")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", strings.Replace(h, "t=2", "t=0", 1),
		strings.Replace(h, "m=19456", "m=99999999", 1), h[:len(h)-4], h + "$x", strings.Replace(h, "v=19", "v=16", 1)} {
		if Verify("correct horse battery staple", bad) {
			t.Errorf("verified against %q", bad)
		}
	}
	if _, err := Hash("short"); err == nil {
		t.Error("a short password was hashed")
	}
	if Verify("anything at all here", Dummy()) {
		t.Error("the dummy hash verified")
	}
}

// TestReferenceVectors: PHC strings made by argon2-cffi (the reference C
// implementation; testdata/make_vectors.py) verify, and not with another
// password: the hash is argon2id as others compute it.
func TestReferenceVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		pw, phc, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("line %q", line)
		}
		n++
		if !Verify(pw, phc) || Verify(pw+"x", phc) {
			t.Errorf("%q against %s", pw, phc)
		}
	}
	if n != 3 {
		t.Errorf("%d vectors", n)
	}
}
