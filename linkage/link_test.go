package linkage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/trialtest"
	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// TestLinkTiers enrols a simulated trial, then links an OCMW extract in
// which some trial persons carry their national number (tier 0), some
// only a name variant and birth date (tier 1: accents, "Van den" spacing,
// swapped day and month), among many register persons who are not in the
// trial (discarded).
func TestLinkTiers(t *testing.T) {
	ctx := context.Background()
	actor := trial.Actor{Name: "test", Now: func() time.Time { return time.Date(2019, 6, 30, 12, 0, 0, 0, time.UTC) }}
	tt := trialtest.New(t, actor)
	dir, p, db, key := tt.Dir, tt.P, tt.DB, tt.PseudoKey
	cfg := simulate.DefaultConfig()
	cfg.Families, cfg.Duplicates, cfg.MissingNumber = 300, 0, 0
	rows := simulate.Referrals(cfg, p)
	refFile := filepath.Join(dir, "ref.xlsx")
	if err := simulate.WriteReferralsXLSX(refFile, p, rows); err != nil {
		t.Fatal(err)
	}
	refs := tt.EnrollFile(t, refFile, actor)
	// Mothers of enrolled families: 100 by number, 100 by name variant.
	var mothers []simulate.ReferralRow
	enrolled := map[string]bool{}
	for _, r := range refs {
		if r.WeakCount() >= 3 && r.Consent != nil && *r.Consent {
			enrolled[r.ID] = true
		}
	}
	for _, r := range rows {
		if r.Role == "mother" && enrolled[r.ReferralID] {
			mothers = append(mothers, r)
		}
	}
	if len(mothers) < 200 {
		t.Fatalf("%d enrolled mothers", len(mothers))
	}
	src := rand.New(rand.NewPCG(3, 3))
	var b strings.Builder
	b.WriteString("rijksregisternummer;voornaam;naam;geboortedatum;postcode;soort;begindatum;einddatum;bedrag;categorie\n")
	for i, m := range mothers[:200] {
		num, first, last, birth := m.Number, m.FirstName, m.LastName, m.BirthDate
		if i >= 100 {
			num = "" // tier 1
			switch i % 4 {
			case 0:
				last = strings.ReplaceAll(last, " ", "") // Van den Broucke → VandenBroucke
			case 1:
				first = strings.ToUpper(first)
			case 2:
				if birth.Day() <= 12 {
					birth = time.Date(birth.Year(), time.Month(birth.Day()), int(birth.Month()), 0, 0, 0, 0, time.UTC)
				}
			}
		}
		fmt.Fprintf(&b, "%s;%s;%s;%s;%s;AFH;2017-05-01;;100;\n", num, first, last, birth.Format("02/01/2006"), m.Postcode)
	}
	// 3,000 register persons who are not in the trial.
	firsts := []string{"Jan", "Piet", "Els", "An", "Mehmet", "Fatou", "Lucas", "Emma", "Ilse", "Rik"}
	lasts := []string{"Wouters", "Goossens", "Aerts", "Smet", "Jacobs", "Hermans", "Michiels", "Lambrechts", "Willems", "Dubois", "Peeters", "Maes"}
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, ";%s;%s;%02d/%02d/%d;85%d0;LL;2017-05-01;;;\n", firsts[src.IntN(len(firsts))], lasts[src.IntN(len(lasts))], 1+src.IntN(28), 1+src.IntN(12), 1960+src.IntN(45), src.IntN(8))
	}
	exFile := filepath.Join(dir, "ocmw.csv")
	os.WriteFile(exFile, []byte(b.String()), 0o644)
	reg, _ := p.Register("ocmw")
	ex, err := ReadExtract(exFile, reg, ReadOptions{Key: key.Key[:]})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Link(ctx, db, ex, LinkOptions{SHA256: "x", Actor: actor, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Tier0 != 100 {
		t.Errorf("tier 0: %d links, want 100", res.Tier0)
	}
	if res.Tier1+res.Review < 95 || res.Tier1 < 85 {
		t.Errorf("tier 1: %d links and %d to review, want about 100", res.Tier1, res.Review)
	}
	// Every tier-1 link goes to the right mother.
	var wrong int
	db.SQL().QueryRow(`SELECT count(*) FROM register_links l JOIN persons p ON p.id = l.person WHERE l.tier = 1 AND l.status = 'linked' AND p.role != 'mother'`).Scan(&wrong)
	if wrong > 0 {
		t.Errorf("%d tier-1 links to persons who are not mothers", wrong)
	}
	if res.Discarded < 2900 {
		t.Errorf("discarded %d of 3000 outsiders", res.Discarded)
	}
}
