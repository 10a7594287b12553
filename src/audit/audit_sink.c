/* audit_sink.c: the audit's rules over the batch's stream of settled
 * claims. Each claim comes recomputed by the core in the person's date
 * order (the batch's one settlement loop); its extract row is fetched
 * ahead when it comes, and when the person's claims are all in the sink
 * compares each one's layers with what the extract says each fund or layer
 * paid, then checks them against each other. Findings are kept per
 * partition and written in partition order, numbered as written, so the
 * outputs are the same for any thread count. A flagged payment carries the
 * trace of its recomputation: the person's earlier claims are settled again
 * on fresh accumulators, the flagged one with a trace. */
#include "audit/audit_sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"
#include "io/outfile.h"
#include "policy/policy_int.h"
#include "sanbao/csv.h"
#include "sanbao/explain.h"
#include "sink/obuf.h"

/* traces.json holds the traces of the first findings only: a trace is a
 * few kilobytes, and an extract that is off everywhere would otherwise
 * write gigabytes of them. audit.json counts the ones left out. */
#define SB_AUDIT_MAX_TRACES 100000

typedef struct finding {
	uint8_t rule, severity;
	const char *claim, *related;   /* piece arena; related "" when none */
	const char *person, *facility; /* extract arena */
	uint32_t region;               /* 0: not known */
	sb_date date;                  /* INT32_MIN: not known */
	char layer[48];                /* the layer or fund column; "" for a whole claim */
	sb_fen paid, due, risk;        /* due -1: not recomputed */
	const char *reason;            /* piece arena */
	const char *trace;             /* JSON (piece arena), or NULL */
} finding;

typedef struct piece {
	sb_arena arena;
	finding *v;
	size_t n, cap;
} piece;

/* What the audit keeps of a claim's sb_result (a few hundred bytes of its
 * 3 KB: copying it whole cost more than the rules). */
typedef struct pres {
	const sb_version *version;
	sb_fen fund;
	uint8_t nlayers;
	int sym[SB_MAX_LAYERS];
	sb_fen pay[SB_MAX_LAYERS];
} pres;

/* A claim of the person being read. Its extract row is looked up only
 * when the person's claims are all in (its place fetched ahead at once, so
 * the lookup finds it in the cache); its texts are copied into the
 * thread's scratch, which the next person reuses. */
typedef struct pclaim {
	sb_claim c; /* c.id, c.level_name, c.diagnosis: in the scratch (fix_texts) */
	size_t id_off, level_off, dx_off; /* their offsets there, or TEXT_NONE, TEXT_KEPT */
	const char *id;                   /* the piece's copy, when a finding names it */
	uint32_t idlen;
	uint64_t line;
	pres res;
	const sb_policy *pol;
	const sb_audit_row *row; /* NULL: not in the extract */
	uint32_t fac;            /* the extract's facility index + 1; 0: not given */
	uint32_t region;
	bool flagged_dup;
} pclaim;

/* cost_outlier: a facility's claims of one level and visit type. */
typedef struct cost {
	const char *facility; /* the extract's copy */
	uint32_t fac;         /* the extract's facility index + 1 */
	int level;            /* the level's symbol, or -1 when no policy names it */
	const char *lname;    /* then its text (costs arena), or NULL when none */
	uint8_t visit;
	long long n;
	sb_fen total, fund;
} cost;

typedef struct costs {
	cost *v;
	size_t n, cap;
	uint32_t *table; /* index + 1 */
	size_t mask;
	sb_arena arena; /* the level texts */
} costs;

/* A thread's cost sums for the claims of a level some policy names, one
 * 32-byte slot each, found in one probe: the claims come in person order,
 * so the facilities at random, and a slot that holds its key and its sums
 * costs one cache miss where an index and an entry cost two. */
typedef struct cslot {
	uint32_t fac; /* the extract's facility index + 1; 0: empty */
	uint32_t lv;  /* level symbol << 8 | visit type */
	long long n;
	sb_fen total, fund;
} cslot;

/* A claim's cost, waiting to be added to its slot: the slots are updated
 * CSLOT_WAIT claims at a time, each fetched ahead, so that their misses
 * overlap instead of coming one per claim. */
typedef struct cwait {
	uint32_t fac, lv;
	sb_fen total, fund;
} cwait;
#define CSLOT_WAIT 1024
#define CSLOT_AHEAD 16

typedef struct cslots {
	cslot *v;
	size_t n, mask;
	cwait wait[CSLOT_WAIT];
	size_t nwait;
} cslots;

typedef struct thr {
	costs costs; /* levels no policy names, by their text */
	cslots slots;
	pclaim *v;
	size_t n, cap;
	size_t ncompared; /* v[0 .. ncompared) are looked up and compared */
	char *scratch;    /* the person's claim texts */
	size_t nscratch, scratchcap;
	sb_person person;
	uint32_t pidx;
	const sb_policyset *set;
	piece *cur;
	sb_acc acc;
	sb_trace *trace;
	long long unaudited;
	sb_status st;
} thr;

/* Sums over the written findings, for audit.json. */
typedef struct sum {
	char key[64];
	uint8_t rule;
	long long count;
	sb_fen risk;
} sum;

typedef struct sums {
	sum *v;
	size_t n, cap;
} sums;

typedef struct audit {
	const sb_audit_ctx *ctx;
	const sb_policyset *set;
	int actual_sym[SB_AUDIT_MAX_ACTUAL];
	int8_t *col_of_sym; /* by layer symbol: its actual_<layer> column, or -1 */
	int nsyms;
	sb_outdir *out;
	FILE *csv, *traces, *json;
	long long written, traced, untraced;
	long long findings[SB_AUDIT_NRULES];
	sb_fen risk[SB_AUDIT_NRULES];
	sums by_layer, by_facility, by_region;
	costs costs;
	long long unaudited, settled;
	sb_obuf buf;
} audit;

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	audit *a = self;
	a->ctx = env->cfg->audit;
	a->set = env->sets[0];
	a->out = env->out;
	sb_status rs = sb_audit_ready(a->ctx, d);
	if (rs)
		return rs;
	const sb_audit_extract *x = a->ctx->extract;
	for (int k = 0; k < x->nactual; k++) {
		a->actual_sym[k] = sb_policyset_symbol(a->set, SB_SYM_LAYER, x->actual[k],
						       strlen(x->actual[k]));
		if (a->actual_sym[k] < 0)
			return sb_diag_set(d, SB_EINPUT, env->cfg->claims_path, 1, 0,
					   "claims.csv column actual_%s names no layer of the "
					   "policies in %s: write actual_<layer id>",
					   x->actual[k], env->dirs[0]);
	}
	a->nsyms = sb_policyset_symbol_count(a->set, SB_SYM_LAYER);
	if (!(a->col_of_sym = sb_malloc((size_t)(a->nsyms > 0 ? a->nsyms : 1))))
		return oom(d);
	memset(a->col_of_sym, -1, (size_t)(a->nsyms > 0 ? a->nsyms : 1));
	for (int k = 0; k < x->nactual; k++)
		a->col_of_sym[a->actual_sym[k]] = (int8_t)k;
	if (!(a->csv = sb_outdir_create(a->out, "findings.csv", d)) ||
	    !(a->traces = sb_outdir_create(a->out, "traces.json", d)))
		return d->code ? d->code : SB_EIO;
	static const char head[] = "finding,rule,severity,claim,related,person,facility,region,"
				   "date,layer,paid,due,at_risk,reason\n";
	sb_status st = sb_outdir_write(a->out, a->csv, head, sizeof head - 1, d);
	if (!st)
		st = sb_outdir_write(a->out, a->traces, "[", 1, d);
	return st;
}

static sb_status thread_new(void *self, void **out, sb_diag *d)
{
	(void)self;
	thr *t = sb_calloc(1, sizeof *t);
	if (!t)
		return oom(d);
	sb_acc_init(&t->acc);
	*out = t;
	return SB_OK;
}

static void piece_free(piece *p)
{
	if (!p)
		return;
	sb_arena_release(&p->arena);
	sb_free(p->v);
	sb_free(p);
}

static sb_status partition(void *self, void *vt, int part, size_t records, sb_diag *d)
{
	(void)self, (void)part, (void)records;
	thr *t = vt;
	t->n = 0;
	if (!(t->cur = sb_calloc(1, sizeof *t->cur)))
		return oom(d);
	sb_arena_init(&t->cur->arena);
	return SB_OK;
}

static finding *add(thr *t, const audit *a, sb_audit_rule_id rule)
{
	piece *p = t->cur;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		finding *v = sb_realloc(p->v, nc * sizeof *v);
		if (!v)
			return NULL;
		p->v = v;
		p->cap = nc;
	}
	finding *f = &p->v[p->n++];
	memset(f, 0, sizeof *f);
	f->rule = (uint8_t)rule;
	f->severity = (uint8_t)a->ctx->rules->rule[rule].severity;
	f->related = "";
	f->person = "";
	f->facility = "";
	f->date = INT32_MIN;
	f->due = -1;
	return f;
}

static const char *dup_text(thr *t, const char *p, size_t n)
{
	return sb_arena_strndup(&t->cur->arena, p, n);
}

static const char *fmt_text(thr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt_text(thr *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return dup_text(t, buf, strlen(buf));
}

/* What the extract says was paid on a claim in all: the fund columns when
 * it has any, else its actual_<layer> cells. */
static sb_fen paid_total(const sb_audit_extract *x, const sb_audit_row *row, bool *any)
{
	sb_fen fund = 0, layers = 0;
	bool has_fund = false;
	sb_audit_cells cells = { 0 };
	if (row)
		sb_audit_row_cells(x, row, &cells);
	uint64_t cols = cells.cols;
	*any = cols != 0;
	int k = 0;
	for (; cols; cols &= cols - 1) {
		int col = __builtin_ctzll(cols);
		sb_fen fen = cells.nonzero >> col & 1 ? sb_audit_cell_amount(&cells, k++) : 0;
		if (col < SB_AUDIT_NFUNDS) {
			has_fund = true;
			(void)sb_fen_add(&fund, fen); /* each cell <= SB_FEN_MAX */
		} else {
			(void)sb_fen_add(&layers, fen);
		}
	}
	return has_fund ? fund : layers;
}

/* What was paid on a buffered claim in all: the extract's, or what the
 * recomputation gives when the extract says nothing. */
static sb_fen paid_of(const audit *a, const pclaim *p)
{
	bool any;
	sb_fen v = paid_total(a->ctx->extract, p->row, &any);
	return any ? v : p->res.fund;
}

/* The piece's copy of buffered claim k's id (NULL: out of memory). */
static const char *pid(thr *t, pclaim *p)
{
	if (!p->id)
		p->id = dup_text(t, p->c.id, p->idlen);
	return p->id;
}

/* Settles the person's buffered claims [0, upto) again, except skip, on
 * fresh accumulators, then `last` into r (with the trace when given). */
static sb_status replay(thr *t, size_t upto, size_t skip, const sb_policy *pol,
			const sb_claim *last, sb_result *r, sb_trace *trace, sb_diag *d)
{
	sb_acc_reset(&t->acc);
	for (size_t i = 0; i < upto; i++) {
		if (i == skip)
			continue;
		sb_result tmp;
		sb_diag ignored;
		sb_diag_clear(&ignored);
		if (sb_settle_claim(t->set, t->v[i].pol, &t->person, &t->v[i].c, &t->acc, &tmp,
				    NULL, &ignored) == SB_ENOMEM)
			return oom(d);
	}
	return sb_settle_claim(t->set, pol, &t->person, last, &t->acc, r, trace, d);
}

/* The trace of buffered claim k's recomputation, as JSON in the piece. */
static const char *trace_of(thr *t, size_t k)
{
	if (!t->trace && !(t->trace = sb_malloc(sizeof *t->trace)))
		return NULL;
	sb_result r;
	sb_diag d;
	sb_diag_clear(&d);
	if (replay(t, k, SIZE_MAX, t->v[k].pol, &t->v[k].c, &r, t->trace, &d))
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	sb_explain_json(f, t->set, t->trace);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	const char *out = dup_text(t, buf, len);
	free(buf);
	return out;
}

static const sb_layer *version_layer(const sb_version *v, int sym)
{
	for (uint16_t i = 0; v && i < v->nlayers; i++)
		if (v->layers[i].sym == sym)
			return &v->layers[i];
	return NULL;
}

static bool code_in(const sb_audit_rules *rules, int k, const char *code)
{
	for (int j = 0; code && j < rules->ncodes[k]; j++)
		if (!strcmp(rules->code[k][j], code))
			return true;
	return false;
}

static const char *fac_text(const audit *a, uint32_t fac)
{
	return fac ? a->ctx->extract->fac[fac - 1] : "";
}

static void fill(const audit *a, thr *t, finding *f, pclaim *p)
{
	f->claim = pid(t, p);
	f->person = p->row ? sb_audit_row_person(p->row) : "";
	f->facility = fac_text(a, p->fac);
	f->region = p->region;
	f->date = p->c.date;
}

/* overpaid, underpaid and assistance_ineligible on buffered claim k. */
static sb_status compare(audit *a, thr *t, size_t k, sb_diag *d)
{
	const sb_audit_rules *rules = a->ctx->rules;
	const sb_audit_extract *x = a->ctx->extract;
	pclaim *p = &t->v[k];
	const sb_audit_row *row = p->row;
	sb_audit_cells cells = { 0 };
	if (row)
		sb_audit_row_cells(x, row, &cells);
	if (!cells.cols) {
		t->unaudited++;
		return SB_OK;
	}
	const sb_version *v = p->res.version;
	uint64_t held = 0;
	bool have_held = false;
	const char *trace = NULL;
	bool traced = false;
	/* What the recomputation gives for each actual_<layer> column, in one
	 * pass over the claim's layers. */
	sb_fen due_col[SB_AUDIT_MAX_ACTUAL];
	uint64_t due_nonzero = 0; /* bit col: the recomputation gives it more than 0 */
	if (x->nactual) {
		memset(due_col, 0, (size_t)x->nactual * sizeof due_col[0]);
		for (uint8_t j = 0; j < p->res.nlayers; j++) {
			int s = p->res.sym[j];
			if (s >= 0 && s < a->nsyms && a->col_of_sym[s] >= 0) {
				due_col[a->col_of_sym[s]] = p->res.pay[j];
				if (p->res.pay[j])
					due_nonzero |= 1ULL << (SB_AUDIT_NFUNDS + a->col_of_sym[s]);
			}
		}
	}
	/* The common row (actual_<layer> columns only, each with an amount,
	 * at most one not 0) paid what the policy gives: nothing to flag. */
	if (!cells.amounts && !(cells.cols & ((1ULL << SB_AUDIT_NFUNDS) - 1)) &&
	    cells.nonzero == due_nonzero &&
	    (!cells.nonzero ||
	     due_col[__builtin_ctzll(cells.nonzero) - SB_AUDIT_NFUNDS] == cells.one))
		return SB_OK;
	int rank = 0;
	for (uint64_t cols = cells.cols; cols; cols &= cols - 1) {
		int ci = __builtin_ctzll(cols);
		const struct {
			int col;
			sb_fen fen;
		} cell = { ci, cells.nonzero >> ci & 1 ? sb_audit_cell_amount(&cells, rank++) : 0 },
		  *c = &cell;
		sb_fen due = 0;
		bool ineligible = false;
		const char *name;
		int sym = -1;
		if (c->col < SB_AUDIT_NFUNDS) {
			if (rules->ncodes[c->col] <= 0)
				continue; /* a fund column the rule file maps to no layer */
			for (uint8_t j = 0; j < p->res.nlayers; j++) {
				const sb_layer *l = version_layer(v, p->res.sym[j]);
				if (l && code_in(rules, c->col, l->fund_code))
					due += p->res.pay[j];
			}
		} else {
			sym = a->actual_sym[c->col - SB_AUDIT_NFUNDS];
			due = due_col[c->col - SB_AUDIT_NFUNDS];
		}
		sb_fen diff = c->fen - due;
		if (!diff)
			continue; /* paid what the policy gives: no rule can flag it */
		if (!have_held) {
			(void)sb_settle_identity(p->pol, &t->person, p->c.date, &held);
			have_held = true;
		}
		if (c->col < SB_AUDIT_NFUNDS) {
			name = sb_audit_fund_column(c->col);
			/* Ineligible: no layer of the fund is one the person
			 * may draw on (a layer without identities always is). */
			bool any = false, eligible = false;
			for (uint16_t j = 0; v && j < v->nlayers; j++)
				if (code_in(rules, c->col, v->layers[j].fund_code)) {
					any = true;
					eligible |= sb_layer_eligible(&v->layers[j], held);
				}
			ineligible = any && !eligible;
		} else {
			name = x->actual[c->col - SB_AUDIT_NFUNDS];
			const sb_layer *l = version_layer(v, sym);
			ineligible = l && !sb_layer_eligible(l, held);
		}
		sb_audit_rule_id rule;
		if (diff > 0 && ineligible && !due &&
		    rules->rule[SB_AUDIT_ASSISTANCE_INELIGIBLE].enabled)
			rule = SB_AUDIT_ASSISTANCE_INELIGIBLE;
		else if (diff > rules->rule[SB_AUDIT_OVERPAID].tolerance &&
			 rules->rule[SB_AUDIT_OVERPAID].enabled)
			rule = SB_AUDIT_OVERPAID;
		else if (-diff > rules->rule[SB_AUDIT_UNDERPAID].tolerance &&
			 rules->rule[SB_AUDIT_UNDERPAID].enabled)
			rule = SB_AUDIT_UNDERPAID;
		else
			continue;
		if (!traced) {
			trace = trace_of(t, k);
			traced = true;
		}
		finding *f = add(t, a, rule);
		if (!f)
			return oom(d);
		fill(a, t, f, p);
		if (!f->claim)
			return oom(d);
		snprintf(f->layer, sizeof f->layer, "%s", name);
		f->paid = c->fen;
		f->due = due;
		f->risk = diff > 0 ? diff : -diff;
		f->trace = trace;
		char pa[SB_MONEY_BUF], du[SB_MONEY_BUF], df[SB_MONEY_BUF], vf[11] = "?";
		if (v)
			sb_date_format(v->from, vf);
		sb_money_format(c->fen, pa);
		sb_money_format(due, du);
		sb_money_format(f->risk, df);
		f->reason =
			rule == SB_AUDIT_ASSISTANCE_INELIGIBLE ?
				fmt_text(t,
					 "%s paid %s but the person held no identity it requires on the "
					 "claim date: the whole payment is at risk; check the civil-affairs "
					 "roster",
					 name, pa) :
				fmt_text(t,
					 "%s paid %s where the policy gives %s (version of %s): %s %s; "
					 "see the trace",
					 name, pa, du, vf,
					 rule == SB_AUDIT_OVERPAID ? "recover" : "pay the person",
					 df);
		if (!f->reason)
			return oom(d);
	}
	return SB_OK;
}

/* Facilities are numbered across the extract, one number per code. */
static bool same_facility(const pclaim *a, const pclaim *b)
{
	return a->fac == b->fac;
}

static sb_date begin_of(const pclaim *p)
{
	return p->row && p->row->begin != INT32_MIN ? p->row->begin : p->c.date;
}

static bool same_stay(const pclaim *x, const pclaim *y)
{
	return x->row && y->row && same_facility(x, y) && begin_of(x) == begin_of(y) &&
	       x->c.date == y->c.date && x->c.visit == y->c.visit && x->c.total == y->c.total &&
	       x->c.in_scope == y->c.in_scope;
}

static sb_status whole(audit *a, thr *t, sb_audit_rule_id rule, size_t j, size_t i,
		       const char *reason, sb_fen risk, sb_diag *d)
{
	finding *f = add(t, a, rule);
	if (!f)
		return oom(d);
	fill(a, t, f, &t->v[j]);
	f->related = pid(t, &t->v[i]);
	if (!f->claim || !f->related)
		return oom(d);
	bool any;
	f->paid = paid_total(a->ctx->extract, t->v[j].row, &any);
	if (!any)
		f->paid = t->v[j].res.fund;
	f->due = t->v[j].res.fund;
	f->risk = risk;
	f->reason = reason;
	return reason ? SB_OK : oom(d);
}

/* split_stay: what the funds would have paid on the two stays as one, next
 * to what they pay on them apart (both recomputed). */
static sb_status split_risk(thr *t, size_t i, size_t j, sb_fen *risk, sb_fen *merged,
			    const char **why)
{
	pclaim *pi = &t->v[i], *pj = &t->v[j];
	*risk = 0;
	*merged = -1;
	*why = NULL;
	if (pi->c.npaid || pj->c.npaid) {
		*why = "a stay has a layer paid elsewhere: not merged";
		return SB_OK;
	}
	sb_claim m = pj->c;
	m.total += pi->c.total;
	m.in_scope += pi->c.in_scope;
	m.pre_selfpay += pi->c.pre_selfpay;
	m.over_limit += pi->c.over_limit;
	sb_result r;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = replay(t, j, i, pj->pol, &m, &r, NULL, &d);
	if (st == SB_ENOMEM)
		return st;
	if (st) {
		*why = "the two stays as one are refused by the policy";
		return SB_OK;
	}
	sb_fen apart = pi->res.fund + pj->res.fund;
	*merged = r.fund;
	*risk = apart > r.fund ? apart - r.fund : 0;
	return SB_OK;
}

static sb_status flush(audit *a, thr *t, sb_diag *d);

/* The rules across one person's claims. */
static sb_status person_end(audit *a, thr *t, sb_diag *d)
{
	const sb_audit_rules *rules = a->ctx->rules;
	sb_status st = flush(a, t, d);
	char da[11], db[11];
	for (size_t j = 0; j < t->n && !st; j++) {
		pclaim *pj = &t->v[j];
		if (!pj->row)
			continue;
		if (rules->rule[SB_AUDIT_DUPLICATE].enabled) {
			for (size_t i = 0; i < j; i++) {
				pclaim *pi = &t->v[i];
				const char *why = NULL;
				if (same_stay(pi, pj))
					why = fmt_text(
						t,
						"the same visit (facility, dates, visit type "
						"and amounts) as claim %s, settled again: the "
						"second payment is at risk",
						pi->c.id);
				else if ((pj->row->flags & SB_AUDIT_ROW_MDTRT) && pi->row &&
					 (pi->row->flags & SB_AUDIT_ROW_MDTRT) &&
					 ((pi->row->flags ^ pj->row->flags) & SB_AUDIT_ROW_HASH) ==
						 0 &&
					 !strcmp(sb_audit_row_mdtrt(pi->row),
						 sb_audit_row_mdtrt(pj->row)))
					why = fmt_text(t,
						       "visit mdtrt_id %s is settled twice (first as "
						       "claim %s): the second payment is at risk",
						       sb_audit_row_mdtrt(pj->row), pi->c.id);
				if (!why)
					continue;
				pj->flagged_dup = true;
				st = whole(a, t, SB_AUDIT_DUPLICATE, j, i, why, paid_of(a, pj), d);
				break;
			}
		}
		if (st || pj->flagged_dup || pj->c.visit != 0)
			continue;
		/* split_stay: the latest earlier stay at the same facility
		 * that ended on or before this admission, within N days. */
		const sb_audit_rule *sr = &rules->rule[SB_AUDIT_SPLIT_STAY];
		size_t best = SIZE_MAX;
		for (size_t i = 0; sr->enabled && pj->fac && i < j; i++) {
			pclaim *pi = &t->v[i];
			if (pi->c.visit != 0 || pi->flagged_dup || !pi->row ||
			    !same_facility(pi, pj))
				continue;
			sb_date gap = begin_of(pj) - pi->c.date;
			if (gap < 0 || gap > sr->days)
				continue;
			if (sr->diagnosis_chars) {
				size_t n = (size_t)sr->diagnosis_chars;
				const char *xi = sb_audit_row_diagnosis(pi->row),
					   *xj = sb_audit_row_diagnosis(pj->row);
				if (!xi[0] || !xj[0] || strncmp(xi, xj, n))
					continue;
			}
			if (best == SIZE_MAX || pi->c.date >= t->v[best].c.date)
				best = i;
		}
		if (best != SIZE_MAX) {
			sb_fen risk, merged;
			const char *note;
			if ((st = split_risk(t, best, j, &risk, &merged, &note)))
				return oom(d);
			sb_date_format(t->v[best].c.date, da);
			sb_date_format(begin_of(pj), db);
			char ap[SB_MONEY_BUF], mg[SB_MONEY_BUF];
			sb_money_format(t->v[best].res.fund + pj->res.fund, ap);
			sb_money_format(merged, mg);
			char tail[320];
			if (note)
				snprintf(tail, sizeof tail, "; %s", note);
			else
				snprintf(tail, sizeof tail,
					 "; the funds pay %s on the two stays and would "
					 "pay %s on them as one%s",
					 ap, mg,
					 risk ? "" :
						": no amount at risk to the funds (a per-case "
						"payment to the facility may be)");
			const char *why = fmt_text(
				t,
				"readmitted to the same facility on %s, %d days after claim %s "
				"was discharged on %s (rule: within %d days)%s",
				db, (int)(begin_of(pj) - t->v[best].c.date), t->v[best].c.id, da,
				sr->days, tail);
			if ((st = whole(a, t, SB_AUDIT_SPLIT_STAY, j, best, why, risk, d)))
				return st;
		}
		/* overlap: an earlier stay still open on this admission. */
		if (!rules->rule[SB_AUDIT_OVERLAP].enabled)
			continue;
		for (size_t i = 0; i < j; i++) {
			pclaim *pi = &t->v[i];
			if (pi->c.visit != 0 || pi->flagged_dup || begin_of(pj) >= pi->c.date ||
			    begin_of(pi) >= pj->c.date)
				continue;
			sb_date_format(begin_of(pi), da);
			sb_date_format(pi->c.date, db);
			const char *why =
				fmt_text(t,
					 "in hospital at %s from %s while claim %s at "
					 "%s covers %s to %s: two beds at once",
					 pj->fac ? fac_text(a, pj->fac) : "a facility",
					 "its admission", pi->c.id,
					 pi->row && pi->fac ? fac_text(a, pi->fac) : "a facility",
					 da, db);
			if ((st = whole(a, t, SB_AUDIT_OVERLAP, j, i, why, paid_of(a, pj), d)))
				return st;
			break;
		}
	}
	/* overlap: outpatient care at another facility during a stay. */
	for (size_t j = 0; !st && rules->rule[SB_AUDIT_OVERLAP].enabled &&
			   rules->rule[SB_AUDIT_OVERLAP].outpatient && j < t->n;
	     j++) {
		pclaim *po = &t->v[j];
		if (po->c.visit == 0 || !po->row || !po->fac || po->flagged_dup)
			continue;
		for (size_t i = 0; i < t->n; i++) {
			pclaim *pi = &t->v[i];
			if (pi->c.visit != 0 || !pi->row || !pi->fac || pi->flagged_dup ||
			    same_facility(pi, po) ||
			    !(begin_of(pi) < po->c.date && po->c.date < pi->c.date))
				continue;
			sb_fen paid = paid_of(a, po);
			sb_date_format(begin_of(pi), da);
			sb_date_format(pi->c.date, db);
			const char *why = fmt_text(t,
						   "outpatient claim at %s while in hospital at %s "
						   "(claim %s, %s to %s): the person was in a bed "
						   "elsewhere",
						   fac_text(a, po->fac), fac_text(a, pi->fac),
						   pi->c.id, da, db);
			st = whole(a, t, SB_AUDIT_OVERLAP, j, i, why, paid, d);
			break;
		}
	}
	t->n = 0;
	t->ncompared = 0;
	t->nscratch = 0;
	return st;
}

static bool same_level(const cost *e, int level, const char *lname)
{
	return e->level == level &&
	       (e->lname == lname || (e->lname && lname && !strcmp(e->lname, lname)));
}

static uint64_t level_key(int level, const char *lname)
{
	return (uint64_t)(uint32_t)level * 0x9e3779b97f4a7c15ULL ^
	       (lname ? sb_audit_idhash(lname, strlen(lname)) : 0);
}

/* Adds n claims of total and fund to (facility, level, visit). A level no
 * policy names (its symbol -1) is told by its text, so that "primary" and
 * "secondary" facilities are never scored against each other. */
static sb_status cost_add(costs *c, uint32_t fac, const char *facility, int level,
			  const char *lname, uint8_t visit, long long n, sb_fen total, sb_fen fund)
{
	if (level >= 0)
		lname = NULL;
	uint64_t h = fac * 0xff51afd7ed558ccdULL;
	uint64_t key = h ^ level_key(level, lname) ^ visit;
	if (c->table) {
		for (size_t slot = (size_t)(key ^ key >> 31) & c->mask; c->table[slot];
		     slot = (slot + 1) & c->mask) {
			cost *e = &c->v[c->table[slot] - 1];
			if (e->fac == fac && same_level(e, level, lname) && e->visit == visit) {
				e->n += n;
				return sb_fen_add(&e->total, total) && sb_fen_add(&e->fund, fund) ?
					       SB_OK :
					       SB_ELIMIT;
			}
		}
	}
	if (c->n * 2 >= c->mask) { /* grow the table (and the entries) */
		size_t cap = c->mask ? (c->mask + 1) * 2 : 64;
		uint32_t *t = sb_calloc(cap, sizeof *t);
		cost *v = sb_realloc(c->v, cap / 2 * sizeof *v);
		if (!t || !v) {
			sb_free(t);
			if (v)
				c->v = v;
			return SB_ENOMEM;
		}
		c->v = v;
		c->cap = cap / 2;
		sb_free(c->table);
		c->table = t;
		c->mask = cap - 1;
		for (size_t i = 0; i < c->n; i++) {
			const cost *e = &c->v[i];
			uint64_t k = e->fac * 0xff51afd7ed558ccdULL ^
				     level_key(e->level, e->lname) ^ e->visit;
			size_t slot = (size_t)(k ^ k >> 31) & c->mask;
			while (c->table[slot])
				slot = (slot + 1) & c->mask;
			c->table[slot] = (uint32_t)i + 1;
		}
	}
	size_t slot = (size_t)(key ^ key >> 31) & c->mask;
	while (c->table[slot])
		slot = (slot + 1) & c->mask;
	if (lname && !(lname = sb_arena_strndup(&c->arena, lname, strlen(lname))))
		return SB_ENOMEM;
	c->v[c->n] = (cost){ facility, fac, level, lname, visit, n, total, fund };
	c->table[slot] = (uint32_t)++c->n;
	return SB_OK;
}

static void costs_release(costs *c)
{
	sb_free(c->v);
	sb_free(c->table);
	sb_arena_release(&c->arena);
	memset(c, 0, sizeof *c);
}

static size_t cslot_of(uint32_t fac, uint32_t lv, size_t mask)
{
	uint64_t k = ((uint64_t)fac << 32 | lv) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(k >> 32) & mask;
}

/* Adds one claim to the thread's sums of (facility, level, visit type). */
static sb_status cslot_add(cslots *c, uint32_t fac, uint32_t lv, sb_fen total, sb_fen fund)
{
	if (c->v) {
		for (size_t i = cslot_of(fac, lv, c->mask); c->v[i].fac; i = (i + 1) & c->mask) {
			cslot *e = &c->v[i];
			if (e->fac == fac && e->lv == lv) {
				e->n++;
				return sb_fen_add(&e->total, total) && sb_fen_add(&e->fund, fund) ?
					       SB_OK :
					       SB_ELIMIT;
			}
		}
	}
	if ((c->n + 1) * 2 > (c->v ? c->mask + 1 : 0)) {
		size_t cap = c->v ? (c->mask + 1) * 2 : 4096;
		cslot *v = sb_calloc(cap, sizeof *v);
		if (!v)
			return SB_ENOMEM;
		for (size_t i = 0; c->v && i <= c->mask; i++) {
			if (!c->v[i].fac)
				continue;
			size_t j = cslot_of(c->v[i].fac, c->v[i].lv, cap - 1);
			while (v[j].fac)
				j = (j + 1) & (cap - 1);
			v[j] = c->v[i];
		}
		sb_free(c->v);
		c->v = v;
		c->mask = cap - 1;
	}
	size_t i = cslot_of(fac, lv, c->mask);
	while (c->v[i].fac)
		i = (i + 1) & c->mask;
	c->v[i] = (cslot){ fac, lv, 1, total, fund };
	c->n++;
	return SB_OK;
}

/* Adds the waiting costs to their slots. */
static sb_status cslot_drain(cslots *c)
{
	sb_status st = SB_OK;
	for (size_t i = 0; i < c->nwait && !st; i++) {
		if (i + CSLOT_AHEAD < c->nwait && c->v) {
			const cwait *w = &c->wait[i + CSLOT_AHEAD];
			__builtin_prefetch(&c->v[cslot_of(w->fac, w->lv, c->mask)], 1);
		}
		const cwait *w = &c->wait[i];
		st = cslot_add(c, w->fac, w->lv, w->total, w->fund);
	}
	c->nwait = 0;
	return st;
}

static sb_status cslot_push(cslots *c, uint32_t fac, uint32_t lv, sb_fen total, sb_fen fund)
{
	c->wait[c->nwait++] = (cwait){ fac, lv, total, fund };
	return c->nwait == CSLOT_WAIT ? cslot_drain(c) : SB_OK;
}

/* A claim text's place in the scratch, or: */
#define TEXT_FAIL SIZE_MAX       /* out of memory */
#define TEXT_NONE (SIZE_MAX - 1) /* NULL */
#define TEXT_KEPT (SIZE_MAX - 2) /* the claim's own pointer, valid for the run */

/* n bytes of text into the thread's scratch, at the returned offset
 * (TEXT_FAIL: out of memory). */
static size_t scratch_put(thr *t, const char *p, size_t n)
{
	if (t->nscratch + n + 1 > t->scratchcap) {
		size_t nc = t->scratchcap ? t->scratchcap * 2 : 4096;
		while (nc < t->nscratch + n + 1)
			nc *= 2;
		char *v = sb_realloc(t->scratch, nc);
		if (!v)
			return SIZE_MAX;
		t->scratch = v;
		t->scratchcap = nc;
	}
	size_t off = t->nscratch;
	memcpy(t->scratch + off, p, n);
	t->scratch[off + n] = '\0';
	t->nscratch += n + 1;
	return off;
}

/* Points the buffered claims' texts into the scratch (which may have moved
 * since they were put there). */
static void fix_texts(thr *t)
{
	for (size_t i = 0; i < t->n; i++) {
		pclaim *p = &t->v[i];
		p->c.id = t->scratch + p->id_off;
		if (p->level_off < TEXT_KEPT)
			p->c.level_name = t->scratch + p->level_off;
		else if (p->level_off == TEXT_NONE)
			p->c.level_name = NULL;
		if (p->dx_off < TEXT_KEPT)
			p->c.diagnosis = t->scratch + p->dx_off;
	}
}

/* Looks up the extract rows of the buffered claims not yet compared and
 * compares them (overpaid, underpaid, assistance_ineligible), in the
 * order the claims came. */
static sb_status flush(audit *a, thr *t, sb_diag *d)
{
	if (t->ncompared == t->n)
		return SB_OK;
	fix_texts(t);
	const sb_audit_extract *x = a->ctx->extract;
	bool costs_on = a->ctx->rules->rule[SB_AUDIT_COST_OUTLIER].enabled;
	for (size_t k = t->ncompared; k < t->n; k++) {
		pclaim *p = &t->v[k];
		sb_audit_ref ref;
		sb_status st = sb_audit_extract_find(x, p->c.id, p->idlen, p->line, &ref, d);
		if (st)
			return st;
		p->row = ref.row;
		p->fac = ref.fac;
		if (costs_on && p->row && p->fac) {
			sb_status cs = p->c.level >= 0 && p->c.level < (1 << 23) ?
					       cslot_push(&t->slots, p->fac,
							  (uint32_t)p->c.level << 8 | p->c.visit,
							  p->c.total, p->res.fund) :
					       cost_add(&t->costs, p->fac, x->fac[p->fac - 1],
							p->c.level, p->c.level_name, p->c.visit, 1,
							p->c.total, p->res.fund);
			if (cs)
				return sb_diag_set(
					d, cs, NULL, 0, 0,
					cs == SB_ENOMEM ?
						"out of memory" :
						"a facility's costs overflow a 64-bit sum");
		}
		t->ncompared = k + 1;
		if ((st = compare(a, t, k, d)))
			return st;
	}
	return SB_OK;
}

static sb_status claim(void *self, void *vt, const sb_settled *s, sb_diag *d)
{
	audit *a = self;
	thr *t = vt;
	if (s->scenario)
		return SB_OK;
	sb_status st;
	if (t->n && t->pidx != s->person_index && (st = person_end(a, t, d)))
		return st;
	/* The row is looked at when the person's claims are all in: by then
	 * this fetch has come in, while the batch settled the next claim. */
	const sb_audit_row *slot = sb_audit_extract_slot(a->ctx->extract, s->line);
	if (slot)
		__builtin_prefetch(slot);
	if (!t->n) {
		t->person = *s->person;
		t->pidx = s->person_index;
		t->set = s->set;
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		pclaim *v = sb_realloc(t->v, nc * sizeof *v);
		if (!v)
			return oom(d);
		t->v = v;
		t->cap = nc;
	}
	pclaim *p = &t->v[t->n];
	/* every field is set below (the layer arrays up to nlayers, all that
	 * is read of them), so no memset of the whole */
	p->flagged_dup = false;
	p->c = *s->claim;
	p->id = NULL;
	p->idlen = s->claim_idlen;
	p->line = s->line;
	p->row = NULL;
	p->fac = 0;
	/* The texts are the batch's for this call only: copied, unless a
	 * level the policies name (its name is the policy set's) or no
	 * diagnosis. */
	const char *lv = s->claim->level_name, *dx = s->claim->diagnosis;
	p->id_off = scratch_put(t, s->claim_id, s->claim_idlen);
	p->level_off = !lv ? TEXT_NONE :
		       s->claim->level >= 0 && lv == sb_policyset_symbol_name(s->set, SB_SYM_LEVEL,
									      s->claim->level) ?
			     TEXT_KEPT :
			     scratch_put(t, lv, strlen(lv));
	p->dx_off = !dx ? TEXT_NONE : !*dx ? TEXT_KEPT : scratch_put(t, dx, strlen(dx));
	if (!dx || !*dx)
		p->c.diagnosis = dx ? "" : NULL;
	if (p->id_off == TEXT_FAIL || p->level_off == TEXT_FAIL || p->dx_off == TEXT_FAIL)
		return oom(d);
	p->res.version = s->res->version;
	p->res.fund = s->res->fund;
	p->res.nlayers = s->res->nlayers;
	for (uint8_t j = 0; j < s->res->nlayers; j++) {
		p->res.sym[j] = s->res->layer[j].sym;
		p->res.pay[j] = s->res->layer[j].pay;
	}
	p->pol = s->policy;
	p->region = s->region;
	t->n++;
	return SB_OK;
}

static sb_status reject(void *self, void *vt, const sb_rejected *r, sb_diag *d)
{
	audit *a = self;
	thr *t = vt;
	const sb_audit_rules *rules = a->ctx->rules;
	sb_audit_rule_id rule;
	if (r->scenario == -1 && rules->rule[SB_AUDIT_DUPLICATE].enabled)
		rule = SB_AUDIT_DUPLICATE;
	else if (r->scenario == 0 && rules->rule[SB_AUDIT_OVERPAID].enabled)
		rule = SB_AUDIT_OVERPAID;
	else
		return SB_OK;
	/* The findings of the claims before it come first, as they came. */
	sb_status st = flush(a, t, d);
	if (st)
		return st;
	sb_audit_ref ref;
	if ((st = sb_audit_extract_find(a->ctx->extract, r->claim_id, r->claim_idlen, r->line, &ref,
					d)))
		return st;
	const sb_audit_row *row = ref.row;
	bool any;
	sb_fen paid = paid_total(a->ctx->extract, row, &any);
	if (rule == SB_AUDIT_OVERPAID && !paid)
		return SB_OK;
	finding *f = add(t, a, rule);
	if (!f)
		return oom(d);
	f->claim = dup_text(t, r->claim_id, r->claim_idlen);
	if (row) {
		f->person = sb_audit_row_person(row);
		f->facility = fac_text(a, ref.fac);
	}
	f->paid = paid;
	f->due = rule == SB_AUDIT_OVERPAID ? 0 : -1;
	f->risk = paid;
	f->reason =
		rule == SB_AUDIT_DUPLICATE ?
			fmt_text(t,
				 "settlement id settled twice (%s): the second payment is at risk",
				 r->reason) :
			fmt_text(t, "paid although the policy pays nothing for it: %s", r->reason);
	return f->claim && f->reason ? SB_OK : oom(d);
}

static sb_status partition_end(void *self, void *vt, int part, void **out, sb_diag *d)
{
	(void)part;
	thr *t = vt;
	sb_status st = t->n ? person_end(self, t, d) : SB_OK;
	*out = t->cur;
	t->cur = NULL;
	return st;
}

static sb_status tally(sums *s, const char *key, uint8_t rule, sb_fen risk)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].rule == rule && !strcmp(s->v[i].key, key)) {
			s->v[i].count++;
			return sb_fen_add(&s->v[i].risk, risk) ? SB_OK : SB_ELIMIT;
		}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 32;
		sum *v = sb_realloc(s->v, nc * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		s->v = v;
		s->cap = nc;
	}
	sum *e = &s->v[s->n++];
	snprintf(e->key, sizeof e->key, "%s", key);
	e->rule = rule;
	e->count = 1;
	e->risk = risk;
	return SB_OK;
}

static void put_str(sb_obuf *o, const char *s)
{
	sb_obuf_bytes(o, s, strlen(s));
}

static void put_i64(sb_obuf *o, long long v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%lld", v);
	sb_obuf_bytes(o, b, (size_t)n);
}

/* s as a JSON string through the project's one JSON string writer
 * (sb_json_str), into o. */
static void json_str(sb_obuf *o, const char *s)
{
	char *b = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&b, &n);
	if (!m) {
		o->failed = true;
		return;
	}
	sb_json_str(m, s);
	if (fclose(m)) {
		free(b);
		o->failed = true;
		return;
	}
	sb_obuf_bytes(o, b, n);
	free(b);
}

static sb_status commit(void *self, int part, void *vp, sb_diag *d)
{
	(void)part;
	audit *a = self;
	piece *p = vp;
	sb_status st = SB_OK;
	for (size_t i = 0; i < p->n && !st; i++) {
		finding *f = &p->v[i];
		a->written++;
		a->findings[f->rule]++;
		if (!sb_fen_add(&a->risk[f->rule], f->risk))
			st = sb_diag_set(d, SB_ELIMIT, NULL, 0, 0, "amounts at risk overflow");
		char region[12] = "";
		if (f->region)
			snprintf(region, sizeof region, "%06u", f->region);
		char date[11] = "";
		if (f->date != INT32_MIN)
			sb_date_format(f->date, date);
		sb_status t1 = tally(&a->by_layer, f->layer, f->rule, f->risk);
		sb_status t2 = tally(&a->by_facility, f->facility, f->rule, f->risk);
		sb_status t3 = tally(&a->by_region, region, f->rule, f->risk);
		if (!st && (t1 || t2 || t3))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		sb_obuf *o = &a->buf;
		o->n = 0;
		put_i64(o, a->written);
		sb_obuf_bytes(o, ",", 1);
		put_str(o, sb_audit_rule_name(f->rule));
		sb_obuf_bytes(o, ",", 1);
		put_str(o, sb_audit_severity_name(f->severity));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->claim, strlen(f->claim));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->related, strlen(f->related));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->person, strlen(f->person));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->facility, strlen(f->facility));
		sb_obuf_bytes(o, ",", 1);
		put_str(o, region);
		sb_obuf_bytes(o, ",", 1);
		put_str(o, date);
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->layer, strlen(f->layer));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_fen(o, f->paid);
		sb_obuf_bytes(o, ",", 1);
		if (f->due >= 0)
			sb_obuf_fen(o, f->due);
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_fen(o, f->risk);
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, f->reason, strlen(f->reason));
		sb_obuf_bytes(o, "\n", 1);
		if (o->failed && !st)
			st = oom(d);
		if (!st)
			st = sb_outdir_write(a->out, a->csv, o->p, o->n, d);
		if (st || !f->trace)
			continue;
		if (a->traced == SB_AUDIT_MAX_TRACES) {
			a->untraced++;
			continue;
		}
		o->n = 0;
		put_str(o, a->traced++ ? ",\n" : "\n");
		put_str(o, "{\"finding\": ");
		put_i64(o, a->written);
		put_str(o, ", \"claim\": ");
		json_str(o, f->claim);
		put_str(o, ", \"trace\": ");
		put_str(o, f->trace);
		put_str(o, "}");
		if (o->failed)
			st = oom(d);
		else
			st = sb_outdir_write(a->out, a->traces, o->p, o->n, d);
	}
	piece_free(p);
	return st;
}

static void discard(void *self, void *p)
{
	(void)self;
	piece_free(p);
}

static sb_status merge(void *self, void *vt, sb_diag *d)
{
	audit *a = self;
	thr *t = vt;
	a->unaudited += t->unaudited;
	sb_status ds = cslot_drain(&t->slots);
	if (ds)
		return sb_diag_set(d, ds, NULL, 0, 0,
				   ds == SB_ENOMEM ? "out of memory" :
						     "a facility's costs overflow a 64-bit sum");
	for (size_t i = 0; t->slots.v && i <= t->slots.mask; i++) {
		const cslot *e = &t->slots.v[i];
		if (!e->fac)
			continue;
		sb_status st = cost_add(&a->costs, e->fac, a->ctx->extract->fac[e->fac - 1],
					(int)(e->lv >> 8), NULL, (uint8_t)(e->lv & 0xff), e->n,
					e->total, e->fund);
		if (st)
			return sb_diag_set(d, st, NULL, 0, 0,
					   st == SB_ENOMEM ?
						   "out of memory" :
						   "a facility's costs overflow a 64-bit sum");
	}
	for (size_t i = 0; i < t->costs.n; i++) {
		const cost *e = &t->costs.v[i];
		sb_status st = cost_add(&a->costs, e->fac, e->facility, e->level, e->lname,
					e->visit, e->n, e->total, e->fund);
		if (st)
			return sb_diag_set(d, st, NULL, 0, 0,
					   st == SB_ENOMEM ?
						   "out of memory" :
						   "a facility's costs overflow a 64-bit sum");
	}
	return SB_OK;
}

static void thread_free(void *self, void *vt)
{
	(void)self;
	thr *t = vt;
	if (!t)
		return;
	piece_free(t->cur);
	costs_release(&t->costs);
	sb_free(t->slots.v);
	sb_free(t->v);
	sb_free(t->scratch);
	sb_free(t->trace);
	sb_acc_release(&t->acc);
	sb_free(t);
}

static int cmp_sum(const void *x, const void *y)
{
	const sum *a = x, *b = y;
	if (a->risk != b->risk)
		return a->risk > b->risk ? -1 : 1;
	int c = strcmp(a->key, b->key);
	return c ? c : (int)a->rule - (int)b->rule;
}

static void json_money(sb_obuf *o, sb_fen v)
{
	sb_obuf_bytes(o, "\"", 1);
	sb_obuf_fen(o, v);
	sb_obuf_bytes(o, "\"", 1);
}

static void json_sums(sb_obuf *o, const char *name, const char *keyname, sums *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_sum);
	put_str(o, ",\n  \"");
	put_str(o, name);
	put_str(o, "\": [");
	for (size_t i = 0; i < s->n; i++) {
		put_str(o, i ? ",\n    {\"" : "\n    {\"");
		put_str(o, keyname);
		put_str(o, "\": ");
		json_str(o, s->v[i].key);
		put_str(o, ", \"rule\": ");
		json_str(o, sb_audit_rule_name(s->v[i].rule));
		put_str(o, ", \"findings\": ");
		put_i64(o, s->v[i].count);
		put_str(o, ", \"at_risk\": ");
		json_money(o, s->v[i].risk);
		put_str(o, "}");
	}
	put_str(o, s->n ? "\n  ]" : "]");
}

static int cmp_cost(const void *x, const void *y)
{
	const cost *a = x, *b = y;
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if (a->lname != b->lname) {
		if (!a->lname || !b->lname)
			return a->lname ? 1 : -1;
		int k = strcmp(a->lname, b->lname);
		if (k)
			return k;
	}
	if (a->visit != b->visit)
		return a->visit < b->visit ? -1 : 1;
	return strcmp(a->facility, b->facility);
}

static int cmp_fen(const void *x, const void *y)
{
	sb_fen a = *(const sb_fen *)x, b = *(const sb_fen *)y;
	return a < b ? -1 : a > b;
}

/* The median of v[0..n) (n > 0; sorts v), the two middle values' mean
 * rounded half up when n is even. */
static sb_fen median(sb_fen *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_fen);
	return n % 2 ? v[n / 2] : sb_div_round(v[n / 2 - 1] + v[n / 2], 2);
}

/* cost_outlier: in each group of facilities of one level and visit type,
 * the mean cost per claim of each facility with at least min_claims claims,
 * scored against the group's median with the median absolute deviation
 * (Iglewicz and Hoaglin's modified z-score, 0.6745 (x - median) / MAD; a
 * score, not a payment, so the one place with floating point). Findings
 * come after every claim's, in the order of level, visit type, facility. */
static sb_status outliers(audit *a, sb_diag *d)
{
	const sb_audit_rule *r = &a->ctx->rules->rule[SB_AUDIT_COST_OUTLIER];
	costs *c = &a->costs;
	if (!r->enabled || !c->n)
		return SB_OK;
	qsort(c->v, c->n, sizeof *c->v, cmp_cost);
	sb_fen *mean = sb_malloc(c->n * sizeof *mean), *dev = sb_malloc(c->n * sizeof *dev),
	       *per = sb_malloc(c->n * sizeof *per);
	thr t = { 0 };
	if (mean && dev && per && (t.cur = sb_calloc(1, sizeof *t.cur)))
		sb_arena_init(&t.cur->arena);
	sb_status st = t.cur ? SB_OK : oom(d);
	for (size_t i = 0, j; !st && i < c->n; i = j) {
		for (j = i; j < c->n && same_level(&c->v[j], c->v[i].level, c->v[i].lname) &&
			    c->v[j].visit == c->v[i].visit;
		     j++)
			;
		size_t m = 0;
		for (size_t k = i; k < j; k++)
			if (c->v[k].n >= r->min_claims) {
				mean[m] = sb_div_round(c->v[k].total, c->v[k].n);
				per[m++] = sb_div_round(c->v[k].fund, c->v[k].n);
			}
		if (m < (size_t)r->min_peers)
			continue;
		sb_fen med = median(mean, m), medf = median(per, m);
		m = 0;
		for (size_t k = i; k < j; k++)
			if (c->v[k].n >= r->min_claims) {
				sb_fen x = sb_div_round(c->v[k].total, c->v[k].n);
				dev[m++] = x > med ? x - med : med - x;
			}
		sb_fen mad = median(dev, m);
		if (!mad)
			continue; /* peers all alike: no scale to score on */
		for (size_t k = i; k < j && !st; k++) {
			const cost *e = &c->v[k];
			if (e->n < r->min_claims)
				continue;
			sb_fen x = sb_div_round(e->total, e->n);
			double z = 0.6745 * (double)(x - med) / (double)mad;
			if (z * 10000.0 <= (double)r->threshold_bp)
				continue;
			finding *f = add(&t, a, SB_AUDIT_COST_OUTLIER);
			if (!f) {
				st = oom(d);
				break;
			}
			f->claim = "";
			f->facility = e->facility;
			f->paid = e->fund;
			sb_fen due;
			if (__builtin_mul_overflow(medf, (sb_fen)e->n, &due))
				due = -1;
			f->due = due;
			f->risk = due >= 0 && e->fund > due ? e->fund - due : 0;
			const char *level =
				e->level >= 0 ?
					sb_policyset_symbol_name(a->set, SB_SYM_LEVEL, e->level) :
				e->lname ? e->lname :
					   "(none)";
			char xm[SB_MONEY_BUF], mm[SB_MONEY_BUF], rk[SB_MONEY_BUF];
			sb_money_format(x, xm);
			sb_money_format(med, mm);
			sb_money_format(f->risk, rk);
			f->reason =
				fmt_text(&t,
					 "mean cost per %s claim at level %s is %s over %lld "
					 "claims, against a median of %s among %zu facilities "
					 "(robust z %.1f, threshold %.1f); the funds paid %s more "
					 "than the peers' median per claim would give",
					 sb_visit_names[e->visit], level ? level : "?", xm, e->n,
					 mm, m, z, (double)r->threshold_bp / 10000.0, rk);
			if (!f->reason)
				st = oom(d);
		}
	}
	sb_free(mean);
	sb_free(dev);
	sb_free(per);
	if (t.cur) {
		sb_status cs = st ? SB_OK : commit(a, -1, t.cur, d);
		if (st)
			piece_free(t.cur);
		st = st ? st : cs;
	}
	return st;
}

static sb_status end(void *self, sb_diag *d)
{
	audit *a = self;
	const sb_audit_rules *rules = a->ctx->rules;
	sb_status st = outliers(a, d);
	if (st)
		return st;
	st = sb_outdir_write(a->out, a->traces, a->traced ? "\n]\n" : "]\n", a->traced ? 3 : 2, d);
	if (!st)
		st = sb_outdir_finish(a->out, a->csv, d);
	if (!st)
		st = sb_outdir_finish(a->out, a->traces, d);
	if (st)
		return st;
	if (!(a->json = sb_outdir_create(a->out, "audit.json", d)))
		return d->code ? d->code : SB_EIO;
	sb_obuf *o = &a->buf;
	o->n = 0;
	sb_fen all = 0;
	long long n = 0;
	for (int r = 0; r < SB_AUDIT_NRULES; r++) {
		n += a->findings[r];
		/* Underpaid is owed to the person, not at risk to the funds. */
		if (r != SB_AUDIT_UNDERPAID && !sb_fen_add(&all, a->risk[r]))
			return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0, "amounts at risk overflow");
	}
	put_str(o, "{\n  \"rules_file\": ");
	json_str(o, rules->path);
	put_str(o, ",\n  \"rules_name\": ");
	json_str(o, rules->name);
	put_str(o, ",\n  \"rules_source\": ");
	json_str(o, rules->source);
	put_str(o, ",\n  \"findings\": ");
	put_i64(o, n);
	put_str(o, ",\n  \"at_risk\": ");
	json_money(o, all);
	put_str(o, ",\n  \"underpaid\": ");
	json_money(o, a->risk[SB_AUDIT_UNDERPAID]);
	put_str(o, ",\n  \"claims_not_compared\": ");
	put_i64(o, a->unaudited);
	put_str(o, ",\n  \"traces\": ");
	put_i64(o, a->traced);
	put_str(o, ",\n  \"traces_left_out\": ");
	put_i64(o, a->untraced);
	put_str(o, ",\n  \"by_rule\": [");
	for (int r = 0; r < SB_AUDIT_NRULES; r++) {
		put_str(o, r ? ",\n    {\"rule\": " : "\n    {\"rule\": ");
		json_str(o, sb_audit_rule_name((sb_audit_rule_id)r));
		put_str(o, ", \"enabled\": ");
		put_str(o, rules->rule[r].enabled ? "true" : "false");
		put_str(o, ", \"severity\": ");
		json_str(o, sb_audit_severity_name(rules->rule[r].severity));
		put_str(o, ", \"findings\": ");
		put_i64(o, a->findings[r]);
		put_str(o, ", \"at_risk\": ");
		json_money(o, a->risk[r]);
		put_str(o, "}");
	}
	put_str(o, "\n  ]");
	json_sums(o, "by_layer", "layer", &a->by_layer);
	json_sums(o, "by_facility", "facility", &a->by_facility);
	json_sums(o, "by_region", "region", &a->by_region);
	put_str(o, "\n}\n");
	if (o->failed)
		return oom(d);
	if ((st = sb_outdir_write(a->out, a->json, o->p, o->n, d)) ||
	    (st = sb_outdir_finish(a->out, a->json, d)))
		return st;
	sb_audit_totals *t = a->ctx->totals;
	if (t) {
		for (int r = 0; r < SB_AUDIT_NRULES; r++) {
			t->findings[r] = a->findings[r];
			t->at_risk[r] = a->risk[r];
		}
		t->unaudited = a->unaudited;
	}
	return SB_OK;
}

static void release(void *self)
{
	audit *a = self;
	sb_free(a->col_of_sym);
	sb_free(a->by_layer.v);
	sb_free(a->by_facility.v);
	sb_free(a->by_region.v);
	costs_release(&a->costs);
	sb_obuf_release(&a->buf);
	sb_free(a);
}

static const sb_sink_ops ops = {
	.name = "audit",
	.begin = begin,
	.thread_new = thread_new,
	.partition = partition,
	.claim = claim,
	.reject = reject,
	.partition_end = partition_end,
	.commit = commit,
	.discard = discard,
	.merge = merge,
	.thread_free = thread_free,
	.end = end,
	.release = release,
};

sb_status sb_audit_sink_new(sb_sink *out)
{
	if (!(out->self = sb_calloc(1, sizeof(audit))))
		return SB_ENOMEM;
	out->ops = &ops;
	return SB_OK;
}
