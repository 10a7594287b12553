/* io.h: the input vocabulary. One table of column names (the NHSA field
 * names as aliases, docs/data-format.md) per input file, one header mapping
 * that refuses a column named twice, and one reader with one validation for
 * a persons.csv row and for an identities.csv row, shared by settle,
 * monitor and roster. A reason a reader returns is a sentence a clerk can
 * act on and never holds an unmasked resident ID.
 */
#ifndef SANBAO_IO_H
#define SANBAO_IO_H

#include <stdbool.h>

#include "sanbao/csv.h"
#include "sanbao/policy.h"

/* One column: its name as docs/data-format.md spells it, up to three
 * aliases (NULL-terminated), and whether settle needs it. */
typedef struct sb_colspec {
	const char *name;
	const char *aliases[4];
	bool required;
} sb_colspec;

/* persons.csv */
enum {
	SB_PCOL_ID,
	SB_PCOL_SCHEME,
	SB_PCOL_REGION,
	SB_PCOL_HOUSEHOLD,
	SB_PCOL_EMPLOYMENT,
	SB_PCOL_TIER,
	SB_PCOL_INCOME,
	SB_PCOL_CONTINUOUS,
	SB_PCOL_CLAIMLESS,
	SB_PCOL_ENROLLED_FROM,
	SB_PCOL_UNCOVERED,
	/* Read by `sanbao fund` (and project): the monthly wage base of an
	* employee (缴费基数) and urban or rural residence. */
	SB_PCOL_WAGE_BASE,
	SB_PCOL_RESIDENCE,
	SB_PCOL_N
};
extern const sb_colspec sb_persons_columns[SB_PCOL_N];

/* identities.csv; region (admdvs) is read by roster only. */
enum { SB_ICOL_PERSON, SB_ICOL_IDENTITY, SB_ICOL_FROM, SB_ICOL_TO, SB_ICOL_REGION, SB_ICOL_N };
extern const sb_colspec sb_identities_columns[SB_ICOL_N];

/* claims.csv */
enum {
	SB_CCOL_ID,
	SB_CCOL_PERSON,
	SB_CCOL_DATE,
	SB_CCOL_VISIT,
	SB_CCOL_LEVEL,
	SB_CCOL_PLACE,
	SB_CCOL_CARE,
	SB_CCOL_FILING,
	SB_CCOL_TOTAL,
	SB_CCOL_IN_SCOPE,
	SB_CCOL_PRE,
	SB_CCOL_OVER,
	SB_CCOL_OUT,
	SB_CCOL_FACILITY,
	SB_CCOL_DIAGNOSIS,
	/* Read by `sanbao audit` only (settle ignores them): the admission
	* date, the visit id and what each fund actually paid (the NHSA
	* extract's setl_d columns). */
	SB_CCOL_BEGIN,
	SB_CCOL_MDTRT,
	SB_CCOL_HIFP,
	SB_CCOL_HIFMI,
	SB_CCOL_HIFOB,
	SB_CCOL_MAF,
	SB_CCOL_OTH,
	SB_CCOL_N
};
extern const sb_colspec sb_claims_columns[SB_CCOL_N];

/* settlements.csv as `sanbao monitor` and `sanbao roster` read it back;
 * required marks what monitor needs (roster asks for its own). */
enum {
	SB_SCOL_ID,
	SB_SCOL_PERSON,
	SB_SCOL_REGION,
	SB_SCOL_DATE,
	SB_SCOL_VISIT,
	SB_SCOL_LEVEL,
	SB_SCOL_PLACE,
	SB_SCOL_CARE,
	SB_SCOL_FILING,
	SB_SCOL_IDENTITY,
	SB_SCOL_VERSION,
	SB_SCOL_TOTAL,
	SB_SCOL_IN_SCOPE,
	SB_SCOL_FUND,
	SB_SCOL_OOP,
	SB_SCOL_OOP_IN_SCOPE,
	SB_SCOL_N
};
extern const sb_colspec sb_settlements_columns[SB_SCOL_N];

/* `sanbao fund`'s optional inputs (docs/data-format.md): balances.csv
 * (opening cumulative balances), the adjustment input (scores, 违规增支
 * deductions, advances) and warnings.csv of `settle --monitor`. */
enum { SB_BCOL_REGION, SB_BCOL_SCHEME, SB_BCOL_BALANCE, SB_BCOL_N };
extern const sb_colspec sb_balances_columns[SB_BCOL_N];
enum {
	SB_ACOL_REGION,
	SB_ACOL_SCHEME,
	SB_ACOL_YEAR,
	SB_ACOL_SCORE,
	SB_ACOL_DEDUCTION,
	SB_ACOL_ADVANCE,
	SB_ACOL_N
};
extern const sb_colspec sb_adjustment_columns[SB_ACOL_N];
enum { SB_WCOL_REGION, SB_WCOL_YEAR, SB_WCOL_N };
extern const sb_colspec sb_warnings_columns[SB_WCOL_N];

/* Maps c's header against spec[0..n): col[k] is the header index of the
 * column that names spec[k] (by its name or an alias, ASCII
 * case-insensitively, blanks trimmed, as sb_csv_find), or -1. `what` names
 * the file in messages ("claims.csv"). SB_ESYNTAX, with sb_csv_name(c) and
 * line 1 in d, when two header fields name one column ("claims.csv names
 * the column total twice: field 8 "total" and field 12 "medfee_sumamt":
 * keep one"), or, when `required`, a column marked required is missing. */
SB_MUST_USE sb_status sb_io_map(const sb_csv *c, const char *what, const sb_colspec *spec, size_t n,
				bool required, int *col, sb_diag *d);
/* Opens path (sb_csv_open) and maps its header through spec (sb_io_map,
 * `what` naming the file in messages): on success *out is the open reader;
 * on an error nothing is left open and d says why. */
SB_MUST_USE sb_status sb_io_open_mapped(const char *path, const char *what, const sb_colspec *spec,
					size_t n, bool required, int *col, sb_csv **out,
					sb_diag *d);
/* The missing-column error for s ("persons.csv has no column id (or
 * certno, psn_no)"), SB_ESYNTAX; for callers whose needs differ from the
 * table's required marks. */
sb_status sb_io_missing(const sb_csv *c, const char *what, const sb_colspec *s, sb_diag *d);

/* Whether a header name names a resident-ID column of some input file:
 * SB_IO_PERSON for the names that always hold one (person, certno,
 * psn_no), SB_IO_MAYBE_PERSON for "id" (persons.csv's ID, but the claim id
 * of claims.csv and settlements.csv), else 0. For tools that handle any
 * of the files, such as `sanbao pseudonymize`. */
enum { SB_IO_PERSON = 1, SB_IO_MAYBE_PERSON = 2 };
int sb_io_person_column(sb_csv_field h);

/* How far a cell of the current record may be shown in a reason: up to 40
 * bytes, and masked like an ID (sb_id_mask) when it looks like one (ten or
 * more characters, nearly all digits), so that a shifted column never puts
 * a resident ID into rejects.csv. Writes NUL-terminated text into out
 * (SB_IO_SHOWN bytes) and returns it. */
#define SB_IO_SHOWN 48
const char *sb_io_shown(const char *p, size_t n, char out[SB_IO_SHOWN]);
/* Masks in place, as sb_id_mask would, every run of 15 or more digits (an
 * ID's last character may be X) in p[0..n): first 6 and last 4 kept. */
void sb_io_mask_ids(char *p, size_t n);

/* The readable id of a record for a reject report, also when the record
 * is malformed: the field of column col when the reader kept the fields,
 * else the col-th comma-separated piece of the raw text (unquoted) when it
 * has no quote before it; an empty view when neither. */
sb_csv_field sb_io_record_id(const sb_csv *c, int col);

/* ---- persons.csv and identities.csv rows ---------------------------- */

/* One persons.csv row, read and validated. Views point into the reader. */
typedef struct sb_person_row {
	uint64_t key; /* sb_person_key */
	int pseudo;
	sb_date birth;      /* from the ID; unset for a pseudonym */
	uint8_t scheme;     /* 0 employee, 1 resident */
	uint8_t employment; /* 0 active, 1 retired, 0xff not given */
	char region[7];     /* 6 digits and NUL */
	bool has_income;
	sb_fen income;
	sb_csv_field household, tier; /* as written; empty when not given */
	/* Enrolment facts: -1 / SB_DATE_NONE when not given. */
	int16_t continuous_years, claimless_years, uncovered_years;
	sb_date enrolled_from;
	/* Funding facts: the monthly wage base (has_wage_base) and residence
	 * (SB_RESIDENCE_*). */
	bool has_wage_base;
	sb_fen wage_base;
	uint8_t residence;
} sb_person_row;

enum { SB_RESIDENCE_URBAN = 0, SB_RESIDENCE_RURAL = 1, SB_RESIDENCE_UNKNOWN = 0xff };

/* Reads the current record of c as a persons.csv row (col from sb_io_map
 * over sb_persons_columns). Returns NULL, or the reason the row is refused
 * (in why, cap bytes, or a static string). The same rules for every
 * consumer: ID with check digit or pseudonym, scheme word or code, 6-digit
 * region, employment word, income in yuan >= 0. Whether the region has a
 * policy is the caller's question. */
const char *sb_person_row_read(const sb_csv *c, const int *col, sb_person_row *row, char *why,
			       size_t cap);

/* Kinds of an identities.csv row's first problem. */
enum { SB_IROW_OK = -1, SB_IROW_ID, SB_IROW_DATE, SB_IROW_IDENTITY };

typedef struct sb_identity_row {
	uint64_t key;
	int pseudo;
	int sym; /* identity symbol, declared by a policy's identities list */
	sb_date from;
	sb_date to; /* inclusive; INT32_MAX when still held */
} sb_identity_row;

/* Reads the current record of c as an identities.csv row (col from
 * sb_io_map over sb_identities_columns): person ID, identity word declared
 * in some policy's `identities` list, from date, optional to date not
 * before from. Returns the kind of the first problem (SB_IROW_OK when
 * none); reason gets every problem, joined by "; ". */
int sb_identity_row_read(const sb_csv *c, const int *col, const sb_policyset *set,
			 sb_identity_row *row, char *reason, size_t cap);

#endif
