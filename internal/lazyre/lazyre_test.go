package lazyre

import "testing"

func TestNew(t *testing.T) {
	re := New(`^[a-z][a-z0-9_]{0,31}$`)
	if re() != re() {
		t.Fatal("the expression should be compiled once")
	}
	if !re().MatchString("supp_aid_6m") || re().MatchString("6m") {
		t.Fatal("the expression does not match as its pattern says")
	}
	bad := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("a pattern that does not compile should panic at first use")
		}
	}()
	bad()
}
