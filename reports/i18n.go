package reports

import (
	"fmt"
	"strings"
)

// dutch translates the report's English texts; a text without a
// translation stays in English.
var dutch = map[string]string{
	"Trial summary": "Samenvatting van de studie", "item": "onderdeel", "value": "waarde",
	"title": "titel", "registry": "registratie", "trial id": "studie-id", "protocol sha256": "protocol sha256",
	"protocol amendments": "protocolwijzigingen", "randomization": "randomisatie", "ratio": "verhouding", "strata": "strata",
	"block sizes": "blokgroottes", "block sizes hidden until unblinding": "blokgroottes verborgen tot de deblindering",
	"randomized from": "gerandomiseerd van", "to": "tot", "last interview": "laatste interview", "seed commitment": "seed-verbintenis",
	"groups": "groepen", "contrast": "contrast", "amendment": "wijziging",
	"1. Trial summary": "1. Samenvatting van de studie", "2. Participant flow": "2. Verloop van de deelnemers",
	"3. Baseline balance": "3. Evenwicht bij de start", "4. Attrition": "4. Uitval", "5. Effects": "5. Effecten",
	"6. Robustness": "6. Robuustheid", "7. Data quality": "7. Datakwaliteit", "8. Reproducibility": "8. Reproduceerbaarheid",
	"Participant flow": "Verloop van de deelnemers", "stage": "fase", "total": "totaal",
	"Baseline characteristics": "Kenmerken bij de start", "variable": "variabele", "mean": "gemiddelde",
	"normalized difference": "genormaliseerd verschil", "normalized difference ": "genormaliseerd verschil ",
	"Joint test:": "Gezamenlijke toets:", "Left out of the joint test:": "Niet in de gezamenlijke toets:", "randomization inference": "randomisatie-inferentie",
	"Love plot: normalized differences at baseline":                                             "Love plot: genormaliseerde verschillen bij de start",
	"Normalized differences of the baseline variables; |d| < 0.1 is usually taken as balanced.": "Genormaliseerde verschillen van de startkenmerken; |d| < 0,1 geldt meestal als evenwichtig.",
	"Response by wave": "Respons per meting", "wave": "meting", "responded": "bevraagd", "rate": "ratio", "difference": "verschil",
	"The difference is the response rate of the second group minus the first (differential attrition test, Welch).": "Het verschil is de respons van de tweede groep min die van de eerste (toets op differentiële uitval, Welch).",
	"Response rate by wave": "Respons per meting", "response rate": "respons",
	"Share of randomized families interviewed at each wave, by group.": "Aandeel gerandomiseerde gezinnen bevraagd bij elke meting, per groep.",
	"Outcome family": "Uitkomstfamilie", "outcome": "uitkomst", "estimate": "schatting", "RI p": "RI p", "adjusted p": "gecorrigeerde p",
	"risk ratio": "relatief risico", "note": "opmerking",
	"For binary outcomes the estimate is the risk difference.": "Voor binaire uitkomsten is de schatting het risicoverschil.",
	"Adjusted p: ": "Gecorrigeerde p: ", "within the family; q: sharpened q-values.": "binnen de familie; q: aangescherpte q-waarden.",
	"Effects on binary outcomes": "Effecten op binaire uitkomsten", "risk difference": "risicoverschil",
	"Estimates with {level} confidence intervals.": "Schattingen met {level}-betrouwbaarheidsintervallen.",
	"mean with {level} CI":                         "gemiddelde met {level}-BI", "{level} CI": "{level}-BI",
	"Group means over the waves with {level} confidence intervals.": "Groepsgemiddelden over de metingen met {level}-betrouwbaarheidsintervallen.",
	"Randomization distribution":                                    "Randomisatieverdeling", "difference in means under the null": "verschil in gemiddelden onder de nulhypothese",
	"Difference in means over": "Verschil in gemiddelden over", "re-randomizations with the trial's own design": "herrandomisaties met het eigen design van de studie",
	"the solid line marks the observed difference": "de volle lijn toont het waargenomen verschil", "and the dashed line its mirror": "en de streepjeslijn zijn spiegelbeeld",
	"draws": "trekkingen",
	"Covariate-adjusted and unadjusted estimates": "Schattingen met en zonder covariaten", "adjusted": "gecorrigeerd", "unadjusted": "ongecorrigeerd", "covariates": "covariaten",
	"Lee bounds for attrition": "Lee-grenzen voor uitval", "lower": "onder", "upper": "boven", "trimmed": "ingekort", "share trimmed": "aandeel ingekort",
	"Complier effect (2SLS)": "Effect bij wie begeleiding aanvaardde (2SLS)", "compliance rate": "aanvaardingsgraad",
	"Dose-response (non-experimental)": "Dosis-respons (niet-experimenteel)", "per contact": "per contact",
	"by": "naar", "effect": "effect", "Effects within subgroups; interaction test": "Effecten binnen subgroepen; interactietoets",
	"Bounds trim the group that responds more so both have the same response rate (Lee 2009); with no differential attrition they coincide.": "De grenzen korten de groep met meer respons in tot beide dezelfde respons hebben (Lee 2009); zonder differentiële uitval vallen ze samen.",
	"The complier effect and the dose-response need the key: the case managers' log reveals the arm.":                                        "Het effect bij wie begeleiding aanvaardde en de dosis-respons vragen de sleutel: het logboek van de casemanagers verraadt de arm.",
	"Non-experimental: the number of contacts is not randomized; within the intervention group only.":                                        "Niet-experimenteel: het aantal contacten is niet gerandomiseerd; enkel binnen de interventiegroep.",
	"Survey import warnings": "Waarschuwingen bij de import van bevragingen", "rule": "regel", "warnings": "waarschuwingen",
	"Register links": "Koppelingen met registers", "register": "register", "tier": "niveau", "status": "status", "links": "koppelingen", "events": "gebeurtenissen",
	"Link rates by group": "Koppelingsgraad per groep", "group": "groep", "families": "gezinnen", "linked": "gekoppeld",
	"Tier 0: national number; tier 1: names and birth date (Fellegi-Sunter).": "Niveau 0: rijksregisternummer; niveau 1: namen en geboortedatum (Fellegi-Sunter).",
	"Reproducibility": "Reproduceerbaarheid", "rct version": "rct-versie", "database sha256": "database sha256",
	"randomization-inference draws": "trekkingen randomisatie-inferentie", "standard errors": "standaardfouten",
	"p-values": "p-waarden", "two-sided; ": "tweezijdig; ", "multiple testing": "meervoudig toetsen",
	" within each outcome family; sharpened q-values (Benjamini, Krieger, Yekutieli 2006)": " binnen elke uitkomstfamilie; aangescherpte q-waarden (Benjamini, Krieger, Yekutieli 2006)",
	"confidence level": "betrouwbaarheidsniveau", "report date": "datum van het rapport", "strata adjustment": "correctie voor de strata",
	"Joint test across every group:":                                   "Gezamenlijke toets over alle groepen:",
	"The family's p-values are adjusted over every contrast together.": "De p-waarden van de familie zijn over alle contrasten samen gecorrigeerd.",
	"Only for the contrasts with the reference arm: receiving the intervention means what the case managers' log says there.": "Alleen voor de contrasten met de referentiearm: daar betekent de interventie krijgen wat het logboek van de casemanagers zegt.",
	"referred": "doorverwezen", "duplicate referrals": "dubbele doorverwijzingen", "assessed for eligibility": "beoordeeld op geschiktheid",
	"excluded: not meeting criteria": "uitgesloten: voldoet niet aan de criteria", "excluded: declined": "uitgesloten: geweigerd",
	"randomized": "gerandomiseerd", "allocated": "toegewezen", "received the allocated intervention": "kreeg de toegewezen interventie",
	"did not receive the allocated intervention": "kreeg de toegewezen interventie niet", "withdrew after randomization": "trok zich terug na randomisatie",
	"interviewed at": "bevraagd bij", "not interviewed at": "niet bevraagd bij", "analysed": "geanalyseerd", "excluded from analysis (no value)": "uitgesloten van de analyse (geen waarde)",
	"Referred": "Doorverwezen", "Duplicate referrals": "Dubbele doorverwijzingen", "Assessed for eligibility": "Beoordeeld op geschiktheid",
	"Excluded": "Uitgesloten", "Not meeting the criteria": "Voldoet niet aan de criteria", "Declined to participate": "Weigerde deel te nemen",
	"Randomized": "Gerandomiseerd", "Allocated to": "Toegewezen aan", "reference arm: no intervention offered": "referentiearm: geen interventie aangeboden",
	"Received the allocated intervention": "Kreeg de toegewezen interventie", "Did not receive it (did not accept guidance)": "Kreeg ze niet (aanvaardde geen begeleiding)",
	"Received the allocated intervention: not known": "Kreeg de toegewezen interventie: niet bekend", "What the families received: sealed with the key": "Wat de gezinnen kregen: verzegeld met de sleutel",
	"needs the key": "vraagt de sleutel", "no compliance variable in the protocol": "geen variabele voor therapietrouw in het protocol", "no activity log imported": "geen activiteitenlogboek geïmporteerd",
	"Lost to follow-up at": "Verloren voor opvolging bij", "not interviewed": "niet bevraagd", "Interviewed at": "Bevraagd bij", "Withdrew after randomization": "Trok zich terug na randomisatie",
	"Excluded from analysis": "Uitgesloten van de analyse", "no value of": "geen waarde voor", "Analysed": "Geanalyseerd",
	"Enrolment": "Inclusie", "Allocation": "Toewijzing", "Follow-up": "Opvolging", "Analysis": "Analyse",
	"CONSORT 2010 flow of the families through the trial; losses and exclusions to the side.": "CONSORT 2010-stroomschema van de gezinnen door de studie; uitval en uitsluitingen opzij.",
	"Group": "Groep", "Effect report": "Effectrapport", "blinded": "geblindeerd", "unblinded": "gedeblindeerd",
	"This report is blinded: groups are named by code; which group is which arm is sealed with the trial key.": "Dit rapport is geblindeerd: de groepen dragen een code; welke groep welke arm is, is verzegeld met de sleutel van de studie.",
	"This report is unblinded: groups are named by their arm.":                                                 "Dit rapport is gedeblindeerd: de groepen dragen de naam van hun arm.",
	"Contents": "Inhoud", "no rows": "geen rijen", "mean (SD) or n (%)": "gemiddelde (SD) of n (%)",
	", t distribution with Bell-McCaffrey degrees of freedom":                                                               ", t-verdeling met Bell-McCaffrey-vrijheidsgraden",
	", t distribution with clusters − 1 degrees of freedom":                                                                 ", t-verdeling met clusters − 1 vrijheidsgraden",
	", t distribution with n − k degrees of freedom":                                                                        ", t-verdeling met n − k vrijheidsgraden",
	"Survey and register versions: the protocol pairs no survey outcome with a register version, so none is compared here.": "Bevraging en register: het protocol koppelt geen uitkomst uit de bevraging aan een registerversie; er wordt dus niets vergeleken.",
}

// translations hold the report's texts in each language but English.
var translations = map[string]map[string]string{"nl": dutch, "fr": french}

// Languages are the languages the report is written in.
var Languages = []string{"en", "nl", "fr"}

// translator returns the text function of a language (en, nl, fr). A
// text's {level} is the confidence level (95% for alpha 0.05).
func translator(lang string, alpha float64) func(string) string {
	level := fmt.Sprintf("%g%%", 100*(1-alpha))
	words := translations[lang]
	return func(s string) string {
		if d, ok := words[s]; ok {
			s = d
		}
		return strings.ReplaceAll(s, "{level}", level)
	}
}
