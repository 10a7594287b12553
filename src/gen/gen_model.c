/* gen_model.c: the synthetic demo province: who lives there (age,
 * household, scheme, income, assistance identities) and what care they use
 * in a year (claims by visit type, level, place, cost and its parts).
 *
 * Every number that stands for a published figure is named in
 * docs/calibration.md; the rest are assumptions and are marked so there.
 * Each household draws from its own generator seeded from (seed, household
 * index), which is what lets any number of threads produce the same bytes.
 * Doubles are used to draw; every amount becomes integer fen once.
 */
#include <math.h>
#include <string.h>

#include "base/arena.h"
#include "gen/gen_int.h"

/* ---- random numbers --------------------------------------------------- */

#define GOLDEN 0x9E3779B97F4A7C15ULL

/* splitmix64's finaliser: a bijection that scrambles every bit, used both
 * to seed and as a counter-based hash for the cheap pre-pass draws. */
static uint64_t mix64(uint64_t z)
{
	z += GOLDEN;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Distinct tags keep the streams drawn from one (seed, index) apart. */
enum { TAG_SIZE = 1, TAG_REGION, TAG_HOUSEHOLD, TAG_SLOTS, TAG_FUNDING };

static uint64_t hash3(uint64_t seed, uint64_t tag, uint64_t i)
{
	return mix64(mix64(seed ^ (tag * 0xD1B54A32D192ED03ULL)) + i);
}

/* xoshiro256** (Blackman and Vigna): small state, fast, and good enough
 * for simulation; seeded through splitmix64 as its authors advise. */
typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void rng_seed(rng *r, uint64_t key)
{
	for (int i = 0; i < 4; i++) {
		key += GOLDEN;
		r->s[i] = mix64(key);
	}
}

static uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* [0, 1) with 53 random bits. */
static double to_unit(uint64_t x)
{
	return (double)(x >> 11) * 0x1.0p-53;
}

static double unif(rng *r)
{
	return to_unit(rng_next(r));
}

/* [0, n) for n < 2^32, by multiply-shift (Lemire) rather than modulo. */
static uint32_t below(rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t between(rng *r, uint32_t lo, uint32_t hi)
{
	return lo + below(r, hi - lo + 1);
}

static double normal(rng *r)
{
	/* Box-Muller; u1 is in (0, 1] so the log is finite. */
	double u1 = ((double)(rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
	double u2 = unif(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A log-normal draw with the given mean (not median). */
static double lognormal(rng *r, double mean, double sigma)
{
	return mean * exp(sigma * normal(r) - 0.5 * sigma * sigma);
}

/* Poisson by inversion from one uniform; lambda stays below ~15 here. */
static int poisson(rng *r, double lambda, int cap)
{
	double u = unif(r);
	double pk = exp(-lambda);
	double cdf = pk;
	int k = 0;

	while (u > cdf && k < cap) {
		k++;
		pk *= lambda / k;
		cdf += pk;
	}
	return k;
}

/* Index into a table of probabilities that sum to 1. */
static int pick(rng *r, const double *p, int n)
{
	double u = unif(r);

	for (int i = 0; i < n - 1; i++) {
		if (u < p[i])
			return i;
		u -= p[i];
	}
	return n - 1;
}

static int pick_cdf(double u, const double *cdf, int n)
{
	int i = 0;

	while (i < n - 1 && u >= cdf[i])
		i++;
	return i;
}

/* ---- the province ------------------------------------------------------ */

static const char *const region_code[GEN_REGIONS] = {
	"990100", "990200", "990300", "990400", "990500"
};
/* Assumption: a capital region and four smaller ones. */
static const double region_weight[GEN_REGIONS] = { 0.30, 0.25, 0.20, 0.15, 0.10 };
/* Per-capita disposable income: the national mean (NBS 2022 36,883,
 * NBS-2023 39,218, NBS-2024inc 41,314; other years grow or shrink 5.3% a
 * year, the 2024 rise) times each region's factor, the same factors the
 * demo policy files use for their `income` (policies/demo/9901..9905). */
static const double region_income_factor[GEN_REGIONS] = { 1.25, 1.10, 0.85, 0.75, 1.00 };
#define INCOME_GROWTH 1.053

static double national_income(int year)
{
	static const double known[3] = { 36883, 39218, 41314 }; /* 2022-2024 */

	if (year >= 2022 && year <= 2024)
		return known[year - 2022];
	return year < 2022 ? known[0] * pow(INCOME_GROWTH, (double)(year - 2022)) :
			     known[2] * pow(INCOME_GROWTH, (double)(year - 2024));
}
/* NBS-2023: mean/median income 39,218/33,036 gives a log-normal sigma of
 * sqrt(2 ln 1.187) = 0.585. */
#define INCOME_SIGMA 0.585
/* Households without an identity sit this much above the regional mean,
 * so that with the poorer identity households (about 9% of persons at
 * some 40% of the mean) the population mean is the region's. */
#define INCOME_OTHERS 1.055

/* Assumption: one to five persons, mean 2.63 (national 2.62, NBS-2023). */
static const double household_size[GEN_HH_MAX] = { 0.22, 0.30, 0.22, 0.15, 0.11 };

/* Age at the start of the year, by band (percent of the population):
 * 0-15 17.6%, 16-59 61.3%, 60+ 21.1% of which 65+ 15.4% (NBS 2023 via
 * the 老龄事业公报); the split of 65+ into five-year bands is assumed. */
static const struct {
	int lo, hi;
	double percent;
} age_band[] = {
	{ 0, 15, 17.6 }, { 16, 59, 61.3 }, { 60, 64, 5.7 }, { 65, 69, 6.0 },
	{ 70, 74, 4.3 }, { 75, 79, 2.6 },  { 80, 84, 1.5 }, { 85, 89, 0.7 },
	{ 90, 100, 0.3 },
};

/* Employees are 37,095 of 133,389 万 insured (NHSA-2023) and 27.6% of
 * them are retired (NHSA-2024). Assumption: everyone retires at 60. */
#define EMPLOYEE_SHARE (37095.0 / 133389.0)
#define RETIRED_SHARE 0.276

enum { G_RESIDENT, G_ACTIVE, G_RETIRED };

/* Admissions per insured per year: residents 20.7%, active workers
 * 11.93%, retirees 49.02% (NHSA-2023). Ordinary outpatient and pharmacy
 * claims that reach a pooled fund are assumptions (see calibration.md). */
static const double inpatient_rate[3] = { 0.207, 0.1193, 0.4902 };
static const double outpatient_rate[3] = { 1.2, 1.0, 2.4 };
static const double pharmacy_rate[3] = { 0.05, 0.25, 0.45 };
/* 门诊慢特病: 0.30 visits per resident (2.97亿 / 98,349万, NHSA-2022) and
 * 0.73 per employee (2.7亿 / 37,095万, NHSA-2023), as a share of chronic
 * patients times 1 + Poisson(8) visits; retirees assumed 4.5x as likely. */
#define CHRONIC_VISITS_EXTRA 8.0
static const double chronic_share[3] = { 0.30 / 9.0, 0.0411, 0.185 };

/* How utilisation rises with age (relative; assumption shaped on the
 * active/retired ratio of 4.1 in NHSA-2023): {last age of the step, factor}. */
struct step {
	int upto;
	double f;
};
static const struct step inpatient_age[] = {
	{ 4, 1.2 },  { 14, 0.45 }, { 19, 0.5 },  { 39, 0.8 },
	{ 49, 0.9 }, { 59, 1.2 },  { 64, 1.8 },  { 69, 2.2 },
	{ 74, 2.8 }, { 79, 3.3 },  { 100, 3.8 },
};
static const struct step outpatient_age[] = {
	{ 4, 1.5 }, { 17, 0.7 }, { 39, 0.7 }, { 59, 1.0 }, { 69, 1.5 }, { 100, 1.8 },
};
static const struct step chronic_age[] = {
	{ 17, 0.1 }, { 39, 0.3 }, { 49, 0.8 }, { 59, 1.5 },
	{ 69, 2.5 }, { 79, 3.2 }, { 100, 3.5 },
};

/* Assistance identities, as the demo policies name them. */
enum { ID_TEKUN, ID_DIBAO, ID_MONITORED, ID_DIBAO_EDGE, ID_ILLNESS_POOR,
       ID_TUOPIN, ID_COUNT };
static const char *const identity_name[ID_COUNT] = {
	"tekun", "dibao", "monitored", "dibao_edge", "illness_poor", "tuopin"
};
/* Shares of the population (MCA Oct 2023 over 140,967万): 特困 460万
 * 0.33%, 低保 4,000万 2.84%, 低保边缘 600万 0.43%. The rest assumed. */
#define SHARE_TEKUN (460.0 / 140967.0)
#define SHARE_DIBAO (4000.0 / 140967.0)
#define SHARE_DIBAO_EDGE (600.0 / 140967.0)
#define SHARE_MONITORED 0.005
#define SHARE_ILLNESS_POOR 0.002
#define TUOPIN_IF_DIBAO 0.30
#define TUOPIN_OTHERWISE 0.043
/* Assumption: how much more care identity holders use (admissions,
 * visits, chronic status): 特困/低保/低保边缘/监测 x1.3, 脱贫 x1.1, and
 * 因病致贫重病患者 x2.5 more for admissions and chronic care. */
#define MULT_VULNERABLE 1.3
#define MULT_TUOPIN 1.1
#define MULT_ILL 2.5
/* Income of an identity holder's household as a share of the region's. */
static const double identity_income[ID_COUNT] = { 0.20, 0.22, 0.40, 0.35, 0.60, 0.50 };
#define IDENTITY_INCOME_SIGMA 0.35

/* Claims. */
enum { V_INPATIENT, V_CHRONIC, V_OUTPATIENT, V_PHARMACY, V_COUNT };
static const char *const visit_name[V_COUNT] = {
	"inpatient", "chronic_outpatient", "outpatient", "pharmacy"
};
enum { L_PRIMARY, L_SECONDARY, L_TERTIARY, L_COUNT };
static const char *const level_name[L_COUNT] = { "primary", "secondary", "tertiary" };
enum { P_LOCAL, P_IN_PROVINCE, P_CROSS, P_COUNT };

/* Place of care. Cross-province inpatient care is 11.25M of 301.87M
 * admissions in 2023 (3.7%), taken as 4%; the rest is assumed. */
static const double place_p[V_COUNT][P_COUNT] = {
	{ 0.86, 0.10, 0.04 },
	{ 0.95, 0.04, 0.01 },
	{ 0.93, 0.05, 0.02 },
	{ 0.97, 0.025, 0.005 },
};
/* Facility level (assumption): at home, by scheme (resident, employee);
 * away from home, mostly tertiary. Pharmacies have no level of their own
 * and settle as primary care (基层), as in most 门诊统筹 rules. */
static const double level_home[V_COUNT][2][L_COUNT] = {
	{ { 0.22, 0.43, 0.35 }, { 0.10, 0.35, 0.55 } },
	{ { 0.30, 0.35, 0.35 }, { 0.30, 0.35, 0.35 } },
	{ { 0.55, 0.25, 0.20 }, { 0.35, 0.25, 0.40 } },
	{ { 1, 0, 0 }, { 1, 0, 0 } },
};
static const double level_away[V_COUNT][L_COUNT] = {
	{ 0, 0.25, 0.75 },
	{ 0, 0.30, 0.70 },
	{ 0.10, 0.30, 0.60 },
	{ 1, 0, 0 },
};
/* Mean cost in yuan by level, before the place factor. Inpatient is
 * relative and scaled so each scheme meets its mean per admission
 * (employees 12,175, residents 7,674, NHSA-2023); outpatient hospital
 * visits average ~361 (NHC-2023 361.6); the rest assumed. */
static const double cost_mean[V_COUNT][L_COUNT] = {
	{ 0.35, 0.75, 1.35 },
	{ 350, 600, 900 },
	{ 90, 270, 430 },
	{ 130, 130, 130 },
};
static const double cost_sigma[V_COUNT] = { 0.85, 1.0, 0.9, 0.8 };
static const double place_cost[P_COUNT] = { 1.0, 1.15, 1.5 };
static const double inpatient_mean[2] = { 7674, 12175 };
/* Largest single claim, yuan: keeps the log-normal tail believable. */
static const double cost_max[V_COUNT] = { 3000000, 300000, 300000, 300000 };

/* In-scope share of the total in basis points, by level: 70-89%.
 * With 先行自付 up to 8% and 超限价 up to 3% the parts never pass 100%. */
static const uint32_t in_scope_bp[L_COUNT][2] = {
	{ 8000, 8900 }, { 7600, 8900 }, { 7000, 8700 },
};

static const char *const filing_name[] = {
	"filed", "referral", "emergency", "long_term", "unfiled"
};
static const double filing_away[2][5] = {
	{ 0.50, 0.20, 0.10, 0.08, 0.12 }, /* inpatient */
	{ 0.60, 0.05, 0.05, 0.15, 0.15 }, /* the rest */
};
/* Where cross-province care happens: 北京朝阳, 上海徐汇, 广州天河, 杭州西湖,
 * 武汉武昌, 成都武侯, 重庆渝北, 南京玄武. */
static const char *const far_region[] = {
	"110105", "310104", "440106", "330106", "420106", "510107", "500112", "320102"
};
#define N_FAR (sizeof far_region / sizeof far_region[0])

/* ---- model set-up ------------------------------------------------------- */

static double step_at(const struct step *t, int age)
{
	while (age > t->upto)
		t++;
	return t->f;
}

/* The chance of a group at an age, given the age distribution. */
static double group_given_age(const gen_model *m, int g, int age)
{
	double emp = 0;

	if (age >= 60)
		emp = m->p_retired;
	else if (age >= 18)
		emp = m->p_active;
	if (g == G_RESIDENT)
		return 1 - emp;
	if (g == G_ACTIVE)
		return age < 60 ? emp : 0;
	return age >= 60 ? emp : 0;
}

/* Fills rate[g][age] = mean[g] / div[g] x f(age) / (f's mean over group
 * g), where div is the group's mean identity factor. */
static void scale_by_age(const gen_model *m, const double *pmf,
			 const struct step *f, const double mean[3],
			 const double div[3], double rate[3][101])
{
	for (int g = 0; g < 3; g++) {
		double w = 0, wf = 0;

		for (int a = 0; a <= 100; a++) {
			double pg = pmf[a] * group_given_age(m, g, a);

			w += pg;
			wf += pg * step_at(f, a);
		}
		for (int a = 0; a <= 100; a++)
			rate[g][a] = mean[g] / div[g] * step_at(f, a) * w / wf;
	}
}

void gen_model_init(gen_model *m, uint64_t seed, int year)
{
	double pmf[101] = { 0 };
	double mean_size = 0, adult = 0, acc;

	memset(m, 0, sizeof(*m));
	m->seed = seed;
	m->year = year;
	m->jan1 = sb_date_from_ymd(year, 1, 1);
	m->ndays = (int)(sb_date_from_ymd(year + 1, 1, 1) - m->jan1);
	for (int i = 0; i < m->ndays; i++) {
		char tmp[11];

		sb_date_format(m->jan1 + i, tmp);
		memcpy(m->day_text[i], tmp, 10);
	}
	memcpy(m->year_text, m->day_text[0], 4);
	for (int k = 0; k < GEN_REGIONS; k++) {
		m->income[k] = region_income_factor[k] * national_income(year);
		m->slot_offset[k] =
			(uint32_t)(hash3(seed, TAG_SLOTS, (uint64_t)k) % GEN_ID_SLOTS);
		m->rounds[k] = 1;
	}

	for (size_t b = 0; b < sizeof age_band / sizeof age_band[0]; b++)
		for (int a = age_band[b].lo; a <= age_band[b].hi; a++)
			pmf[a] = age_band[b].percent / 100.0 /
				 (age_band[b].hi - age_band[b].lo + 1);
	for (int a = 18; a <= 100; a++)
		adult += pmf[a];
	acc = 0;
	for (int a = 0; a < 18; a++)
		m->age_cdf_child[a] = acc += pmf[a] / (1 - adult);
	acc = 0;
	for (int a = 18; a <= 100; a++)
		m->age_cdf_adult[a - 18] = acc += pmf[a] / adult;
	acc = 0;
	for (int s = 0; s < GEN_HH_MAX; s++)
		m->size_cdf[s] = acc += household_size[s];
	acc = 0;
	for (int k = 0; k < GEN_REGIONS; k++)
		m->region_cdf[k] = acc += region_weight[k];

	/* Every household has an adult first member; the others are children
	 * with the probability that restores the national child share:
	 * (1 - 1/mean_size) x child_share = 1 - adult. */
	for (int s = 0; s < GEN_HH_MAX; s++)
		mean_size += (s + 1) * household_size[s];
	m->child_share = (1 - adult) / (1 - 1 / mean_size);
	m->p_tekun_single = SHARE_TEKUN * mean_size / household_size[0];

	double share_18_59 = 0, share_60 = 0;

	for (int a = 18; a <= 100; a++)
		*(a < 60 ? &share_18_59 : &share_60) += pmf[a];
	/* Identity holders are residents (资助参保 enrols them there), so the
	 * others are employees a little more often to keep the shares. The
	 * identity shares overlap a little; ignoring that is accurate to a
	 * few hundredths of a point. */
	double vul = SHARE_TEKUN + SHARE_DIBAO + SHARE_DIBAO_EDGE + SHARE_MONITORED;
	double tuo = TUOPIN_OTHERWISE * (1 - vul);
	double assisted = vul + tuo + SHARE_ILLNESS_POOR;
	double res = 1 - EMPLOYEE_SHARE;

	m->p_active = EMPLOYEE_SHARE * (1 - RETIRED_SHARE) / share_18_59 / (1 - assisted);
	m->p_retired = EMPLOYEE_SHARE * RETIRED_SHARE / share_60 / (1 - assisted);

	/* Identity holders use more care; residents' rates are divided by
	 * their mean factor so each group still meets its published mean. */
	const double care[3] = {
		1 + ((MULT_VULNERABLE - 1) * vul + (MULT_TUOPIN - 1) * tuo) / res, 1, 1
	};
	const double heavy[3] = {
		care[0] + (MULT_ILL - 1) * SHARE_ILLNESS_POOR / res, 1, 1
	};

	scale_by_age(m, pmf, inpatient_age, inpatient_rate, heavy, m->inpatient);
	scale_by_age(m, pmf, outpatient_age, outpatient_rate, care, m->outpatient);
	scale_by_age(m, pmf, chronic_age, chronic_share, heavy, m->chronic);
	for (int g = 0; g < 3; g++)
		for (int a = 0; a <= 100; a++)
			if (m->chronic[g][a] > 0.95)
				m->chronic[g][a] = 0.95;

	/* Inpatient cost: the expected level-and-place factor per scheme,
	 * so that the mean per admission is the published one. */
	for (int s = 0; s < 2; s++) {
		double e = 0;

		for (int p = 0; p < P_COUNT; p++) {
			const double *lv = p == P_LOCAL ? level_home[V_INPATIENT][s] :
							  level_away[V_INPATIENT];
			double el = 0;

			for (int l = 0; l < L_COUNT; l++)
				el += lv[l] * cost_mean[V_INPATIENT][l];
			e += place_p[V_INPATIENT][p] * place_cost[p] * el;
		}
		m->ip_scale[s] = inpatient_mean[s] / e;
	}
}

void gen_household_shape(const gen_model *m, uint64_t h, int *size, int *region)
{
	double u = to_unit(hash3(m->seed, TAG_SIZE, h));
	double v = to_unit(hash3(m->seed, TAG_REGION, h));

	*size = pick_cdf(u, m->size_cdf, GEN_HH_MAX) + 1;
	*region = pick_cdf(v, m->region_cdf, GEN_REGIONS);
}

/* ---- text --------------------------------------------------------------- */

/* Hand-rolled because these run a hundred million times per run, where
 * snprintf (and so sb_money_format) would be most of the cost. */
static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put_fixed(char *p, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

static char *put_uint(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* A non-negative amount in fen as yuan with two decimals. */
static char *put_fen(char *p, sb_fen v)
{
	return sb_fen_put(p, v);
}

static char *put_date(char *p, sb_date d)
{
	char tmp[11];

	sb_date_format(d, tmp);
	memcpy(p, tmp, 10);
	return p + 10;
}

/* ---- identities ------------------------------------------------------- */

typedef struct spell {
	sb_date from;
	sb_date to; /* 0: still held (day 0 is 1970, never a real end) */
} spell;

/* Most holders hold the identity all year; some lose it in the year, some
 * gain it, some do both, so the settle engine meets every edge. */
static spell spell_draw(const gen_model *m, rng *r)
{
	spell s = { 0, 0 };
	double u = unif(r);
	uint32_t nd = (uint32_t)m->ndays;

	if (u < 0.88) {
		/* Granted in the five years before; 1 in 11 of them ends. */
		s.from = m->jan1 - 1 - (sb_date)below(r, 5 * 365);
		if (u >= 0.80)
			s.to = m->jan1 + (sb_date)below(r, nd);
	} else if (u < 0.96) {
		s.from = m->jan1 + (sb_date)below(r, nd);
	} else {
		s.from = m->jan1 + (sb_date)below(r, nd - 1);
		s.to = s.from + 1 + (sb_date)below(r, (uint32_t)(m->jan1 + m->ndays - 1 - s.from));
	}
	return s;
}

typedef struct held {
	int id;
	spell s;
} held;

static char *put_identity(char *p, const char *person, const held *h)
{
	memcpy(p, person, SB_ID_LEN);
	p += SB_ID_LEN;
	*p++ = ',';
	p = put_str(p, identity_name[h->id]);
	*p++ = ',';
	p = put_date(p, h->s.from);
	*p++ = ',';
	if (h->s.to)
		p = put_date(p, h->s.to);
	*p++ = '\n';
	return p;
}

/* ---- persons ------------------------------------------------------------- */

/* The resident ID of the q-th person enrolled in region k. Within one round
 * of GEN_ID_SLOTS persons, (county, sequence) is a permutation of the
 * slots, so IDs differ; persons of different rounds that share a slot get
 * a birth day-of-year that differs modulo the number of rounds, so their
 * birth dates, and IDs, differ too. Unique by construction, no lookups. */
static void make_id(const gen_model *m, rng *r, int k, uint64_t q, int age,
		    char id[SB_ID_LEN])
{
	uint32_t rounds = m->rounds[k];
	uint32_t round = (uint32_t)(q / GEN_ID_SLOTS);
	uint64_t slot = ((q % GEN_ID_SLOTS) * 48271u + m->slot_offset[k]) % GEN_ID_SLOTS;
	int by = m->year - 1 - age;
	sb_date jan1 = sb_date_from_ymd(by, 1, 1);
	uint32_t diy = (uint32_t)(sb_date_from_ymd(by + 1, 1, 1) - jan1);
	uint32_t doy = below(r, diy);
	int y, mo, d;

	/* Earlier rounds used the same slots: move the birthday into this
	 * round's class of days (day-of-year modulo rounds), which is never
	 * empty since rounds <= 365. */
	if (rounds > 1) {
		doy = doy - doy % rounds + round;
		if (doy >= diy)
			doy -= rounds;
	}
	sb_date_ymd(jan1 + (sb_date)doy, &y, &mo, &d);

	char *p = id;

	p = put_str(p, "99");
	p = put_fixed(p, (uint64_t)(k + 1), 2);
	p = put_fixed(p, slot / 1000 + 1, 2);
	p = put_fixed(p, (uint64_t)y, 4);
	p = put_fixed(p, (uint64_t)mo, 2);
	p = put_fixed(p, (uint64_t)d, 2);
	put_fixed(p, slot % 1000, 3);
	id[17] = sb_id_check_char(id);
}

/* ---- claims ------------------------------------------------------------- */

#define CLAIMS_MAX 99 /* per person: the claim id has two digits for it */

typedef struct visit {
	uint16_t day;
	uint8_t kind;
} visit;

static void sort_visits(visit *v, int n)
{
	for (int i = 1; i < n; i++) {
		visit x = v[i];
		int j = i;

		while (j > 0 && (v[j - 1].day > x.day ||
				 (v[j - 1].day == x.day && v[j - 1].kind > x.kind))) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static const char *care_region(rng *r, int home, int place)
{
	if (place == P_LOCAL)
		return region_code[home];
	if (place == P_CROSS)
		return far_region[below(r, (uint32_t)N_FAR)];

	/* Another region of the province, by population weight. */
	double w[GEN_REGIONS];

	for (int k = 0; k < GEN_REGIONS; k++)
		w[k] = k == home ? 0 : region_weight[k] / (1 - region_weight[home]);
	return region_code[pick(r, w, GEN_REGIONS)];
}

static char *put_claim(const gen_model *m, rng *r, char *p, const char *person,
		       uint64_t pidx, int seq, const visit *v, int region,
		       int employee)
{
	int kind = v->kind;
	int place = pick(r, place_p[kind], P_COUNT);
	int level = pick(r, place == P_LOCAL ? level_home[kind][employee] :
					       level_away[kind], L_COUNT);
	const char *where = care_region(r, region, place);
	const char *filing = place == P_LOCAL ?
		"filed" : filing_name[pick(r, filing_away[kind != V_INPATIENT], 5)];

	double mean = cost_mean[kind][level] * place_cost[place];

	if (kind == V_INPATIENT)
		mean *= m->ip_scale[employee];

	double yuan = lognormal(r, mean, cost_sigma[kind]);

	if (yuan > cost_max[kind])
		yuan = cost_max[kind];
	if (yuan < 1)
		yuan = 1;

	sb_fen total = (sb_fen)(yuan * 100 + 0.5);
	uint32_t in_bp = between(r, in_scope_bp[level][0], in_scope_bp[level][1]);
	uint32_t pre_bp = kind == V_INPATIENT ? below(r, 801) :
			  (unif(r) < 0.5 ? 0 : below(r, 401));
	uint32_t over_bp = unif(r) < 0.7 ? 0 : below(r, 301);
	sb_fen in_scope = total * in_bp / 10000;
	sb_fen pre = total * pre_bp / 10000;
	sb_fen over = total * over_bp / 10000;
	sb_fen out = total - in_scope - pre - over;

	/* id: year, person index, claim number within the person. */
	memcpy(p, m->year_text, 4);
	p = put_fixed(p + 4, pidx, 9);
	p = put_fixed(p, (uint64_t)seq, 2);
	*p++ = ',';
	memcpy(p, person, SB_ID_LEN);
	p += SB_ID_LEN;
	*p++ = ',';
	memcpy(p, m->day_text[v->day], 10);
	p += 10;
	*p++ = ',';
	p = put_str(p, visit_name[kind]);
	*p++ = ',';
	p = put_str(p, level_name[level]);
	*p++ = ',';
	p = put_str(p, where);
	*p++ = ',';
	p = put_str(p, filing);
	*p++ = ',';
	/* Facility codes in the NHSA shape: H/P + region + 5 digits. */
	if (kind == V_PHARMACY) {
		*p++ = 'P';
		p = put_str(p, where);
		p = put_fixed(p, between(r, 1, 500), 5);
	} else {
		static const uint32_t lo[L_COUNT] = { 1001, 101, 1 };
		static const uint32_t hi[L_COUNT] = { 1300, 140, 6 };

		*p++ = 'H';
		p = put_str(p, where);
		p = put_fixed(p, between(r, lo[level], hi[level]), 5);
	}
	*p++ = ',';
	p = put_fen(p, total);
	*p++ = ',';
	p = put_fen(p, in_scope);
	*p++ = ',';
	p = put_fen(p, pre);
	*p++ = ',';
	p = put_fen(p, over);
	*p++ = ',';
	p = put_fen(p, out);
	*p++ = '\n';
	return p;
}

/* ---- funding facts ------------------------------------------------------ */

/* The funding facts (sanbao fund) come from streams of their own, keyed by
 * household and person index, so that adding them changed no other byte.
 * Monthly wage base (缴费基数) of an active employee: log-normal, mean
 * WAGE_BASE_2024 scaled like the region's income. WAGE_BASE_2024 is D:
 * employee fund revenue per insured 2024, 6,254 yuan (calibration.md 1.3),
 * over the active share 27,491.84 / 37,948.34 = 72.4% (1.1) is 8,636 yuan a
 * year per active worker; at the demo policy's 8% + 2% that is a yearly base
 * of 86,360, 7,197 a month, taken as 7,200. The spread (sigma 0.5) is an
 * assumption. Residence: employees urban; resident-scheme households
 * holding 脱贫 or 监测 rural (both are rural categories); others urban with
 * URBAN_RESIDENT_SHARE = (urban population 93,267万 - employees 37,095万) /
 * (population 140,967万 - employees) = 54% (D from calibration.md 1.1 and
 * 7.3, 2023). */
#define WAGE_BASE_2024 7200.0
#define WAGE_BASE_SIGMA 0.5
#define URBAN_RESIDENT_SHARE 0.54

static char *put_funding(const gen_model *m, char *p, uint64_t h, uint64_t pidx, int region,
			 int group, int rural_group)
{
	*p++ = ',';
	if (group == G_ACTIVE) {
		rng r;

		rng_seed(&r, hash3(m->seed, TAG_FUNDING, pidx));
		double mean = WAGE_BASE_2024 * m->income[region] / national_income(2024);
		double yuan = lognormal(&r, mean, WAGE_BASE_SIGMA);

		p = put_uint(p, yuan < 1000 ? 1000 : (uint64_t)(yuan + 0.5));
	}
	*p++ = ',';
	int urban = group != G_RESIDENT ||
		    (!rural_group &&
		     to_unit(hash3(m->seed, TAG_FUNDING, h | (1ULL << 63))) < URBAN_RESIDENT_SHARE);

	return put_str(p, urban ? "urban" : "rural");
}

/* ---- households -------------------------------------------------------- */

int gen_household(const gen_model *m, uint64_t h, uint64_t p0, uint64_t q0,
		  int size, int region, gen_sink *s)
{
	rng r;
	held hh[4]; /* at most 低保, 低保边缘 before it, 监测, 脱贫 */
	int nhh = 0;
	double income_factor = INCOME_OTHERS, income_sigma = INCOME_SIGMA;

	rng_seed(&r, hash3(m->seed, TAG_HOUSEHOLD, h));

	/* The household's identities: 特困 persons live alone; 低保 and
	 * 低保边缘 are household rosters; 脱贫 often overlaps 低保. */
	int tekun = size == 1 && unif(&r) < m->p_tekun_single;
	double u = unif(&r);
	int dibao = !tekun && u < SHARE_DIBAO;
	int edge = !tekun && !dibao && u < SHARE_DIBAO + SHARE_DIBAO_EDGE;
	int monitored = unif(&r) < SHARE_MONITORED;
	int tuopin = unif(&r) < (dibao ? TUOPIN_IF_DIBAO : TUOPIN_OTHERWISE);

	if (tekun)
		hh[nhh++] = (held){ ID_TEKUN, spell_draw(m, &r) };
	if (dibao) {
		spell sp = spell_draw(m, &r);

		hh[nhh++] = (held){ ID_DIBAO, sp };
		/* Some households granted 低保 in the year were 低保边缘 until
		 * the day before: the identity changes under a claim. */
		if (sp.from > m->jan1 && unif(&r) < 0.3) {
			sb_date from = sp.from - 30 - (sb_date)below(&r, 700);

			hh[nhh++] = (held){ ID_DIBAO_EDGE, { from, sp.from - 1 } };
		}
	}
	if (edge)
		hh[nhh++] = (held){ ID_DIBAO_EDGE, spell_draw(m, &r) };
	if (monitored)
		hh[nhh++] = (held){ ID_MONITORED, spell_draw(m, &r) };
	if (tuopin) {
		/* Lifted out of poverty some year before, held since. */
		int y = m->year - 4 - (int)below(&r, 7);
		sb_date from = sb_date_from_ymd(y, 1, 1) + (sb_date)below(&r, 365);

		hh[nhh++] = (held){ ID_TUOPIN, { from, 0 } };
	}
	for (int i = 0; i < nhh; i++) {
		if (identity_income[hh[i].id] < income_factor) {
			income_factor = identity_income[hh[i].id];
			income_sigma = IDENTITY_INCOME_SIGMA;
		}
	}

	double yuan = lognormal(&r, m->income[region] * income_factor, income_sigma);
	uint64_t income = yuan < 600 ? 600 : (uint64_t)(yuan + 0.5);
	double care = tekun || dibao || edge || monitored ? MULT_VULNERABLE :
		      tuopin ? MULT_TUOPIN : 1.0;

	for (int i = 0; i < size; i++) {
		uint64_t pidx = p0 + (uint64_t)i;
		double ua = unif(&r);
		int age = i == 0 || unif(&r) >= m->child_share ?
			18 + pick_cdf(ua, m->age_cdf_adult, 83) :
			pick_cdf(ua, m->age_cdf_child, 18);
		char id[SB_ID_LEN];

		make_id(m, &r, region, q0 + (uint64_t)i, age, id);

		held own = { ID_ILLNESS_POOR, { 0, 0 } };
		int ill = unif(&r) < SHARE_ILLNESS_POOR;
		int group = G_RESIDENT;

		if (ill)
			own = (held){ ID_ILLNESS_POOR, spell_draw(m, &r) };
		if (nhh == 0 && !ill &&
		    (age >= 60 ? unif(&r) < m->p_retired :
				 age >= 18 && unif(&r) < m->p_active))
			group = age >= 60 ? G_RETIRED : G_ACTIVE;

		/* persons.csv */
		if (gen_buf_reserve(&s->persons, GEN_ROW_MAX))
			return -1;

		char *p = s->persons.p + s->persons.n;

		memcpy(p, id, SB_ID_LEN);
		p += SB_ID_LEN;
		p = put_str(p, group == G_RESIDENT ? ",resident," : ",employee,");
		p = put_str(p, region_code[region]);
		p = put_str(p, ",h");
		p = put_uint(p, h);
		*p++ = ',';
		if (group != G_RESIDENT)
			p = put_str(p, group == G_ACTIVE ? "active" : "retired");
		*p++ = ',';
		p = put_uint(p, income);
		p = put_funding(m, p, h, pidx, region, group, tuopin || monitored);
		*p++ = '\n';
		s->persons.n = (size_t)(p - s->persons.p);
		s->n_persons++;

		/* identities.csv */
		for (int j = 0; j < nhh + ill; j++) {
			if (gen_buf_reserve(&s->identities, GEN_ROW_MAX))
				return -1;
			p = put_identity(s->identities.p + s->identities.n, id,
					 j < nhh ? &hh[j] : &own);
			s->identities.n = (size_t)(p - s->identities.p);
			s->n_identities++;
		}

		/* claims.csv: how much care, when, then each claim's details
		 * in date order so claim numbers follow the calendar. */
		visit v[CLAIMS_MAX];
		int n = 0, k;
		double ip_mult = care * (ill ? MULT_ILL : 1.0);

		k = poisson(&r, m->inpatient[group][age] * ip_mult, CLAIMS_MAX);
		for (int c = 0; c < k && n < CLAIMS_MAX; c++)
			v[n++] = (visit){ (uint16_t)below(&r, (uint32_t)m->ndays), V_INPATIENT };
		if (unif(&r) < m->chronic[group][age] * ip_mult) {
			k = 1 + poisson(&r, CHRONIC_VISITS_EXTRA, CLAIMS_MAX);
			for (int c = 0; c < k && n < CLAIMS_MAX; c++)
				v[n++] = (visit){ (uint16_t)below(&r, (uint32_t)m->ndays), V_CHRONIC };
		}
		k = poisson(&r, m->outpatient[group][age] * care, CLAIMS_MAX);
		for (int c = 0; c < k && n < CLAIMS_MAX; c++)
			v[n++] = (visit){ (uint16_t)below(&r, (uint32_t)m->ndays), V_OUTPATIENT };
		k = poisson(&r, pharmacy_rate[group], CLAIMS_MAX);
		for (int c = 0; c < k && n < CLAIMS_MAX; c++)
			v[n++] = (visit){ (uint16_t)below(&r, (uint32_t)m->ndays), V_PHARMACY };
		sort_visits(v, n);

		for (int c = 0; c < n; c++) {
			gen_buf *b = &s->days[v[c].day];

			if (gen_buf_reserve(b, GEN_ROW_MAX))
				return -1;
			p = put_claim(m, &r, b->p + b->n, id, pidx, c + 1, &v[c],
				      region, group != G_RESIDENT);
			b->n = (size_t)(p - b->p);
		}
		s->n_claims += (uint64_t)n;
	}
	return 0;
}

/* ---- buffers ------------------------------------------------------------ */

int gen_buf_reserve(gen_buf *b, size_t more)
{
	if (b->cap - b->n >= more)
		return 0;

	size_t cap = b->cap ? b->cap : (size_t)1 << 16;

	while (cap - b->n < more)
		cap *= 2;
	if (cap > GEN_BUF_LIMIT)
		return -1;

	char *p = sb_realloc(b->p, cap);

	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void gen_buf_release(gen_buf *b)
{
	sb_free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

void gen_sink_reset(gen_sink *s)
{
	s->persons.n = 0;
	s->identities.n = 0;
	for (int i = 0; i < 366; i++)
		s->days[i].n = 0;
	s->n_persons = s->n_identities = s->n_claims = 0;
	s->failed = 0;
}

void gen_sink_release(gen_sink *s)
{
	gen_buf_release(&s->persons);
	gen_buf_release(&s->identities);
	for (int i = 0; i < 366; i++)
		gen_buf_release(&s->days[i]);
}
