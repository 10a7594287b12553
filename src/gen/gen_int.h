/* gen_int.h: what gen.c (the run: pre-pass, threads, files) and
 * gen_model.c (the population and claims model) share. Nothing here is
 * public; the contract is include/sanbao/gen.h.
 */
#ifndef SANBAO_GEN_INT_H
#define SANBAO_GEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sanbao/base.h"

#define GEN_REGIONS 5
/* Resident IDs: per pooling region 99 county codes x 1000 sequence numbers
 * are handed out once per "round"; see gen_model.c. */
#define GEN_ID_SLOTS 99000u
/* A household is 1 to 5 persons. */
#define GEN_HH_MAX 5
/* The longest row any of the three files gets, with room to spare: the
 * writers reserve this much before each row and never check again. */
#define GEN_ROW_MAX 256
/* No single output buffer may pass this; a block is sized far below it. */
#define GEN_BUF_LIMIT ((size_t)1 << 31)

/* A growable byte buffer with a hard limit. */
typedef struct gen_buf {
	char *p;
	size_t n;
	size_t cap;
} gen_buf;

/* 0 when `more` bytes fit after b->n (growing if needed), -1 when memory
 * or the limit ran out. */
int gen_buf_reserve(gen_buf *b, size_t more);
void gen_buf_release(gen_buf *b);

/* One worker's output for one block: its households' persons and
 * identities in order, and its claims by day of the year, so that
 * concatenating workers day by day gives the same bytes for any split. */
typedef struct gen_sink {
	gen_buf persons;
	gen_buf identities;
	gen_buf days[366];
	uint64_t n_persons;
	uint64_t n_identities;
	uint64_t n_claims;
	int failed; /* a buffer could not grow */
} gen_sink;

void gen_sink_reset(gen_sink *s);
void gen_sink_release(gen_sink *s);

/* Everything a household's generation reads; built once per run by
 * gen_model_init and read-only afterwards, so workers share it freely. */
typedef struct gen_model {
	uint64_t seed;
	int year;
	int ndays;
	sb_date jan1;
	char day_text[366][10]; /* "YYYY-MM-DD", no NUL */
	char year_text[4];

	/* ID rounds per region (see gen_model.c); set after the pre-pass. */
	uint32_t rounds[GEN_REGIONS];
	uint32_t slot_offset[GEN_REGIONS];

	double size_cdf[GEN_HH_MAX];
	double region_cdf[GEN_REGIONS];
	double income[GEN_REGIONS]; /* mean per-capita income in `year` */
	double age_cdf_child[18];   /* ages 0-17 */
	double age_cdf_adult[83];   /* ages 18-100 */
	double child_share;         /* of members after the first */
	double p_active;            /* 18-59: active employee */
	double p_retired;           /* 60+: retired employee */
	double p_tekun_single;      /* a one-person household is 特困 */
	/* Per group (resident, active, retired) and age: expected admissions
	 * and ordinary outpatient visits, and the chance of being a chronic
	 * (门诊慢特病) patient, scaled so each group meets its calibrated mean. */
	double inpatient[3][101];
	double outpatient[3][101];
	double chronic[3][101];
	double ip_scale[2];         /* inpatient cost scale: resident, employee */
} gen_model;

void gen_model_init(gen_model *m, uint64_t seed, int year);

/* A household's size (1-5, before the last one is cut to fit) and pooling
 * region (0-4), from hashes of (seed, h) so the pre-pass is cheap. */
void gen_household_shape(const gen_model *m, uint64_t h, int *size,
			 int *region);

/* Appends household h to s: its `size` persons, numbered p0.. overall and
 * q0.. within its region. Returns -1 when a buffer could not grow. */
int gen_household(const gen_model *m, uint64_t h, uint64_t p0, uint64_t q0,
		  int size, int region, gen_sink *s);

/* out_dir/extract.csv and anomalies.csv from the province just written
 * (sanbao/gen.h's anomalies_bp; anomalies.c). */
struct sb_gen_config;
struct sb_gen_stats;
SB_MUST_USE sb_status gen_anomalies(const struct sb_gen_config *cfg, struct sb_gen_stats *stats,
				    sb_diag *d);

#endif
