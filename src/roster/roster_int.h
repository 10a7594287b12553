/* roster_int.h: the state of one roster check, shared by roster.c (persons,
 * identities, duplicates, the summary) and stale.c (settlements): compact
 * sorted tables keyed by the person key, and the counts by region. */
#ifndef SANBAO_ROSTER_INT_H
#define SANBAO_ROSTER_INT_H

#include <stdint.h>

#include "policy/policy_int.h"
#include "sanbao/csv.h"
#include "sanbao/roster.h"

/* A region that is not a 6-digit code, or not given. */
#define SB_ROSTER_NO_REGION UINT32_MAX

enum { SB_RSCHEME_EMPLOYEE, SB_RSCHEME_RESIDENT, SB_RSCHEME_OTHER };

/* One persons.csv row with a usable ID: 24 bytes. */
typedef struct sb_rperson {
	uint64_t key;
	uint32_t line;
	uint32_t region;
	uint8_t pseudo;
	uint8_t scheme;
} sb_rperson;

/* One usable identities.csv row. */
typedef struct sb_rident {
	uint64_t key;
	uint32_t line;
	uint32_t region;
	sb_date from, to; /* to: INT32_MAX while still held */
	int16_t sym;
	uint8_t pseudo;
} sb_rident;

/* Counts and amounts of one region for the summary. */
typedef struct sb_rregion {
	uint32_t code;
	long long persons, settlements, not_enrolled, stale, stale_claims, duplicates, errors;
	sb_fen stale_amount;
} sb_rregion;

typedef struct sb_roster {
	const sb_roster_config *cfg;
	sb_roster_totals *t;
	sb_policyset *set;
	sb_rperson *persons;  /* sorted by (pseudo, key, line) once read */
	size_t npersons, cappersons;
	sb_rident *idents;    /* sorted by (pseudo, key, line) once read */
	size_t nidents, capidents;
	sb_rregion *regions;
	size_t nregions, capregions, last_region;
	long long stale_claims;
	long long dup_regions, dup_schemes, dup_repeated;
	long long err_id, err_date, err_identity, err_record;
	struct sb_outdir *out; /* the output folder (io/outfile.h) */
} sb_roster;

/* The region record of a code, created on first use; NULL when out of
 * memory. */
sb_rregion *sb_roster_region(sb_roster *r, uint32_t code);
/* A region field as a number, SB_ROSTER_NO_REGION unless 6 digits. */
uint32_t sb_roster_region_code(const char *p, size_t n);
/* The person as printed: masked unless show_ids. out has 19 bytes. */
void sb_roster_person_text(const sb_roster *r, uint64_t key, int pseudo, char out[19]);
/* Index of the first identity row of a person, or nidents. */
size_t sb_roster_first_ident(const sb_roster *r, uint64_t key, int pseudo);
/* The person's first persons.csv row, or NULL when not enrolled. */
const sb_rperson *sb_roster_find_person(const sb_roster *r, uint64_t key, int pseudo);

/* Streams settlements.csv into stale_assistance.csv. */
SB_MUST_USE sb_status sb_roster_stale(sb_roster *r, sb_out *o, sb_diag *d);

#endif
