// Package passwords hashes the passwords of rct serve's accounts with
// argon2id (RFC 9106) and checks them, in the PHC string format
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH that other tools read.
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// The parameters of new hashes: OWASP's recommendation for argon2id
// (19 MiB, 2 passes, 1 lane); a hash keeps its own, so they can grow.
const (
	memory  = 19 * 1024
	time    = 2
	threads = 1
	keyLen  = 32
	saltLen = 16
)

// MinLength is the shortest password accepted.
const MinLength = 12

// Check refuses a password that is too short or too long, or not text.
func Check(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return errors.New("the password is not UTF-8 text")
	case utf8.RuneCountInString(pw) < MinLength:
		return fmt.Errorf("a password has at least %d characters", MinLength)
	case len(pw) > 1024:
		return errors.New("a password has at most 1024 bytes")
	}
	return nil
}

// Hash returns the argon2id hash of pw with a fresh random salt.
func Hash(pw string) (string, error) {
	if err := Check(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(pw), salt, time, memory, threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, time, threads, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// Verify reports whether pw matches the PHC string hash, in constant time
// for a given hash. A malformed hash never matches.
func Verify(pw, hash string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Dummy returns a valid hash of no password anyone has: checking against
// it takes the time a real check takes, for names without an account.
// Made once, when first needed.
var Dummy = sync.OnceValue(func() string {
	h, _ := Hash("no account has this password: " + strings.Repeat("x", 12))
	return h
})
