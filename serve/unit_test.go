package serve

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestThrottle: five failures of a name from an address make it wait until
// the oldest is 15 minutes old; other names from there are not held up
// until twenty failures; other addresses never.
func TestThrottle(t *testing.T) {
	now := time.Date(2019, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for i := 0; i < 5; i++ {
		if th.wait("10.0.0.1", "ann") != 0 {
			t.Fatalf("held up after %d failures", i)
		}
		th.fail("10.0.0.1", "ann")
		now = now.Add(time.Minute)
	}
	if d := th.wait("10.0.0.1", "ann"); d != 10*time.Minute {
		t.Errorf("wait %v, want 10m (the first failure 15 minutes on)", d)
	}
	if th.wait("10.0.0.1", "bob") != 0 || th.wait("10.0.0.2", "ann") != 0 {
		t.Error("another name or address held up")
	}
	for i := 0; i < 15; i++ {
		th.fail("10.0.0.1", "x"+string(rune('a'+i)))
	}
	if th.wait("10.0.0.1", "carol") == 0 {
		t.Error("twenty failures from one address do not hold it up")
	}
	now = now.Add(16 * time.Minute)
	if th.wait("10.0.0.1", "ann") != 0 || th.wait("10.0.0.1", "carol") != 0 {
		t.Error("still held up after the window")
	}
}

// TestSameOrigin: a post from this host, or without Origin (curl), passes;
// from another site, or a sandboxed frame (Origin: null), not.
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		origin, fetchSite string
		ok                bool
	}{{"", "", true}, {"http://example.com", "", true}, {"https://example.com", "same-origin", true},
		{"https://evil.example", "", false}, {"null", "", false}, {"", "cross-site", false}} {
		r := httptest.NewRequest("POST", "http://example.com/login", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", c.fetchSite)
		}
		if sameOrigin(r) != c.ok {
			t.Errorf("origin %q, fetch site %q: %v", c.origin, c.fetchSite, !c.ok)
		}
	}
}
