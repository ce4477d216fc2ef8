package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// enrolledDir makes a trial with families enrolled from a simulated
// referral workbook, and returns its directory.
func enrolledDir(t testing.TB, families int) string {
	t.Helper()
	dir := t.(interface{ TempDir() string }).TempDir()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Families = families
	os.WriteFile(filepath.Join(dir, "trial.yaml"), trial.ExampleProtocol(), 0o644)
	if err := simulate.WriteReferralsXLSX(filepath.Join(dir, "referrals.xlsx"), p, simulate.Referrals(cfg, p)); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "--protocol", "trial.yaml"}, {"enroll", "referrals.xlsx"}} {
		c := rctCmd(&testing.T{}, dir, args...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// TestParallelRandomize runs 8 rct randomize processes at once on the same
// database: no two families share a slot, no family is allocated twice,
// and the chain does not fork.
func TestParallelRandomize(t *testing.T) {
	dir := enrolledDir(t, 60)
	ctx := context.Background()
	db, err := trial.Open(ctx, filepath.Join(dir, "trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	var enrolled int
	db.SQL().QueryRow(`SELECT count(*) FROM families`).Scan(&enrolled)
	db.Close()

	// parallel runs one rct process per argument list at once and returns
	// their exit errors.
	parallel := func(argss [][]string) []error {
		var wg sync.WaitGroup
		errs := make([]error, len(argss))
		for w, args := range argss {
			wg.Add(1)
			go func(w int, args []string) {
				defer wg.Done()
				if out, err := rctCmd(t, dir, args...).CombinedOutput(); err != nil {
					errs[w] = fmt.Errorf("%v: %v\n%s", args, err, out)
				}
			}(w, args)
		}
		wg.Wait()
		return errs
	}
	// 1. Eight processes, three different families each: all succeed.
	var argss [][]string
	for w := 0; w < 8; w++ {
		args := []string{"randomize", "--key", "trial.key"}
		for i := 0; i < 3; i++ {
			args = append(args, "--family", trial.StudyCode("K", 2+w*3+i))
		}
		argss = append(argss, args)
	}
	for _, err := range parallel(argss) {
		if err != nil {
			t.Error(err)
		}
	}
	// 2. Eight processes want the same family: exactly one gets it.
	argss = nil
	for w := 0; w < 8; w++ {
		argss = append(argss, []string{"randomize", "--key", "trial.key", "--family", "K-0001"})
	}
	won := 0
	for _, err := range parallel(argss) {
		if err == nil {
			won++
		} else if !strings.Contains(err.Error(), "already randomized") {
			t.Error(err)
		}
	}
	if won != 1 {
		t.Errorf("%d processes randomized K-0001", won)
	}
	// 3. Eight processes randomize the pending families at once.
	argss = nil
	for w := 0; w < 8; w++ {
		argss = append(argss, []string{"randomize", "--key", "trial.key", "--pending"})
	}
	for _, err := range parallel(argss) {
		if err != nil {
			t.Error(err)
		}
	}
	db, err = trial.Open(ctx, filepath.Join(dir, "trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, slots, fams, maxSlot int
	db.SQL().QueryRow(`SELECT count(*), count(DISTINCT slot), count(DISTINCT family), max(slot) FROM allocations`).Scan(&n, &slots, &fams, &maxSlot)
	if n != enrolled || slots != n || fams != n || maxSlot != n {
		t.Errorf("%d allocations, %d slots, %d families, last slot %d; %d enrolled", n, slots, fams, maxSlot, enrolled)
	}
	p, _, _ := db.Protocol(ctx)
	k, err := db.VerifyAllocationKey(ctx, filepath.Join(dir, "trial.key"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := db.VerifyChain(ctx, p, k)
	if err != nil || len(rep.Problems) > 0 || rep.Allocations != enrolled {
		t.Errorf("chain after parallel randomization: %+v %v", rep, err)
	}
}
