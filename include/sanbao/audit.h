/* audit.h: fund supervision (基金监管). `sanbao audit` re-adjudicates an
 * extract of claims that carry what each fund actually paid: every claim
 * is settled again through the core, in date order, exactly as `settle`
 * does, and the rules of a rule file (rules/default.yaml) compare and
 * cross-check the claims: overpaid and underpaid layers, duplicates, split
 * stays, overlapping stays, assistance without an identity.
 *
 * Outputs under out_dir (complete or absent, through io/outfile.h):
 * findings.csv (IDs masked), traces.jsonl (the recomputation of every
 * overpaid or underpaid claim, sanbao/explain.h's JSON), audit.json (counts
 * and amounts at risk by rule, layer, facility and region), the batch's
 * settlements.csv, rejects.csv and summary.json of the recomputation, and
 * evidence.txt: an SM3 Merkle tree over the rows of the outputs with the
 * inputs' hashes (sb_audit_evidence_verify checks it).
 */
#ifndef SANBAO_AUDIT_H
#define SANBAO_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/base.h"
#include "sanbao/batch.h"

/* ---- the rule file ------------------------------------------------------ */

typedef enum sb_audit_rule_id {
	SB_AUDIT_OVERPAID,
	SB_AUDIT_UNDERPAID,
	SB_AUDIT_DUPLICATE,
	SB_AUDIT_SPLIT_STAY,
	SB_AUDIT_OVERLAP,
	SB_AUDIT_ASSISTANCE_INELIGIBLE,
	SB_AUDIT_COST_OUTLIER,
	SB_AUDIT_NRULES
} sb_audit_rule_id;

typedef enum sb_audit_severity { SB_AUDIT_LOW, SB_AUDIT_MEDIUM, SB_AUDIT_HIGH } sb_audit_severity;

/* The NHSA extract's fund columns (setl_d): which fund_code of a layer each
 * one sums. */
enum { SB_AUDIT_HIFP, SB_AUDIT_HIFMI, SB_AUDIT_HIFOB, SB_AUDIT_MAF, SB_AUDIT_OTH, SB_AUDIT_NFUNDS };
#define SB_AUDIT_MAX_CODES 8

typedef struct sb_audit_rule {
	bool enabled;
	sb_audit_severity severity;
	const char *source;   /* the citation, may be NULL (arena) */
	sb_fen tolerance;     /* overpaid/underpaid: a difference up to it is not flagged */
	int days;             /* split_stay: readmission within this many days */
	int diagnosis_chars;  /* split_stay: 0, or the leading characters of the
			       * diagnosis both stays must share */
	bool outpatient;      /* overlap: also outpatient claims at another facility */
	int64_t threshold_bp; /* cost_outlier: robust z-score above which a facility is
			       * flagged, in basis points (3.5 = 35000) */
	int min_claims;       /* cost_outlier: claims a facility needs in its group */
	int min_peers;        /* cost_outlier: facilities a group needs */
} sb_audit_rule;

typedef struct sb_audit_rules {
	const char *path, *name, *source;
	sb_date from;
	sb_audit_rule rule[SB_AUDIT_NRULES];
	/* fund column k sums the layers whose fund_code is one of code[k] */
	char code[SB_AUDIT_NFUNDS][SB_AUDIT_MAX_CODES][16];
	int ncodes[SB_AUDIT_NFUNDS];
	void *arena; /* owns the strings */
} sb_audit_rules;

const char *sb_audit_rule_name(sb_audit_rule_id r);
const char *sb_audit_severity_name(sb_audit_severity s);
const char *sb_audit_fund_column(int k); /* "hifp_pay", ... */

/* Reads and validates a rule file (docs/audit-rules.md). Every error is
 * SB_ESYNTAX or SB_EINPUT at its file:line:column, saying what is allowed.
 * r is released by the caller with sb_audit_rules_release (also after a
 * failure). */
SB_MUST_USE sb_status sb_audit_rules_load(const char *path, sb_audit_rules *r, sb_diag *d);
/* The same over a buffer; name stands for the path in messages. */
SB_MUST_USE sb_status sb_audit_rules_load_mem(const char *name, const char *buf, size_t n,
					      sb_audit_rules *r, sb_diag *d);
void sb_audit_rules_release(sb_audit_rules *r);

/* ---- a run ------------------------------------------------------------- */

typedef struct sb_audit_config {
	const char *policies_dir, *persons_path, *identities_path, *claims_path, *out_dir;
	const char *rules_path; /* the rule file */
	int threads;            /* 0: one per core */
	size_t partition_bytes; /* 0: the batch's default */
	const char *tmp_dir;
	sb_batch_progress_fn *progress; /* optional, as the batch's */
	bool no_evidence; /* write no evidence.txt (an earlier one is removed) */
} sb_audit_config;

typedef struct sb_audit_totals {
	sb_batch_totals batch;
	long long claims_read; /* extract rows read by the audit */
	long long findings[SB_AUDIT_NRULES];
	sb_fen at_risk[SB_AUDIT_NRULES];
	long long unaudited; /* settled claims with no paid column to compare */
	char root[65];       /* evidence.txt's root, hex ("" with no_evidence) */
} sb_audit_totals;

SB_MUST_USE sb_status sb_audit_run(const sb_audit_config *cfg, sb_audit_totals *t, sb_diag *d);

/* ---- evidence (存证) -------------------------------------------------- */

/* Writes dir/evidence.txt: for each output file named in outputs
 * (NULL-terminated, in dir) its SM3 leaf hash per row (the header is row
 * 1), its Merkle root, and the SM3 of each input file (NULL-terminated
 * paths); the evidence root is the Merkle root over the files' roots and
 * the inputs' hashes (written in hex to root, 65 bytes). Atomic. */
SB_MUST_USE sb_status sb_audit_evidence_write(const char *dir, const char *const *outputs,
					      const char *const *inputs, char root[65], sb_diag *d);
/* The evidence of a run (audit, settle --evidence): removes an earlier
 * dir/evidence.txt, then writes one over outputs and over the input files
 * (files[0..nfiles), NULL entries skipped) and every *.yaml of
 * policies_dir, sorted. */
SB_MUST_USE sb_status sb_audit_evidence_run(const char *dir, const char *const *outputs,
					    const char *policies_dir, const char *const *files,
					    size_t nfiles, char root[65], sb_diag *d);
/* Recomputes the evidence of dir/evidence.txt: the root from the stored
 * leaves (and, when root_hex is not NULL, against that published root),
 * then every output file's rows against its leaves. SB_EINPUT with the
 * first difference in d, naming the file and row: "findings.csv row 3 was
 * changed", "... row 9 was added", "... row 9 was removed". Lines of what
 * was checked go to report (may be NULL). */
SB_MUST_USE sb_status sb_audit_evidence_verify(const char *dir, const char *root_hex, FILE *report,
					       sb_diag *d);

#endif
