/* roster.h: checking the civil-affairs roster (identities.csv) against
 * enrolment (persons.csv) and settlements, and the keyed pseudonyms that let
 * two departments run those checks without exchanging resident IDs
 * (可用不可见).
 *
 * Pseudonyms: "PS" + the first 8 bytes, in lowercase hex, of HMAC(key, ID)
 * over SM3 (国密 GB/T 32905, the default) or SHA-256, computed by OpenSSL.
 * Whoever holds the same key file computes the same pseudonym for the same
 * ID, so files pseudonymised on both sides still join; sb_person_key reads
 * both forms.
 */
#ifndef SANBAO_ROSTER_H
#define SANBAO_ROSTER_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/base.h"

/* ---- pseudonyms --------------------------------------------------------- */

typedef enum sb_pseudo_hash {
	SB_PSEUDO_SM3,
	SB_PSEUDO_SHA256
} sb_pseudo_hash;

/* A keyed hasher, ready for many IDs: the HMAC key schedule is computed
 * once. Not safe to share between threads. */
typedef struct sb_pseudonymizer sb_pseudonymizer;

/* Keys shorter than this are refused: 128 bits is the least a key that
 * guards every resident ID of a province should have. */
#define SB_PSEUDO_KEY_MIN 16
#define SB_PSEUDO_KEY_MAX 4096

/* Makes a hasher from key[0..n) (SB_PSEUDO_KEY_MIN..SB_PSEUDO_KEY_MAX
 * bytes, else SB_EINPUT). Freed by the caller with sb_pseudonymizer_free. */
SB_MUST_USE sb_status sb_pseudonymizer_new(sb_pseudo_hash hash, const void *key, size_t n,
					   sb_pseudonymizer **out, sb_diag *d);
/* The same with the raw bytes of a key file (every byte counts, a final
 * line feed too, so both sides must share the file itself). */
SB_MUST_USE sb_status sb_pseudonymizer_new_from_file(sb_pseudo_hash hash, const char *path,
						     sb_pseudonymizer **out, sb_diag *d);
void sb_pseudonymizer_free(sb_pseudonymizer *p);

/* The full HMAC of msg[0..n) into out (32 bytes for both hashes). */
SB_MUST_USE sb_status sb_pseudonymizer_mac(sb_pseudonymizer *p, const void *msg, size_t n,
					   unsigned char out[32], sb_diag *d);
/* The pseudonym of an 18-character ID (which the caller has checked):
 * "PS" + 16 hex digits + NUL into out. */
SB_MUST_USE sb_status sb_pseudonymizer_id(sb_pseudonymizer *p, const char *id,
					  char out[SB_ID_LEN + 1], sb_diag *d);

/* What sb_pseudonymizer_file did. */
typedef struct sb_pseudo_stats {
	long long rows;     /* records read */
	long long replaced; /* valid IDs replaced by their pseudonyms */
	long long kept;     /* values already pseudonyms, written as they were */
	long long invalid;  /* non-empty values that are neither: replaced by "PSX" markers */
	long long dropped;  /* malformed records that could not be carried */
	int ncolumns;       /* columns whose values were replaced */
	char columns[256];  /* their names, comma-separated (truncated when long) */
	long long shaped;   /* values shaped like IDs carried in other columns */
	long shaped_line;   /* the first one's line */
	char shaped_columns[256]; /* their columns, comma-separated */
} sb_pseudo_stats;

/* Copies the CSV in_path to out_path with the resident IDs replaced by
 * pseudonyms, streaming, every other field carried as it was (quoted only
 * when it needs quotes). The ID columns are `columns` (comma-separated
 * header names) when not NULL; else every column named person, certno or
 * psn_no, and a column named id when any of its values, over the whole
 * file, has the shape of a resident ID (17 digits and a digit or X) or is a
 * pseudonym (claims.csv's and settlements.csv's id is a claim number and
 * stays). In an ID column a valid ID becomes its pseudonym, a pseudonym
 * stays, and any other non-empty value becomes "PSX" and 16 hex digits of
 * its HMAC, so that no part of an ID survives; those are reported to
 * `report` (when not NULL) with their lines, IDs masked unless show_ids.
 * ID-shaped values in other columns are carried and counted in st->shaped
 * (the caller warns). Malformed records other than a wrong field count are
 * not written, because their text could hold a raw ID; in a ragged record
 * every valid or ID-shaped value is replaced, wherever it is. */
SB_MUST_USE sb_status sb_pseudonymizer_file(sb_pseudonymizer *p, const char *in_path,
					    const char *out_path, const char *columns,
					    bool show_ids, FILE *report, sb_pseudo_stats *st,
					    sb_diag *d);

/* ---- roster check --------------------------------------------------------- */

typedef struct sb_roster_config {
	const char *policies_dir;
	const char *policy_root; /* what `extends` may reach; NULL: the folder's parent */
	const char *persons_path;
	const char *identities_path;
	const char *settlements_path; /* optional: no stale-assistance check without it */
	const char *out_dir;
	bool show_ids; /* print IDs whole instead of masked */
} sb_roster_config;

typedef struct sb_roster_totals {
	long long person_rows, persons_invalid;     /* rows read; rows with no usable ID */
	long long identity_rows;
	long long settlement_rows, settlements_unchecked; /* rows that could not be checked */
	long long not_enrolled;    /* roster rows whose holder is not in persons.csv */
	long long stale;           /* (claim, layer) payments without a qualifying identity */
	sb_fen stale_amount;
	long long duplicates;      /* persons enrolled more than once */
	long long duplicate_rows;  /* persons.csv rows of those persons */
	long long roster_errors;   /* identities.csv rows that could not be used */
} sb_roster_totals;

/* Runs the roster checks and writes not_enrolled.csv, stale_assistance.csv,
 * duplicates.csv, roster_errors.csv and roster_summary.json into out_dir.
 * persons.csv carries no enrolment dates, so a roster holder counts as
 * enrolled on the identity's dates when they are in persons.csv at all.
 * Inputs may hold resident IDs or pseudonyms made with one key. A row that
 * cannot be read is a finding or a count, never a failure; SB_EIO,
 * SB_ESYNTAX (a header), SB_EPOLICY and SB_ENOMEM fail the run. */
SB_MUST_USE sb_status sb_roster_check(const sb_roster_config *cfg, sb_roster_totals *t,
				      sb_diag *d);

#endif
