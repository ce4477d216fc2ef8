package trial

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/rct-trials/rct/internal/files"
)

// ErrKeyRefused marks every refusal that concerns the trial's secrets: a
// missing, unreadable, wrong or foreign key file. The command layer maps it
// to exit code 4.
var ErrKeyRefused = errors.New("key refused")

// KeyError is a refusal to use a key file.
type KeyError struct {
	File string
	Err  error
}

func (e *KeyError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }
func (e *KeyError) Is(t error) bool {
	return t == ErrKeyRefused
}

// Key kinds.
const (
	kindAllocation = "allocation"
	kindPseudo     = "pseudonymisation"
)

// AllocationKey is the secret whose holder can unblind the trial: the seed
// of the allocation sequence and the key that seals the group-code → arm
// mapping (AES-256-GCM). It lives only in its key file.
type AllocationKey struct {
	TrialID  string
	Instance string
	Seed     [32]byte
	Seal     [32]byte
	// Path is the key file's: the audit chain's witness is beside it.
	Path string
}

// PseudoKey is the HMAC key that turns national numbers into pseudonyms.
// It is needed to enrol and to import registers; it unblinds nothing.
type PseudoKey struct {
	TrialID  string
	Instance string
	Key      [32]byte
}

// SeedCommitment is SHA-256 of the seed, hex: stored in the database and
// published with the trial registration, so that the seed revealed at the
// end can be checked against it.
func (k *AllocationKey) SeedCommitment() string {
	s := sha256.Sum256(k.Seed[:])
	return hex.EncodeToString(s[:])
}

// Check is the value stored in the database to recognise this key:
// HMAC-SHA256(seal key, "rct allocation key check" ‖ instance). It reveals
// nothing about the key.
func (k *AllocationKey) Check() string { return keyCheck(k.Seal[:], kindAllocation, k.Instance) }

// Check is the value stored in the database to recognise this key.
func (k *PseudoKey) Check() string { return keyCheck(k.Key[:], kindPseudo, k.Instance) }

func keyCheck(key []byte, kind, instance string) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, "rct "+kind+" key check\x00"+instance)
	return hex.EncodeToString(m.Sum(nil))
}

func (k *AllocationKey) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# rct allocation key of trial %s.\n", k.TrialID)
	b.WriteString("# Whoever holds this file can unblind the trial: keep it apart from the database,\n")
	b.WriteString("# readable only by the trial manager. Losing it makes the allocations unverifiable.\n")
	fmt.Fprintf(&b, "rct-key: %s\nversion: 1\ntrial: %s\ninstance: %s\nseed: %s\nseal: %s\n",
		kindAllocation, k.TrialID, k.Instance, hex.EncodeToString(k.Seed[:]), hex.EncodeToString(k.Seal[:]))
	return b.Bytes()
}

func (k *PseudoKey) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# rct pseudonymisation key of trial %s.\n", k.TrialID)
	b.WriteString("# HMAC key for national numbers: needed to enrol families and import registers.\n")
	b.WriteString("# It unblinds nothing, but with it national numbers can be re-identified: keep it private.\n")
	fmt.Fprintf(&b, "rct-key: %s\nversion: 1\ntrial: %s\ninstance: %s\nkey: %s\n",
		kindPseudo, k.TrialID, k.Instance, hex.EncodeToString(k.Key[:]))
	return b.Bytes()
}

// maxKeyFile is the largest key or witness file rct reads (they are a few
// hundred bytes): a path naming something else fails at once.
const maxKeyFile = 64 << 10

// readKeyFile reads a key file, refusing one that others may read: a key
// readable by the group or the world is as good as published (as ssh
// refuses such private keys).
func readKeyFile(path string) ([]byte, error) {
	b, err := files.ReadBounded(path, maxKeyFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &KeyError{path, errors.New("no such key file")}
		}
		return nil, &KeyError{path, err}
	}
	if st, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, &KeyError{path, fmt.Errorf("permissions %04o are too open: a key file must be readable by its owner only (chmod 600 %s)", st.Mode().Perm(), path)}
	}
	return b, nil
}

// parseKeyFile reads "name: value" lines, skipping comments.
func parseKeyFile(path, kind string) (map[string]string, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &KeyError{path, errors.New("not an rct key file")}
		}
		fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if fields["rct-key"] != kind {
		if fields["rct-key"] != "" {
			return nil, &KeyError{path, fmt.Errorf("this is the %s key, not the %s key", fields["rct-key"], kind)}
		}
		return nil, &KeyError{path, errors.New("not an rct key file")}
	}
	if fields["version"] != "1" {
		return nil, &KeyError{path, fmt.Errorf("key file version %q is not known to this rct", fields["version"])}
	}
	return fields, nil
}

func hex32(path, name, s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return out, &KeyError{path, fmt.Errorf("%s is not 64 hexadecimal digits: the key file is damaged", name)}
	}
	copy(out[:], b)
	return out, nil
}

// ReadAllocationKey reads an allocation key file.
func ReadAllocationKey(path string) (*AllocationKey, error) {
	f, err := parseKeyFile(path, kindAllocation)
	if err != nil {
		return nil, err
	}
	k := &AllocationKey{TrialID: f["trial"], Instance: f["instance"], Path: path}
	if k.Seed, err = hex32(path, "seed", f["seed"]); err != nil {
		return nil, err
	}
	if k.Seal, err = hex32(path, "seal", f["seal"]); err != nil {
		return nil, err
	}
	return k, nil
}

// ReadPseudoKey reads a pseudonymisation key file.
func ReadPseudoKey(path string) (*PseudoKey, error) {
	f, err := parseKeyFile(path, kindPseudo)
	if err != nil {
		return nil, err
	}
	k := &PseudoKey{TrialID: f["trial"], Instance: f["instance"]}
	if k.Key, err = hex32(path, "key", f["key"]); err != nil {
		return nil, err
	}
	return k, nil
}

// VerifyPseudoKey reads the pseudonymisation key at path and checks that it
// belongs to this trial database.
func (db *DB) VerifyPseudoKey(ctx context.Context, path string) (*PseudoKey, error) {
	k, err := ReadPseudoKey(path)
	if err != nil {
		return nil, err
	}
	return k, db.verifyKey(ctx, path, k.Instance, "pseudo_key_check", k.Check())
}

// VerifyAllocationKey reads the allocation key at path and checks that it
// belongs to this trial database.
func (db *DB) VerifyAllocationKey(ctx context.Context, path string) (*AllocationKey, error) {
	k, err := ReadAllocationKey(path)
	if err != nil {
		return nil, err
	}
	if err := db.verifyKey(ctx, path, k.Instance, "allocation_key_check", k.Check()); err != nil {
		return nil, err
	}
	// The seal opens, but the seed is what allocates: a key whose seed
	// was altered would allocate from another sequence.
	want, err := db.Meta(ctx, "seed_commitment")
	if err != nil {
		return nil, err
	}
	if !hmacHexEqual(want, k.SeedCommitment()) {
		return nil, &KeyError{path, errors.New("the key's seed does not match the seed commitment recorded at init: the key file was altered")}
	}
	return k, nil
}

func (db *DB) verifyKey(ctx context.Context, path, instance, metaKey, check string) error {
	inst, err := db.Meta(ctx, "instance")
	if err != nil {
		return err
	}
	if instance != inst {
		return &KeyError{path, fmt.Errorf("this key belongs to another trial database (instance %s, %s is %s)", short(instance), db.Path, short(inst))}
	}
	want, err := db.Meta(ctx, metaKey)
	if err != nil {
		return err
	}
	if !hmacHexEqual(want, check) {
		return &KeyError{path, errors.New("the key does not match this trial database: the file was altered")}
	}
	return nil
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// hmacHexEqual compares two hex MACs in constant time.
func hmacHexEqual(a, b string) bool {
	x, err1 := hex.DecodeString(a)
	y, err2 := hex.DecodeString(b)
	return err1 == nil && err2 == nil && hmac.Equal(x, y)
}
