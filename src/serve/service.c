/* service.c: the transactions of docs/service-api.md over the store.
 * Reads (1101, 2206, 2303, 5203, 3201, 3202, the GET calls) run in the
 * HTTP thread on its own read connection; every change of state is a job
 * for the one writer thread, which takes all queued jobs, runs each in a
 * savepoint of one transaction and commits them with one fsync (group
 * commit); each job is answered only after that commit. One writer means
 * two settlements of a person never read the same accumulators. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "policy/policy_int.h"
#include "sanbao/explain.h"
#include "sanbao/io.h"
#include "serve/service.h"

/* ---- small helpers -------------------------------------------------------- */

static json_t *jmoney(sb_fen v)
{
	char b[SB_MONEY_BUF];
	sb_money_format(v, b);
	return json_string(b);
}

static json_t *jdate(sb_date v)
{
	char b[16];
	sb_date_format(v, b);
	return json_string(b);
}

static sb_date today(void)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	return sb_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const char *ctext(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

/* The response envelope as text, malloc'ed (NULL when out of memory),
 * around output, the text of the output object (NULL: {}). */
static char *envelope_text(sb_service *S, int infcode, const char *err, const char *output,
			   size_t nout)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	char when[96], ref[128];
	snprintf(when, sizeof when, "%04d%02d%02d%02d%02d%02d%03ld", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	unsigned long long n = atomic_fetch_add(&S->refseq, 1) + 1;
	snprintf(ref, sizeof ref, "SB%s%08llu", when, n % 100000000ULL);
	sb_jw w = { 0 };
	if (!sb_jw_reserve(&w, nout + 256))
		return NULL;
	sb_jw_lit(&w, "{");
	sb_jw_kint(&w, "infcode", infcode);
	sb_jw_kstr(&w, "err_msg", err ? err : "");
	sb_jw_kstr(&w, "inf_refmsgid", ref);
	sb_jw_kstr(&w, "respond_time", when);
	sb_jw_key(&w, "output");
	if (output)
		sb_jw_raw(&w, output, nout);
	else
		sb_jw_lit(&w, "{}");
	sb_jw_lit(&w, "}");
	if (w.oom) {
		free(w.p);
		return NULL;
	}
	return w.p;
}

/* The response envelope as text, malloc'ed; output is stolen. */
char *sb_service_envelope(sb_service *S, int infcode, const char *err, json_t *output)
{
	char *out = output ? json_dumps(output, JSON_COMPACT) : NULL;
	json_decref(output);
	char *s =
		output && !out ? NULL : envelope_text(S, infcode, err, out, out ? strlen(out) : 0);
	free(out);
	return s;
}

static int fail(sb_service *S, char **resp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(sb_service *S, char **resp, const char *fmt, ...)
{
	char m[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	*resp = sb_service_envelope(S, -1, m, NULL);
	return 200;
}

static int cmp_code(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_fac_key(const void *key, const void *f)
{
	return strcmp(key, ((const sb_facility *)f)->code);
}

const sb_facility *sb_service_facility(const sb_service *S, const char *code)
{
	return S->nfac ? bsearch(code, S->fac, S->nfac, sizeof *S->fac, cmp_fac_key) : NULL;
}

bool sb_service_may_act(const sb_token *t, const char *code)
{
	return t->ncodes && bsearch(&code, t->codes, t->ncodes, sizeof *t->codes, cmp_code);
}

bool sb_service_token_codes(sb_token *t)
{
	t->split = strdup(t->facilities);
	if (!t->split)
		return false;
	size_t n = 0;
	for (char *p = t->split; *p;) {
		n++;
		char *e = strchr(p, ',');
		if (!e)
			break;
		p = e + 1;
	}
	t->codes = calloc(n ? n : 1, sizeof *t->codes);
	if (!t->codes)
		return false;
	for (char *p = t->split; *p;) {
		char *e = strchr(p, ',');
		if (e)
			*e = '\0';
		if (*p)
			t->codes[t->ncodes++] = p;
		if (!e)
			break;
		p = e + 1;
	}
	qsort(t->codes, t->ncodes, sizeof *t->codes, cmp_code);
	return true;
}

/* ---- settlement ------------------------------------------------------------ */

typedef struct computed {
	sb_person person;
	const sb_policy *pol;
	sb_claim claim;
	sb_result res;
	uint8_t place;
	char care[7];
} computed;

static const char *person_sqlite_error(int rc)
{
	return rc == SQLITE_NOTFOUND ? "is not enrolled" : "cannot be read from the store";
}

/* ---- the HTTP threads' persons ----------------------------------------------- *
 * A read connection drops its page cache whenever the writer has committed
 * since its last read, so under durable load each settlement prepared in
 * an HTTP thread read its person and their identities again through pread
 * (a tenth of a 2207's CPU). Persons change only through the writer's REST
 * jobs (and their symbols with the policies): each HTTP thread keeps the
 * persons it read, valid while neither S->person_gen (bumped by the writer
 * after it committed a change of a person) nor S->set_gen moved. The
 * writer reads the person itself and compares before it takes a prepared
 * settlement, so a stale entry could cost a settlement done twice, never a
 * wrong one. */
enum { PCACHE_SLOTS = 4096 };
typedef struct pcache_slot {
	unsigned long long pgen, sgen;
	bool used;
	sb_person p;
} pcache_slot;

static pthread_key_t pcache_key;
static pthread_once_t pcache_once = PTHREAD_ONCE_INIT;

static void pcache_key_make(void)
{
	(void)pthread_key_create(&pcache_key, free);
}

static int person_cached(sb_service *S, sqlite3 *db, const sb_policyset *set, const char *psn,
			 sb_person *p)
{
	pthread_once(&pcache_once, pcache_key_make);
	pcache_slot *c = pthread_getspecific(pcache_key);
	if (!c && (c = calloc(PCACHE_SLOTS, sizeof *c)) && pthread_setspecific(pcache_key, c)) {
		free(c);
		c = NULL;
	}
	unsigned long long pgen = atomic_load(&S->person_gen), sgen = S->set_gen;
	uint32_t h = 2166136261u;
	for (const char *k = psn; *k; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	pcache_slot *e = c ? &c[h % PCACHE_SLOTS] : NULL;
	if (e && e->used && e->pgen == pgen && e->sgen == sgen && !strcmp(e->p.id, psn)) {
		*p = e->p;
		return SQLITE_OK;
	}
	int rc = sb_serve_person_load(db, set, psn, p, NULL, 0);
	if (!rc && e) {
		e->p = *p;
		e->pgen = pgen;
		e->sgen = sgen;
		e->used = true;
	}
	return rc;
}

/* The HTTP thread's trace (145 KB: malloc'ed and freed for every 2206 and
 * prepared 2207 it went to the heap's top and back), kept per thread;
 * freed when the thread ends. */
static pthread_key_t trace_key;
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;

static void trace_key_make(void)
{
	(void)pthread_key_create(&trace_key, sb_free);
}

static sb_trace *thread_trace(void)
{
	pthread_once(&trace_once, trace_key_make);
	sb_trace *tr = pthread_getspecific(trace_key);
	if (!tr && (tr = sb_malloc(sizeof *tr)) && pthread_setspecific(trace_key, tr)) {
		sb_free(tr);
		tr = NULL;
	}
	return tr;
}

/* Settles in on the person's stored accumulators (acc gets the updated
 * ones, before the old). false with err. */
static bool compute_raw(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_serve_req *r,
			const sb_serve_setl *in, const sb_facility *f, sb_acc *before, sb_acc *acc,
			uint8_t **raw, size_t *nraw, bool http, sb_trace *tr, computed *c,
			char *err, size_t cap, int *dbrc);

/* In the writer (http false) or in an HTTP thread (its persons kept). */
static bool compute(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_serve_req *r,
		    const sb_serve_setl *in, const sb_facility *f, sb_acc *before, sb_acc *acc,
		    bool http, sb_trace *tr, computed *c, char *err, size_t cap, int *dbrc)
{
	return compute_raw(S, db, set, r, in, f, before, acc, NULL, NULL, http, tr, c, err, cap,
			   dbrc);
}

/* The same, with a copy of the accumulators' stored bytes in *raw when raw
 * is not NULL (prepare_settle). */
static bool compute_raw(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_serve_req *r,
			const sb_serve_setl *in, const sb_facility *f, sb_acc *before, sb_acc *acc,
			uint8_t **raw, size_t *nraw, bool http, sb_trace *tr, computed *c,
			char *err, size_t cap, int *dbrc)
{
	memset(c, 0, sizeof *c);
	*dbrc = 0;
	int rc = http ? person_cached(S, db, set, in->psn_no, &c->person) :
			sb_serve_person_load(db, set, in->psn_no, &c->person, NULL, 0);
	if (rc) {
		char m[SB_ID_LEN + 1];
		sb_id_mask(in->psn_no, strlen(in->psn_no), m);
		snprintf(err, cap, "field psn_no: person %s %s", m, person_sqlite_error(rc));
		if (rc != SQLITE_NOTFOUND)
			*dbrc = rc;
		return false;
	}
	if (r->insuplc_admdvs[0] && strcmp(r->insuplc_admdvs, c->person.region)) {
		snprintf(err, cap,
			 "field insuplc_admdvs %s is not the person's region of "
			 "enrolment %s",
			 r->insuplc_admdvs, c->person.region);
		return false;
	}
	c->pol = sb_policyset_find(set, c->person.region);
	if (!c->pol) {
		snprintf(err, cap, "the person's region %s has no policy loaded", c->person.region);
		return false;
	}
	if ((rc = sb_serve_acc_load_raw(db, in->psn_no, acc, raw, nraw, err, cap))) {
		*dbrc = rc;
		return false;
	}
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_acc_copy(before, acc)) {
		snprintf(err, cap, "out of memory");
		*dbrc = SQLITE_NOMEM;
		return false;
	}
	memcpy(c->care, f->region, 7);
	c->place = !strcmp(f->region, c->person.region)    ? SB_PLACE_LOCAL :
		   !memcmp(f->region, c->person.region, 2) ? SB_PLACE_IN_PROVINCE :
							     SB_PLACE_CROSS_PROVINCE;
	sb_claim *cl = &c->claim;
	cl->id = in->mdtrt_id;
	cl->date = in->date;
	cl->visit = in->visit;
	cl->place = c->place;
	cl->filing = in->filing;
	cl->level = sb_policyset_symbol(set, SB_SYM_LEVEL, f->level, strlen(f->level));
	cl->level_name = f->level;
	cl->total = in->total;
	cl->in_scope = in->in_scope;
	cl->pre_selfpay = in->pre;
	cl->over_limit = in->over;
	if (sb_settle_claim(set, c->pol, &c->person, cl, acc, &c->res, tr, &d)) {
		if (d.code == SB_ENOMEM)
			*dbrc = SQLITE_NOMEM;
		snprintf(err, cap, "not settled: %s", d.message);
		return false;
	}
	return true;
}

static const char *const money_fields[] = {
	"medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
	"inscp_scp_amt", "hifp_pay",          "hifmi_pay",       "hifob_pay",
	"cvlserv_pay",   "maf_pay",           "oth_pay",         "fund_pay_sumamt",
	"psn_part_amt",  "acct_pay",          "psn_cash_pay",    NULL
};

static void jw_money(sb_jw *w, const char *k, sb_fen v)
{
	char b[SB_MONEY_BUF];
	sb_money_format(v, b);
	sb_jw_kstr(w, k, b);
}

/* The explain writer's stream (its JSON of each layer, copied compact into
 * the answer), one per thread and kept: opening a memstream per answer cost
 * more than the layer it held. Unlocked: only its thread writes it (the
 * lock around each of the explain writer's fputc and fprintf was a tenth
 * of a 2206's CPU). Closed when the thread ends. */
typedef struct explain_stream {
	FILE *f;
	char *p;
	size_t n;
} explain_stream;

static pthread_key_t explain_key;
static pthread_once_t explain_once = PTHREAD_ONCE_INIT;

static void explain_stream_free(void *arg)
{
	explain_stream *es = arg;
	fclose(es->f);
	free(es->p);
	free(es);
}

static void explain_key_make(void)
{
	(void)pthread_key_create(&explain_key, explain_stream_free);
}

static explain_stream *explain_stream_get(void)
{
	pthread_once(&explain_once, explain_key_make);
	explain_stream *es = pthread_getspecific(explain_key);
	if (es && !ferror(es->f))
		return es;
	if (es) { /* failed once (out of memory): a new one */
		(void)pthread_setspecific(explain_key, NULL);
		explain_stream_free(es);
	}
	es = calloc(1, sizeof *es);
	if (!es)
		return NULL;
	es->f = open_memstream(&es->p, &es->n);
	if (!es->f || pthread_setspecific(explain_key, es)) {
		if (es->f)
			fclose(es->f);
		free(es->p);
		free(es);
		return NULL;
	}
	__fsetlocking(es->f, FSETLOCKING_BYCALLER);
	return es;
}

/* setlinfo and setldetail of a computed settlement: the output object's
 * text, malloc'ed (NULL when out of memory). Written directly (jsonw.c):
 * the same bytes json_dumps wrote for the tree this was before. */
static char *setl_output(const sb_policyset *set, const sb_serve_req *r, const sb_serve_setl *in,
			 const computed *c, const sb_trace *tr, const char *setl_id, size_t *nout)
{
	const sb_result *res = &c->res;
	sb_fen hifp = 0, hifmi = 0, hifob = 0, cvl = 0, maf = 0, oth = 0;
	sb_jw d = { 0 };
	/* Each layer's setl_proc_info: the explain writer's JSON, into one
	 * stream, then copied compact. */
	explain_stream *es = explain_stream_get();
	FILE *mf = es ? es->f : NULL;
	size_t at0;
	if (mf)
		rewind(mf);
	sb_jw_lit(&d, "[");
	for (uint8_t i = 0; i < res->nlayers; i++) {
		const sb_layer_result *L = &res->layer[i];
		if (!L->applied)
			continue;
		const sb_trace_layer *tl = i < tr->nlayers ? &tr->layer[i] : NULL;
		const char *fc = tl && tl->fund_code ? tl->fund_code : "";
		if (!strcmp(fc, "310100") || !strcmp(fc, "390100"))
			hifp += L->pay;
		else if (!strcmp(fc, "390200"))
			hifmi += L->pay;
		else if (!strcmp(fc, "330100"))
			hifob += L->pay;
		else if (!strcmp(fc, "320100"))
			cvl += L->pay;
		else if (!strcmp(fc, "610100") || !strcmp(fc, "610102"))
			maf += L->pay;
		else
			oth += L->pay;
		sb_jw_comma(&d);
		sb_jw_lit(&d, "{");
		sb_jw_kstr(&d, "fund_pay_type", fc);
		sb_jw_kstr(&d, "fund_pay_type_name", tl && tl->name ? tl->name : "");
		sb_jw_kstr(&d, "layer",
			   tl && tl->id ? tl->id :
					  sb_policyset_symbol_name(set, SB_SYM_LAYER, L->sym));
		jw_money(&d, "inscp_scp_amt", L->base);
		jw_money(&d, "fund_payamt", L->pay);
		if (L->cap >= 0) {
			jw_money(&d, "crt_payb_lmt_amt", L->room - L->pay);
		} else {
			sb_jw_key(&d, "crt_payb_lmt_amt");
			sb_jw_lit(&d, "null");
		}
		sb_jw_key(&d, "setl_proc_info");
		bool info = false;
		if (mf) {
			fflush(mf);
			at0 = es->n;
			sb_explain_json_layer(mf, set, tr, i);
			if (!fflush(mf) && es->n > at0) {
				sb_jw_minify(&d, es->p + at0, es->n - at0);
				info = true;
			}
		}
		if (!info)
			sb_jw_lit(&d, "null");
		sb_jw_lit(&d, "}");
	}
	sb_jw_lit(&d, "]");
	sb_jw w = { 0 };
	sb_jw_lit(&w, "{\"setlinfo\":{");
	sb_jw_kstr(&w, "setl_id", setl_id);
	sb_jw_kstr(&w, "mdtrt_id", in->mdtrt_id);
	sb_jw_kstr(&w, "psn_no", in->psn_no);
	sb_jw_kstr(&w, "insutype", c->person.scheme ? "390" : "310");
	sb_jw_kstr(&w, "med_type", sb_visit_codes[in->visit]);
	char date[16];
	sb_date_format(in->date, date);
	sb_jw_kstr(&w, "setl_time", date);
	jw_money(&w, "medfee_sumamt", in->total);
	jw_money(&w, "fulamt_ownpay_amt", in->total - in->in_scope - in->pre - in->over);
	jw_money(&w, "overlmt_selfpay", in->over);
	jw_money(&w, "preselfpay_amt", in->pre);
	jw_money(&w, "inscp_scp_amt", in->in_scope);
	jw_money(&w, "hifp_pay", hifp);
	jw_money(&w, "hifmi_pay", hifmi);
	jw_money(&w, "hifob_pay", hifob);
	jw_money(&w, "cvlserv_pay", cvl);
	jw_money(&w, "maf_pay", maf);
	jw_money(&w, "oth_pay", oth);
	jw_money(&w, "fund_pay_sumamt", res->fund);
	jw_money(&w, "psn_part_amt", in->total - res->fund);
	jw_money(&w, "acct_pay", 0);
	jw_money(&w, "psn_cash_pay", in->total - res->fund);
	sb_jw_kstr(&w, "medins_setl_id", r->msgid);
	if (tr->has_head) {
		sb_date_format(tr->version_from, date);
		sb_jw_kstr(&w, "version", date);
	} else {
		sb_jw_kstr(&w, "version", NULL);
	}
	sb_jw_kstr(&w, "identity",
		   res->identity < 0 ?
			   "none" :
			   sb_policyset_symbol_name(set, SB_SYM_IDENTITY, res->identity));
	sb_jw_kint(&w, "policy_year", res->year);
	sb_jw_lit(&w, "},\"setldetail\":");
	if (d.p)
		sb_jw_raw(&w, d.p, d.n);
	sb_jw_lit(&w, "}");
	bool oom = w.oom || d.oom;
	free(d.p);
	if (oom) {
		free(w.p);
		return NULL;
	}
	*nout = w.n;
	return w.p;
}

static bool settlement_input(sb_service *S, const sb_serve_req *r, sb_serve_setl *in,
			     const sb_facility **f, char *err, size_t cap)
{
	if (!sb_serve_setl_parse(r->input, today(), in, err, cap))
		return false;
	bool inpatient = !strcmp(r->infno, "2303") || !strcmp(r->infno, "2304");
	if (inpatient != (in->visit == SB_VISIT_INPATIENT)) {
		snprintf(err, cap, "field med_type %s does not fit transaction %s (%s)",
			 sb_visit_codes[in->visit], r->infno,
			 inpatient ? "inpatient: 21" : "outpatient: 11, 14 or 41");
		return false;
	}
	*f = sb_service_facility(S, r->fixmedins_code);
	if (r->mdtrtarea_admvs[0] && strcmp(r->mdtrtarea_admvs, (*f)->region)) {
		snprintf(err, cap, "field mdtrtarea_admvs %s is not the region %s of facility %s",
			 r->mdtrtarea_admvs, (*f)->region, r->fixmedins_code);
		return false;
	}
	return true;
}

/* 2206, 2303: on a read connection. */
static int tx_presettle(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_serve_req *r,
			char **resp)
{
	sb_serve_setl in;
	const sb_facility *f;
	char err[1400];
	if (!settlement_input(S, r, &in, &f, err, sizeof err))
		return fail(S, resp, "%s", err);
	sb_trace *tr = thread_trace();
	computed *c = sb_malloc(sizeof *c);
	sb_acc before, acc;
	sb_acc_init(&before);
	sb_acc_init(&acc);
	int rc = 0, st;
	if (!tr || !c) {
		st = 503;
		*resp = sb_service_envelope(S, -1, "out of memory", NULL);
	} else if (sb_serve_exec(db, "BEGIN"), !compute(S, db, set, r, &in, f, &before, &acc, true,
							tr, c, err, sizeof err, &rc)) {
		st = rc ? 503 : fail(S, resp, "%s", err);
		if (rc)
			*resp = sb_service_envelope(S, -1, err, NULL);
	} else {
		size_t no = 0;
		char *o = setl_output(set, r, &in, c, tr, NULL, &no);
		*resp = o ? envelope_text(S, 0, NULL, o, no) : NULL;
		free(o);
		st = *resp ? 200 : 503;
	}
	sb_serve_exec(db, "COMMIT");
	sb_acc_release(&before);
	sb_acc_release(&acc);
	sb_free(c);
	return st;
}

static int exec1(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c)
{
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db, sql, &s);
	if (rc)
		return rc;
	if (a)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
	if (c)
		sqlite3_bind_text(s, 3, c, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sb_serve_stmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Stores the answer of a state-changing transaction under its msgid. */
static int remember(sqlite3 *db, const sb_serve_req *r, const char *resp, const char *setl_id)
{
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db, "INSERT INTO msgs VALUES(?,?,?,?,200,?,?,?)", &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->infno, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->input_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, resp, -1, SQLITE_STATIC);
	if (setl_id)
		sqlite3_bind_text(s, 6, setl_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	sb_serve_stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void layers_text(const sb_policyset *set, const computed *c, const sb_trace *tr, char *out,
			size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (uint8_t i = 0; i < c->res.nlayers; i++) {
		const sb_layer_result *L = &c->res.layer[i];
		if (!L->applied)
			continue;
		const char *id = i < tr->nlayers && tr->layer[i].id ?
					 tr->layer[i].id :
					 sb_policyset_symbol_name(set, SB_SYM_LAYER, L->sym);
		char m[SB_MONEY_BUF];
		sb_money_format(L->pay, m);
		int k = snprintf(out + n, cap - n, "%s%s=%s", n ? ";" : "", id, m);
		if (k < 0 || (size_t)k >= cap - n)
			break;
		n += (size_t)k;
	}
}

/* With SB_SERVE_PREPARE=1 in the environment (S->prepare; off by default:
 * see below), a settlement prepared in the HTTP thread (prepare_settle),
 * before the writer sees it: settled on the accumulators the store held then, its
 * number taken, its answer written and hashed. The writer takes it as it
 * is when nothing it was settled on has changed since (prepared_holds):
 * the same policies, the same person, byte for byte the same stored
 * accumulators, and a number above every settlement stored before it (so
 * that seq order stays commit order); else it settles the claim itself as
 * before. Settlement is a function of those inputs, so the result is the
 * one the writer would compute: what moves out of the writer's one thread
 * is the settling, the answer's text and its SM3 (about half its work:
 * 189 k instructions a settlement instead of 423 k). It costs more CPU in
 * all (the HTTP thread's read transaction: a read connection drops its
 * page cache at every commit and reads the accumulators' pages again):
 * on 2 cores shared with other jobs, 145 us a settlement against 118 us
 * without it, and fewer settlements a second; it can pay only where the
 * writer's one thread, not the CPU, is what limits. */
struct sb_prepared {
	unsigned long long set_gen;
	sb_serve_setl in;
	const sb_facility *f;
	computed c;
	uint8_t *raw; /* the accumulators' stored bytes it was settled on */
	size_t nraw;
	sb_acc after, delta;
	long long seq;
	char setl_id[32];
	char layers[2048], version[16];
	char *resp;
	char resp_sm3[65];
};

static void prepared_free(sb_prepared *p)
{
	if (!p)
		return;
	free(p->raw);
	free(p->resp);
	sb_acc_release(&p->after);
	sb_acc_release(&p->delta);
	free(p);
}

/* The settlement's number: from one counter (started above the store's
 * largest), so that a number is never taken twice; a number whose
 * settlement is refused or rolled back is left unused. */
static long long next_seq(sb_service *S)
{
	return (long long)atomic_fetch_add(&S->next_seq, 1);
}

/* In the HTTP thread, under the policies' read lock, on its read
 * connection: NULL when anything is off (the writer then does it all,
 * refusals included). */
static sb_prepared *prepare_settle(sb_service *S, sqlite3 *db, const sb_policyset *set,
				   const sb_serve_req *r)
{
	sb_prepared *p = calloc(1, sizeof *p);
	sb_trace *tr = thread_trace();
	sb_acc before;
	sb_acc_init(&before);
	char err[1400];
	int rc = 0;
	bool ok = p && tr && settlement_input(S, r, &p->in, &p->f, err, sizeof err);
	if (ok) {
		p->set_gen = S->set_gen;
		ok = !sb_serve_exec(db, "BEGIN") &&
		     compute_raw(S, db, set, r, &p->in, p->f, &before, &p->after, &p->raw, &p->nraw,
				 true, tr, &p->c, err, sizeof err, &rc);
		sb_serve_exec(db, "COMMIT");
	}
	ok = ok && sb_serve_acc_delta(&before, &p->after, &p->delta);
	if (ok) {
		p->seq = next_seq(S);
		snprintf(p->setl_id, sizeof p->setl_id, "SB%012lld", p->seq);
		layers_text(set, &p->c, tr, p->layers, sizeof p->layers);
		if (tr->has_head)
			sb_date_format(tr->version_from, p->version);
		size_t no = 0;
		char *o = setl_output(set, r, &p->in, &p->c, tr, p->setl_id, &no);
		p->resp = o ? envelope_text(S, 0, NULL, o, no) : NULL;
		free(o);
		ok = p->resp != NULL;
		if (ok)
			sb_serve_sm3_hex(p->resp, strlen(p->resp), p->resp_sm3);
	}
	sb_acc_release(&before);
	if (!ok) {
		prepared_free(p);
		return NULL;
	}
	return p;
}

/* Whether p still holds in the writer's transaction: the same policies,
 * the same person, the same stored accumulators, and no settlement of the
 * person stored since with a larger number (one that left the
 * accumulators as they were would otherwise come before it in seq order
 * having been settled after it). Persons share no accumulators (the
 * service refuses household layers), so only each person's order counts. */
static bool prepared_holds(sb_service *S, sqlite3 *db, const sb_policyset *set,
			   const sb_prepared *p)
{
	if (!p || p->set_gen != S->set_gen)
		return false;
	sb_person now;
	if (sb_serve_person_load(db, set, p->in.psn_no, &now, NULL, 0) ||
	    memcmp(&now, &p->c.person, sizeof now))
		return false;
	int rc;
	if (!sb_serve_acc_same(db, p->in.psn_no, p->raw, p->nraw, &rc))
		return false;
	sqlite3_stmt *s;
	if (sb_serve_stmt(db, "SELECT 1 FROM settlements WHERE psn_no=? AND seq>? LIMIT 1", &s))
		return false;
	sqlite3_bind_text(s, 1, p->in.psn_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, p->seq);
	bool later = sqlite3_step(s) != SQLITE_DONE;
	sb_serve_stmt_done(s);
	return !later;
}

/* The settlement's rows: the settlement, the person's accumulators, the
 * answer under its msgid and the audit record (resp_sm3: the answer's SM3,
 * or NULL to compute it). */
static int store_settlement(sqlite3 *db, const sb_policyset *set, const sb_token *tk,
			    const sb_serve_req *r, const sb_serve_setl *in, const sb_facility *f,
			    const computed *c, const sb_acc *acc, const sb_acc *delta,
			    const char *layers, const char *version, long long seq,
			    const char *setl_id, const char *resp, const char *resp_sm3, int *dbrc)
{
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(
		db,
		"INSERT INTO settlements(seq, setl_id, fixmedins_code, msgid, infno, psn_no,"
		" mdtrt_id, insutype, visit, level, place, care_region, filing,"
		" dise_codg, setl_date, total, in_scope, pre, over, out, has_out, fund,"
		" oop, oop_in_scope, identity, version, policy_year, region, layers,"
		" delta, status) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		"?,?,?,?,?,?,'settled')",
		&s);
	if (rc) {
		*dbrc = rc;
		return 503;
	}
	size_t dn = sb_acc_encoded_size(delta), dlen = 0;
	uint8_t *dbuf = sb_malloc(dn);
	sb_diag d;
	if (!dbuf || sb_acc_encode(delta, dbuf, dn, &dlen, &d)) {
		sb_free(dbuf);
		sb_serve_stmt_done(s);
		*dbrc = SQLITE_NOMEM;
		return 503;
	}
	const char *ident = c->res.identity < 0 ?
				    "none" :
				    sb_policyset_symbol_name(set, SB_SYM_IDENTITY, c->res.identity);
	int k = 1;
	sqlite3_bind_int64(s, k++, seq);
	sqlite3_bind_text(s, k++, setl_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, r->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, r->infno, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, in->psn_no, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, in->mdtrt_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, c->person.scheme ? "390" : "310", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, k++, in->visit);
	sqlite3_bind_text(s, k++, f->level, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, k++, c->place);
	sqlite3_bind_text(s, k++, f->region, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, k++, in->filing);
	sqlite3_bind_text(s, k++, in->dise_codg, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, k++, in->date);
	sqlite3_bind_int64(s, k++, in->total);
	sqlite3_bind_int64(s, k++, in->in_scope);
	sqlite3_bind_int64(s, k++, in->pre);
	sqlite3_bind_int64(s, k++, in->over);
	sqlite3_bind_int64(s, k++, in->out);
	sqlite3_bind_int(s, k++, in->has_out);
	sqlite3_bind_int64(s, k++, c->res.fund);
	sqlite3_bind_int64(s, k++, c->res.oop);
	sqlite3_bind_int64(s, k++, c->res.oop_in_scope);
	sqlite3_bind_text(s, k++, ident, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, version, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, k++, c->res.year);
	sqlite3_bind_text(s, k++, c->person.region, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, k++, layers, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, k++, dbuf, (int)dlen, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sb_serve_stmt_done(s);
	sb_free(dbuf);
	if (rc != SQLITE_DONE) {
		*dbrc = rc;
		return 503;
	}
	/* The answer is kept once, under the msgid (msgs.response): 5203,
	 * cancels and export read the settlement's output from there. */
	if ((rc = sb_serve_acc_store(db, in->psn_no, acc)) ||
	    (rc = remember(db, r, resp, setl_id)) ||
	    (rc = resp_sm3 ? sb_serve_audit_hh(db, tk->name, r->infno, r->msgid, r->opter,
					       r->body_sm3, resp_sm3) :
			     sb_serve_audit_h(db, tk->name, r->infno, r->msgid, r->opter,
					      r->body_sm3, resp, strlen(resp)))) {
		*dbrc = rc;
		return 503;
	}
	return 200;
}

/* 2207, 2304 in the writer's transaction: as prepared (p) when that still
 * holds, else settled here. */
static int tx_settle(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_token *tk,
		     const sb_serve_req *r, sb_prepared *p, char **resp, int *dbrc)
{
	bool holds = prepared_holds(S, db, set, p);
	sb_metrics_prepared(&S->metrics, p != NULL, holds);
	if (holds) {
		int st = store_settlement(db, set, tk, r, &p->in, p->f, &p->c, &p->after, &p->delta,
					  p->layers, p->version, p->seq, p->setl_id, p->resp,
					  p->resp_sm3, dbrc);
		if (st == 200) {
			*resp = p->resp;
			p->resp = NULL;
		}
		return st;
	}
	sb_serve_setl in;
	const sb_facility *f;
	char err[1400];
	if (!settlement_input(S, r, &in, &f, err, sizeof err))
		return fail(S, resp, "%s", err);
	sb_trace *tr = S->wtrace;
	computed *c = S->wcomp;
	sb_acc *before = &S->wbefore, *acc = &S->wacc, *delta = &S->wdelta;
	int rc = 0;
	if (!compute(S, db, set, r, &in, f, before, acc, false, tr, c, err, sizeof err, &rc)) {
		*dbrc = rc;
		return fail(S, resp, "%s", err);
	}
	if (!sb_serve_acc_delta(before, acc, delta)) {
		*dbrc = SQLITE_NOMEM;
		return fail(S, resp, "the accumulators could not be advanced");
	}
	long long seq = next_seq(S);
	char setl_id[32];
	snprintf(setl_id, sizeof setl_id, "SB%012lld", seq);
	char layers[2048], version[16] = "";
	layers_text(set, c, tr, layers, sizeof layers);
	if (tr->has_head)
		sb_date_format(tr->version_from, version);
	size_t no = 0;
	char *o = setl_output(set, r, &in, c, tr, setl_id, &no);
	*resp = o ? envelope_text(S, 0, NULL, o, no) : NULL;
	free(o);
	if (!*resp) {
		*dbrc = SQLITE_NOMEM;
		return 503;
	}
	return store_settlement(db, set, tk, r, &in, f, c, acc, delta, layers, version, seq,
				setl_id, *resp, NULL, dbrc);
}

/* Takes a settlement's additions off (sign -1) or puts them back (+1). */
static int move_settlement(sqlite3 *db, long long seq, const char *psn_no, int sign,
			   const char *status, const char *ref, char *err, size_t cap)
{
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db, "SELECT delta FROM settlements WHERE seq=?", &s);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, seq);
	sb_acc delta, acc;
	sb_acc_init(&delta);
	sb_acc_init(&acc);
	rc = sqlite3_step(s);
	sb_diag d;
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 0);
		rc = n && sb_acc_decode(&delta, sqlite3_column_blob(s, 0), (size_t)n, &d) ?
			     SQLITE_CORRUPT :
			     SQLITE_OK;
	}
	sb_serve_stmt_done(s);
	if (!rc)
		rc = sb_serve_acc_load(db, psn_no, &acc, err, cap);
	if (!rc && !sb_serve_acc_apply(&acc, &delta, sign))
		rc = SQLITE_CORRUPT;
	if (!rc)
		rc = sb_serve_acc_store(db, psn_no, &acc);
	if (!rc) {
		char seqs[32];
		snprintf(seqs, sizeof seqs, "%lld", seq);
		rc = exec1(db, "UPDATE settlements SET status=?, cancel_ref=? WHERE seq=?", status,
			   ref, seqs);
	}
	sb_acc_release(&delta);
	sb_acc_release(&acc);
	return rc;
}

typedef struct setl_row {
	long long seq;
	char fac[33], infno[5], psn[19], status[16], msgid[65];
	json_t *output;
} setl_row;

static int find_setl(sqlite3 *db, const char *setl_id, setl_row *row)
{
	sqlite3_stmt *s;
	memset(row, 0, sizeof *row);
	int rc = sb_serve_stmt(db,
			       "SELECT s.seq, s.fixmedins_code, s.infno, s.psn_no, s.status,"
			       " m.response, s.msgid FROM settlements s LEFT JOIN msgs m ON"
			       " m.fixmedins_code=s.fixmedins_code AND m.msgid=s.msgid WHERE"
			       " s.setl_id=?",
			       &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, setl_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row->seq = sqlite3_column_int64(s, 0);
		snprintf(row->fac, sizeof row->fac, "%s", ctext(s, 1));
		snprintf(row->infno, sizeof row->infno, "%s", ctext(s, 2));
		snprintf(row->psn, sizeof row->psn, "%s", ctext(s, 3));
		snprintf(row->status, sizeof row->status, "%s", ctext(s, 4));
		json_t *resp = json_loads(ctext(s, 5), 0, NULL);
		row->output = json_incref(json_object_get(resp, "output"));
		json_decref(resp);
		snprintf(row->msgid, sizeof row->msgid, "%s", ctext(s, 6));
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_NOTFOUND;
	}
	sb_serve_stmt_done(s);
	return rc;
}

static json_t *negated(json_t *setlinfo)
{
	json_t *o = json_deep_copy(setlinfo);
	for (int i = 0; money_fields[i]; i++) {
		const char *v = json_string_value(json_object_get(o, money_fields[i]));
		sb_fen fen;
		const char *why;
		if (v && !sb_money_parse(v, strlen(v), &fen, &why))
			json_object_set_new(o, money_fields[i], jmoney(-fen));
	}
	return o;
}

/* 2208, 2305. */
static int tx_cancel(sb_service *S, sqlite3 *db, const sb_token *tk, const sb_serve_req *r,
		     char **resp, int *dbrc)
{
	char err[600] = "";
	const char *setl_id = sb_serve_str(r->input, "setl_id", 64, true, err, sizeof err);
	const char *psn = err[0] ? "" : sb_serve_str(r->input, "psn_no", 18, true, err, sizeof err);
	const char *mdtrt =
		err[0] ? "" : sb_serve_str(r->input, "mdtrt_id", 64, true, err, sizeof err);
	if (err[0])
		return fail(S, resp, "%s", err);
	setl_row row;
	int rc = find_setl(db, setl_id, &row);
	const char *smdtrt = json_string_value(
		json_object_get(json_object_get(row.output, "setlinfo"), "mdtrt_id"));
	if (!rc && (!smdtrt || strcmp(smdtrt, mdtrt))) {
		json_decref(row.output);
		return fail(S, resp, "field mdtrt_id is not the visit of settlement %s", setl_id);
	}
	if (rc == SQLITE_NOTFOUND || (!rc && strcmp(row.psn, psn))) {
		json_decref(row.output);
		return fail(S, resp, "field setl_id: no settlement %s of this person", setl_id);
	}
	if (rc) {
		*dbrc = rc;
		return 503;
	}
	int st;
	const char *want = !strcmp(r->infno, "2208") ? "2207" : "2304";
	if (strcmp(row.fac, r->fixmedins_code)) {
		st = fail(S, resp,
			  "field setl_id: settlement %s was made by another facility; only "
			  "the facility that settled may cancel it",
			  setl_id);
	} else if (strcmp(row.infno, want)) {
		st = fail(S, resp,
			  "field setl_id: settlement %s is a %s settlement; cancel it with "
			  "%s",
			  setl_id, row.infno, !strcmp(row.infno, "2207") ? "2208" : "2305");
	} else if (strcmp(row.status, "settled")) {
		st = fail(S, resp, "field setl_id: settlement %s is already cancelled", setl_id);
	} else {
		char ref[80];
		snprintf(ref, sizeof ref, "%s:%s", r->infno, r->msgid);
		if ((rc = move_settlement(db, row.seq, row.psn, -1, "cancelled", ref, err,
					  sizeof err))) {
			json_decref(row.output);
			*dbrc = rc;
			return 503;
		}
		json_t *out = json_object();
		json_object_set_new(out, "setlinfo",
				    negated(json_object_get(row.output, "setlinfo")));
		json_t *later = json_array();
		sqlite3_stmt *s;
		if (!sb_serve_stmt(db,
				   "SELECT setl_id FROM settlements WHERE psn_no=? AND seq>?"
				   " AND status='settled' ORDER BY seq",
				   &s)) {
			sqlite3_bind_text(s, 1, row.psn, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, row.seq);
			while (sqlite3_step(s) == SQLITE_ROW)
				json_array_append_new(later, json_string(ctext(s, 0)));
			sb_serve_stmt_done(s);
		}
		json_object_set_new(out, "later_settlements", later);
		*resp = sb_service_envelope(S, 0, NULL, out);
		st = 200;
		if ((rc = remember(db, r, *resp, setl_id)) ||
		    (rc = sb_serve_audit_h(db, tk->name, r->infno, r->msgid, r->opter, r->body_sm3,
					   *resp, strlen(*resp)))) {
			*dbrc = rc;
			st = 503;
		}
	}
	json_decref(row.output);
	return st;
}

/* 2601. */
static int tx_reverse(sb_service *S, sqlite3 *db, const sb_token *tk, const sb_serve_req *r,
		      char **resp, int *dbrc)
{
	char err[600] = "";
	const char *omsgid = sb_serve_str(r->input, "omsgid", 64, true, err, sizeof err);
	const char *oinfno =
		err[0] ? "" : sb_serve_str(r->input, "oinfno", 4, true, err, sizeof err);
	const char *psn = err[0] ? "" : sb_serve_str(r->input, "psn_no", 18, true, err, sizeof err);
	if (err[0])
		return fail(S, resp, "%s", err);
	if (strcmp(oinfno, "2207") && strcmp(oinfno, "2304") && strcmp(oinfno, "2208") &&
	    strcmp(oinfno, "2305"))
		return fail(S, resp,
			    "field oinfno must be 2207, 2304, 2208 or 2305 (the "
			    "transactions that change a settlement)");
	const char *result = NULL;
	int rc;
	sqlite3_stmt *s;
	/* Reversed before? */
	if ((rc = sb_serve_stmt(db,
				"SELECT oinfno FROM reversals WHERE fixmedins_code=? AND"
				" omsgid=?",
				&s))) {
		*dbrc = rc;
		return 503;
	}
	sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, omsgid, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		result = "already_reversed";
	sb_serve_stmt_done(s);
	char oinf[8] = "", setl_id[64] = "";
	bool found = false;
	if (!result) {
		if ((rc = sb_serve_stmt(db,
					"SELECT infno, setl_id FROM msgs WHERE"
					" fixmedins_code=? AND msgid=?",
					&s))) {
			*dbrc = rc;
			return 503;
		}
		sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, omsgid, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			found = true;
			snprintf(oinf, sizeof oinf, "%s", ctext(s, 0));
			snprintf(setl_id, sizeof setl_id, "%s", ctext(s, 1));
		}
		sb_serve_stmt_done(s);
	}
	if (!result && found) {
		if (strcmp(oinf, oinfno))
			return fail(S, resp, "field oinfno: message %s was a %s, not a %s", omsgid,
				    oinf, oinfno);
		setl_row row;
		if ((rc = find_setl(db, setl_id, &row))) {
			*dbrc = rc;
			return 503;
		}
		if (strcmp(row.psn, psn)) {
			json_decref(row.output);
			return fail(S, resp, "field psn_no is not the person of message %s",
				    omsgid);
		}
		bool settle = !strcmp(oinf, "2207") || !strcmp(oinf, "2304");
		char ref[80];
		snprintf(ref, sizeof ref, "2601:%s", r->msgid);
		if (settle && strcmp(row.status, "settled")) {
			json_decref(row.output);
			return fail(S, resp,
				    "settlement %s of message %s is already cancelled (%s): "
				    "nothing of it is in force",
				    setl_id, omsgid, "see 5203");
		}
		if (!settle && !strcmp(row.status, "settled")) {
			json_decref(row.output);
			return fail(S, resp,
				    "the cancel %s no longer holds: settlement %s is in force",
				    omsgid, setl_id);
		}
		rc = settle ? move_settlement(db, row.seq, row.psn, -1, "cancelled", ref, err,
					      sizeof err) :
			      move_settlement(db, row.seq, row.psn, +1, "settled", "", err,
					      sizeof err);
		json_decref(row.output);
		if (rc) {
			*dbrc = rc;
			return 503;
		}
		result = "reversed";
	} else if (!result) {
		result = "nothing_to_reverse";
	}
	if (strcmp(result, "already_reversed") &&
	    (rc = exec1(db, "INSERT INTO reversals VALUES(?,?,?,NULL)", r->fixmedins_code, omsgid,
			oinfno))) {
		*dbrc = rc;
		return 503;
	}
	json_t *out = json_object();
	json_object_set_new(out, "omsgid", json_string(omsgid));
	json_object_set_new(out, "oinfno", json_string(oinfno));
	json_object_set_new(out, "result", json_string(result));
	*resp = sb_service_envelope(S, 0, NULL, out);
	if ((rc = remember(db, r, *resp, setl_id[0] ? setl_id : NULL)) ||
	    (rc = sb_serve_audit_h(db, tk->name, r->infno, r->msgid, r->opter, r->body_sm3, *resp,
				   strlen(*resp)))) {
		*dbrc = rc;
		return 503;
	}
	return 200;
}

/* The writer's part of a transaction: the msgid first. */
static int tx_write(sb_service *S, sqlite3 *db, const sb_policyset *set, sb_job *j, int *dbrc)
{
	const sb_serve_req *r = j->req;
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db,
			       "SELECT input_hash, http, response FROM msgs WHERE"
			       " fixmedins_code=? AND msgid=?",
			       &s);
	if (rc) {
		*dbrc = rc;
		return 503;
	}
	sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->msgid, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		int st;
		j->replay = true;
		if (!strcmp(ctext(s, 0), r->input_hash)) {
			st = sqlite3_column_int(s, 1);
			j->resp = strdup(ctext(s, 2));
		} else {
			st = 409;
			j->resp = sb_service_envelope(
				S, -1,
				"field msgid: this msgid was used before "
				"with a different body; use a new msgid for a new transaction",
				NULL);
		}
		sb_serve_stmt_done(s);
		return st;
	}
	sb_serve_stmt_done(s);
	/* A message reversed before it arrived is refused. */
	if ((rc = sb_serve_stmt(db,
				"SELECT oinfno FROM reversals WHERE fixmedins_code=? AND"
				" omsgid=?",
				&s))) {
		*dbrc = rc;
		return 503;
	}
	sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->msgid, -1, SQLITE_STATIC);
	bool reversed = sqlite3_step(s) == SQLITE_ROW;
	sb_serve_stmt_done(s);
	if (reversed)
		return fail(S, &j->resp,
			    "field msgid: message %s was reversed (冲正, 2601) before it "
			    "arrived; it is refused and changes nothing",
			    r->msgid);
	if (!strcmp(r->infno, "2207") || !strcmp(r->infno, "2304"))
		return tx_settle(S, db, set, j->tok, r, j->pre, &j->resp, dbrc);
	if (!strcmp(r->infno, "2208") || !strcmp(r->infno, "2305"))
		return tx_cancel(S, db, j->tok, r, &j->resp, dbrc);
	return tx_reverse(S, db, j->tok, r, &j->resp, dbrc);
}

/* ---- reads -------------------------------------------------------------------- */

static int tx_person(sb_service *S, sqlite3 *db, const sb_policyset *set, const sb_serve_req *r,
		     char **resp)
{
	char err[600] = "";
	const char *psn = sb_serve_str(r->input, "psn_no", 18, true, err, sizeof err);
	if (err[0])
		return fail(S, resp, "%s", err);
	sb_person p;
	char hh[128];
	int rc = sb_serve_person_load(db, set, psn, &p, hh, sizeof hh);
	char m[SB_ID_LEN + 1];
	sb_id_mask(psn, strlen(psn), m);
	if (rc == SQLITE_NOTFOUND)
		return fail(S, resp, "field psn_no: person %s is not enrolled", m);
	if (rc)
		return 503;
	json_t *b = json_object();
	json_object_set_new(b, "psn_no", json_string(psn));
	json_object_set_new(b, "certno", json_string(m));
	sb_date t = today();
	bool known = p.birth != SB_BIRTH_UNKNOWN && psn[0] != 'P';
	json_object_set_new(b, "brdy", known ? jdate(p.birth) : json_null());
	json_object_set_new(b, "age", known ? json_integer(sb_age_years(p.birth, t)) : json_null());
	json_object_set_new(b, "gend",
			    known ? json_string((psn[16] - '0') % 2 ? "1" : "2") : json_null());
	json_t *ins = json_object();
	json_object_set_new(ins, "insutype", json_string(p.scheme ? "390" : "310"));
	json_object_set_new(ins, "insuplc_admdvs", json_string(p.region));
	json_object_set_new(ins, "psn_type",
			    json_string(p.employment == 1 ? "retired" :
					p.employment == 0 ? "active" :
							    ""));
	json_t *ids = json_array();
	for (uint16_t i = 0; i < p.nidents; i++) {
		json_t *e = json_object();
		const char *w =
			p.idents[i].sym >= 0 ?
				sb_policyset_symbol_name(set, SB_SYM_IDENTITY, p.idents[i].sym) :
				"?";
		json_object_set_new(e, "psn_idet_type", json_string(w));
		json_object_set_new(e, "begntime", jdate(p.idents[i].from));
		json_object_set_new(e, "endtime",
				    p.idents[i].to == INT32_MAX ? json_null() :
								  jdate(p.idents[i].to));
		json_array_append_new(ids, e);
	}
	json_t *out = json_object();
	json_object_set_new(out, "baseinfo", b);
	json_object_set_new(out, "insuinfo", ins);
	json_object_set_new(out, "idetinfo", ids);
	*resp = sb_service_envelope(S, 0, NULL, out);
	return 200;
}

static int tx_query(sb_service *S, sqlite3 *db, const sb_token *tk, const sb_serve_req *r,
		    char **resp)
{
	char err[600] = "";
	const char *setl_id = sb_serve_str(r->input, "setl_id", 64, true, err, sizeof err);
	const char *psn = err[0] ? "" : sb_serve_str(r->input, "psn_no", 18, true, err, sizeof err);
	if (err[0])
		return fail(S, resp, "%s", err);
	setl_row row;
	int rc = find_setl(db, setl_id, &row);
	if (rc && rc != SQLITE_NOTFOUND)
		return 503;
	int st;
	/* A hospital sees only its own settlements: another's is "not found". */
	if (rc || strcmp(row.psn, psn) || !sb_service_may_act(tk, row.fac) || !row.output) {
		st = fail(S, resp,
			  "field setl_id: no settlement %s of this person at this "
			  "facility",
			  setl_id);
	} else {
		json_t *out = json_object();
		json_object_set(out, "setlinfo", json_object_get(row.output, "setlinfo"));
		json_object_set(out, "setldetail", json_object_get(row.output, "setldetail"));
		json_object_set_new(out, "status", json_string(row.status));
		*resp = sb_service_envelope(S, 0, NULL, out);
		st = 200;
	}
	json_decref(row.output);
	return st;
}

static bool period(const sb_serve_req *r, sb_date *from, sb_date *to, char *err, size_t cap)
{
	const char *names[2] = { "stmt_begndate", "stmt_enddate" };
	sb_date *v[2] = { from, to };
	for (int i = 0; i < 2; i++) {
		const char *s = sb_serve_str(r->input, names[i], 32, true, err, cap);
		const char *why;
		if (err[0])
			return false;
		if (sb_date_parse(s, strlen(s), 1, v[i], &why)) {
			snprintf(err, cap, "field %s: date %s", names[i], why);
			return false;
		}
	}
	if (*to < *from) {
		snprintf(err, cap, "field stmt_enddate is before stmt_begndate");
		return false;
	}
	return true;
}

static int tx_statement(sb_service *S, sqlite3 *db, const sb_serve_req *r, char **resp)
{
	char err[600] = "";
	sb_date from, to;
	const char *insutype = sb_serve_str(r->input, "insutype", 3, true, err, sizeof err);
	if (err[0] || !period(r, &from, &to, err, sizeof err))
		return fail(S, resp, "%s", err);
	if (strcmp(insutype, "310") && strcmp(insutype, "390"))
		return fail(S, resp, "field insutype must be 310 or 390");
	bool detail = !strcmp(r->infno, "3202");
	sb_fen med = 0, fund = 0;
	long long cnt = 0;
	const json_t *list = NULL;
	if (detail) {
		list = json_object_get(r->input, "details");
		if (!json_is_array(list))
			return fail(S, resp,
				    "field details must be a list of {setl_id, msgid, "
				    "medfee_sumamt, fund_pay_sumamt}");
		for (size_t i = 0; i < json_array_size(list); i++) {
			const json_t *e = json_array_get(list, i);
			char e2[400] = "";
			sb_fen a, b;
			if (!json_is_object(e)) {
				snprintf(err, sizeof err, "field details[%zu] must be an object",
					 i);
			} else {
				(void)sb_serve_str(e, "setl_id", 64, true, e2, sizeof e2);
				if (!e2[0])
					(void)(sb_serve_money(e, "medfee_sumamt", true, &a, NULL,
							      e2, sizeof e2) &&
					       sb_serve_money(e, "fund_pay_sumamt", true, &b, NULL,
							      e2, sizeof e2));
				if (e2[0])
					snprintf(err, sizeof err, "details[%zu]: %s", i, e2);
			}
			if (err[0])
				return fail(S, resp, "%s", err);
		}
	} else if (!sb_serve_money(r->input, "medfee_sumamt", true, &med, NULL, err, sizeof err) ||
		   !sb_serve_money(r->input, "fund_pay_sumamt", true, &fund, NULL, err,
				   sizeof err)) {
		return fail(S, resp, "%s", err);
	} else {
		const json_t *c = json_object_get(r->input, "fixmedins_setl_cnt");
		if (!json_is_integer(c) || json_integer_value(c) < 0)
			return fail(S, resp,
				    "field fixmedins_setl_cnt must be a whole number >= 0");
		cnt = json_integer_value(c);
	}
	sqlite3_stmt *s;
	if (sb_serve_stmt(db,
			  "SELECT setl_id, total, fund FROM settlements WHERE"
			  " fixmedins_code=? AND insutype=? AND setl_date BETWEEN ? AND ?"
			  " AND status='settled' ORDER BY seq",
			  &s))
		return 503;
	sqlite3_bind_text(s, 1, r->fixmedins_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, insutype, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, from);
	sqlite3_bind_int(s, 4, to);
	sb_fen cmed = 0, cfund = 0;
	long long ccnt = 0;
	json_t *center = json_object(); /* setl_id -> [total, fund] */
	while (sqlite3_step(s) == SQLITE_ROW) {
		sb_fen t = sqlite3_column_int64(s, 1), f = sqlite3_column_int64(s, 2);
		cmed += t;
		cfund += f;
		ccnt++;
		if (detail)
			json_object_set_new(center, ctext(s, 0),
					    json_pack("[II]", (json_int_t)t, (json_int_t)f));
	}
	sb_serve_stmt_done(s);
	json_t *out = json_object();
	if (!detail) {
		int rs = med == cmed && fund == cfund && cnt == ccnt ? 0 :
			 ccnt > cnt                                  ? 1 :
			 cnt > ccnt                                  ? 2 :
								       3;
		static const char *const dscr[] = { "对平", "中心多", "医药机构多", "数据不一致" };
		json_t *si = json_object();
		json_object_set_new(si, "stmt_rslt",
				    json_string((const char *[]){ "0", "1", "2", "3" }[rs]));
		json_object_set_new(si, "stmt_rslt_dscr", json_string(dscr[rs]));
		json_object_set_new(si, "medfee_sumamt", jmoney(cmed));
		json_object_set_new(si, "fund_pay_sumamt", jmoney(cfund));
		json_object_set_new(si, "fixmedins_setl_cnt", json_integer(ccnt));
		json_object_set_new(out, "stmtinfo", si);
	} else {
		json_t *only_c = json_array(), *only_f = json_array(), *differ = json_array();
		json_t *seen = json_object();
		for (size_t i = 0; i < json_array_size(list); i++) {
			const json_t *e = json_array_get(list, i);
			const char *id = json_string_value(json_object_get(e, "setl_id"));
			sb_fen a, b;
			char e2[64];
			(void)sb_serve_money(e, "medfee_sumamt", true, &a, NULL, e2, sizeof e2);
			(void)sb_serve_money(e, "fund_pay_sumamt", true, &b, NULL, e2, sizeof e2);
			json_object_set_new(seen, id, json_true());
			json_t *cv = json_object_get(center, id);
			json_t *x = json_object();
			json_object_set_new(x, "setl_id", json_string(id));
			json_object_set_new(x, "fixmedins_medfee_sumamt", jmoney(a));
			json_object_set_new(x, "fixmedins_fund_pay_sumamt", jmoney(b));
			if (!cv) {
				json_array_append_new(only_f, x);
				continue;
			}
			sb_fen ct = (sb_fen)json_integer_value(json_array_get(cv, 0));
			sb_fen cf = (sb_fen)json_integer_value(json_array_get(cv, 1));
			if (ct == a && cf == b) {
				json_decref(x);
				continue;
			}
			json_object_set_new(x, "center_medfee_sumamt", jmoney(ct));
			json_object_set_new(x, "center_fund_pay_sumamt", jmoney(cf));
			json_array_append_new(differ, x);
		}
		const char *key;
		json_t *cv;
		json_object_foreach(center, key, cv)
		{
			if (json_object_get(seen, key))
				continue;
			json_t *x = json_object();
			json_object_set_new(x, "setl_id", json_string(key));
			json_object_set_new(x, "center_medfee_sumamt",
					    jmoney((sb_fen)json_integer_value(
						    json_array_get(cv, 0))));
			json_object_set_new(x, "center_fund_pay_sumamt",
					    jmoney((sb_fen)json_integer_value(
						    json_array_get(cv, 1))));
			json_array_append_new(only_c, x);
		}
		json_decref(seen);
		json_object_set_new(out, "only_center", only_c);
		json_object_set_new(out, "only_facility", only_f);
		json_object_set_new(out, "differ", differ);
	}
	json_decref(center);
	*resp = sb_service_envelope(S, 0, NULL, out);
	return 200;
}

/* ---- dispatch ----------------------------------------------------------------- */

static const char *const write_infnos[] = { "2207", "2304", "2208", "2305", "2601", NULL };
static const char *const read_infnos[] = { "1101", "2206", "2303", "5203", "3201", "3202", NULL };

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static void enqueue_locked(sb_service *S, sb_job *j)
{
	j->next = NULL;
	if (S->qtail)
		S->qtail->next = j;
	else
		S->qhead = j;
	S->qtail = j;
	pthread_cond_signal(&S->qcond);
}

static void enqueue(sb_service *S, sb_job *j)
{
	pthread_mutex_lock(&S->qlock);
	enqueue_locked(S, j);
	pthread_mutex_unlock(&S->qlock);
}

static int submit(sb_service *S, sb_job *j)
{
	pthread_mutex_lock(&S->qlock);
	enqueue_locked(S, j);
	while (!j->done)
		pthread_cond_wait(&S->donecond, &S->qlock);
	pthread_mutex_unlock(&S->qlock);
	return j->http;
}

static int fsi_answer(char **resp, int st, int *infcode)
{
	/* the envelope starts with its infcode (envelope_text) */
	*infcode = *resp && !strncmp(*resp, "{\"infcode\":0,", 13) ? 0 : -1;
	return st;
}

int sb_service_fsi_begin(sb_service *S, sqlite3 *rdb, const sb_token *tk, const char *path_infno,
			 const char *body, size_t n, char **resp, char infno_out[5], int *infcode,
			 void (*on_wait)(void *), void (*on_done)(void *), void *arg,
			 sb_fsi_call **call)
{
	*call = NULL;
	sb_fsi_call *cl = calloc(1, sizeof *cl);
	if (!cl) {
		*resp = sb_service_envelope(S, -1, "out of memory", NULL);
		*infcode = -1;
		snprintf(infno_out, 5, "%s", path_infno);
		return 503;
	}
	sb_serve_req *r = &cl->r;
	char err[1024];
	*infcode = -1;
	/* The input's hash only for a transaction that changes state (the
	 * path's infno must be the body's: sb_serve_req_parse_opt checks). */
	int st = sb_serve_req_parse_opt(body, n, path_infno,
					!path_infno || in_list(write_infnos, path_infno), r, err,
					sizeof err);
	snprintf(infno_out, 5, "%s", r->infno[0] ? r->infno : path_infno);
	if (st) {
		*resp = sb_service_envelope(S, -1, err, NULL);
	} else if (!in_list(write_infnos, r->infno) && !in_list(read_infnos, r->infno)) {
		*resp = sb_service_envelope(
			S, -1,
			"field infno: unknown transaction; this service "
			"answers 1101, 2206, 2207, 2208, 2303, 2304, 2305, 2601, 5203, 3201, 3202",
			NULL);
		st = 200;
	} else if (!sb_service_may_act(tk, r->fixmedins_code)) {
		snprintf(err, sizeof err,
			 "field fixmedins_code: token %s may not act for facility %s", tk->name,
			 r->fixmedins_code);
		*resp = sb_service_envelope(S, -1, err, NULL);
		st = 403;
	} else if (!sb_service_facility(S, r->fixmedins_code)) {
		st = fail(S, resp,
			  "field fixmedins_code: facility %s is not in the facility "
			  "registry",
			  r->fixmedins_code);
	} else if (in_list(write_infnos, r->infno)) {
		/* The audit's hash of the request, here rather than in the writer. */
		sb_serve_sm3_hex(body, n, r->body_sm3);
		sb_prepared *pre = NULL;
		if (S->prepare && rdb && (!strcmp(r->infno, "2207") || !strcmp(r->infno, "2304"))) {
			pthread_rwlock_rdlock(&S->pol_lock);
			pre = prepare_settle(S, rdb, S->set, r);
			pthread_rwlock_unlock(&S->pol_lock);
		}
		cl->j = (sb_job){ .kind = SB_JOB_TX,
				  .tok = tk,
				  .req = r,
				  .pre = pre,
				  .body = body,
				  .nbody = n,
				  .on_done = on_done,
				  .arg = arg };
		if (on_done) {
			/* Before the writer can see it: it may be done at once. */
			*call = cl;
			on_wait(arg);
			enqueue(S, &cl->j);
			*call = cl;
			return 0;
		}
		st = submit(S, &cl->j);
		*resp = cl->j.resp;
		prepared_free(cl->j.pre);
	} else {
		pthread_rwlock_rdlock(&S->pol_lock);
		const sb_policyset *set = S->set;
		if (!strcmp(r->infno, "1101"))
			st = tx_person(S, rdb, set, r, resp);
		else if (!strcmp(r->infno, "2206") || !strcmp(r->infno, "2303"))
			st = tx_presettle(S, rdb, set, r, resp);
		else if (!strcmp(r->infno, "5203"))
			st = tx_query(S, rdb, tk, r, resp);
		else
			st = tx_statement(S, rdb, r, resp);
		pthread_rwlock_unlock(&S->pol_lock);
	}
	if (!*resp)
		*resp = sb_service_envelope(S, -1, "the store is unavailable", NULL);
	sb_serve_req_release(r);
	free(cl);
	return fsi_answer(resp, st, infcode);
}

int sb_service_fsi_finish(sb_service *S, sb_fsi_call *cl, char **resp, int *infcode)
{
	pthread_mutex_lock(&S->qlock); /* pairs with the writer's done = true */
	bool done = cl->j.done;
	pthread_mutex_unlock(&S->qlock);
	int st = done ? cl->j.http : 503;
	*resp = done ? cl->j.resp : NULL;
	if (!done)
		free(cl->j.resp);
	if (!*resp)
		*resp = sb_service_envelope(S, -1, "the store is unavailable", NULL);
	prepared_free(cl->j.pre);
	sb_serve_req_release(&cl->r);
	free(cl);
	return fsi_answer(resp, st, infcode);
}

int sb_service_fsi(sb_service *S, sqlite3 *rdb, const sb_token *tk, const char *path_infno,
		   const char *body, size_t n, char **resp, char infno_out[5], int *infcode)
{
	sb_fsi_call *cl;
	return sb_service_fsi_begin(S, rdb, tk, path_infno, body, n, resp, infno_out, infcode, NULL,
				    NULL, NULL, &cl);
}

/* ---- REST writes: enrolment and identities ---------------------------------------- */

/* A JSON object of scalars as a one-row CSV (header from its keys, with
 * extra pairs first), read back by the shared row readers. */
static char *object_csv(const json_t *o, const char *k0, const char *v0, char *err, size_t cap)
{
	char *buf = NULL;
	size_t bn = 0;
	FILE *f = open_memstream(&buf, &bn);
	if (!f)
		return NULL;
	const char *key;
	const json_t *v;
	int n = 0;
	if (k0) {
		fputs(k0, f);
		n++;
	}
	json_object_foreach((json_t *)o, key, v)
	{
		if (k0 && !strcmp(key, k0))
			continue;
		for (const char *p = key; *p; p++)
			if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') {
				snprintf(err, cap, "field name \"%.40s\" is not a column name",
					 key);
				fclose(f);
				free(buf);
				return NULL;
			}
		fprintf(f, "%s%s", n++ ? "," : "", key);
	}
	fputc('\n', f);
	n = 0;
	if (k0) {
		fputs(v0, f);
		n++;
	}
	json_object_foreach((json_t *)o, key, v)
	{
		if (k0 && !strcmp(key, k0))
			continue;
		char tmp[64];
		const char *s;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)),
				s = tmp;
		else if (json_is_null(v))
			s = "";
		else if (json_is_real(v)) {
			s = NULL;
			for (int k = 0; k <= 2 && !s; k++) {
				snprintf(tmp, sizeof tmp, "%.*f", k, json_real_value(v));
				if (strtod(tmp, NULL) == json_real_value(v))
					s = tmp;
			}
			if (!s) {
				snprintf(err, cap, "field %s has more than 2 decimals", key);
				fclose(f);
				free(buf);
				return NULL;
			}
		} else {
			snprintf(err, cap, "field %s must be a string or a number", key);
			fclose(f);
			free(buf);
			return NULL;
		}
		fputs(n++ ? ",\"" : "\"", f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	}
	fputc('\n', f);
	fclose(f);
	return buf;
}

static int rest_person(sb_service *S, sqlite3 *db, const sb_policyset *set, sb_job *j, char *err,
		       size_t cap)
{
	json_t *o = j->obj;
	const json_t *idv = json_object_get(o, "id");
	if (!idv)
		idv = json_object_get(o, "psn_no");
	if (idv && (!json_is_string(idv) || strcmp(json_string_value(idv), j->key))) {
		snprintf(err, cap, "field id is not the psn_no of the path");
		return 400;
	}
	char *csv = object_csv(o, idv ? NULL : "id", j->key, err, cap);
	if (!csv)
		return 400;
	sb_csv *c;
	sb_diag d;
	sb_diag_clear(&d);
	int col[SB_PCOL_N];
	int st = 400;
	if (sb_csv_open_mem("person", csv, strlen(csv), &c, &d)) {
		snprintf(err, cap, "%s", d.message);
		free(csv);
		return 400;
	}
	if (sb_io_map(c, "person", sb_persons_columns, SB_PCOL_N, true, col, &d)) {
		snprintf(err, cap, "%s", d.message);
	} else if (sb_csv_next(c, &d) != 1) {
		snprintf(err, cap, "the person is not readable: %s", d.message);
	} else {
		sb_person_row row;
		char why[600];
		const char *reason = sb_person_row_read(c, col, &row, why, sizeof why);
		if (!reason && !sb_policyset_find(set, row.region)) {
			snprintf(why, sizeof why, "field region %s has no policy loaded",
				 row.region);
			reason = why;
		}
		if (reason) {
			snprintf(err, cap, "%s", reason);
		} else {
			sqlite3_stmt *s;
			int rc = sb_serve_stmt(db,
					       "INSERT OR REPLACE INTO persons VALUES(?,?,?,?,"
					       "?,?,?,?)",
					       &s);
			if (!rc) {
				sqlite3_bind_text(s, 1, j->key, -1, SQLITE_STATIC);
				sqlite3_bind_int(s, 2, row.scheme);
				sqlite3_bind_text(s, 3, row.region, -1, SQLITE_STATIC);
				sqlite3_bind_text(s, 4, row.household.p, (int)row.household.n,
						  SQLITE_TRANSIENT);
				sqlite3_bind_int(s, 5, row.employment);
				sqlite3_bind_text(s, 6, row.tier.p, (int)row.tier.n,
						  SQLITE_TRANSIENT);
				if (row.has_income)
					sqlite3_bind_int64(s, 7, row.income);
				sqlite3_bind_int(s, 8, row.pseudo ? SB_BIRTH_UNKNOWN : row.birth);
				rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK :
								      sqlite3_errcode(db);
				sb_serve_stmt_done(s);
			}
			st = rc ? 503 : 200;
		}
	}
	(void)S;
	sb_csv_free(c);
	free(csv);
	return st;
}

static int rest_identity(sb_service *S, sqlite3 *db, const sb_policyset *set, sb_job *j, char *err,
			 size_t cap)
{
	(void)S;
	char *csv = object_csv(j->obj, NULL, NULL, err, cap);
	if (!csv)
		return 400;
	sb_csv *c;
	sb_diag d;
	sb_diag_clear(&d);
	int col[SB_ICOL_N];
	int st = 400;
	if (sb_csv_open_mem("identity", csv, strlen(csv), &c, &d)) {
		snprintf(err, cap, "%s", d.message);
		free(csv);
		return 400;
	}
	sb_identity_row row;
	if (sb_io_map(c, "identity", sb_identities_columns, SB_ICOL_N, true, col, &d)) {
		snprintf(err, cap, "%s", d.message);
	} else if (sb_csv_next(c, &d) != 1) {
		snprintf(err, cap, "the identity is not readable: %s", d.message);
	} else if (sb_identity_row_read(c, col, set, &row, err, cap) == SB_IROW_OK) {
		char psn[19];
		sb_person_key_text(row.key, row.pseudo, psn);
		sb_person p;
		int rc = sb_serve_person_load(db, set, psn, &p, NULL, 0);
		sb_csv_field w = sb_csv_get(c, (size_t)col[SB_ICOL_IDENTITY]);
		char word[64];
		snprintf(word, sizeof word, "%.*s", (int)(w.n < 63 ? w.n : 63), w.p);
		snprintf(j->key, sizeof j->key, "%s", psn);
		if (rc == SQLITE_NOTFOUND) {
			snprintf(err, cap, "field person: not enrolled (PUT /v1/persons first)");
		} else if (rc) {
			st = 503;
		} else {
			sqlite3_stmt *s;
			bool exists = false;
			for (uint16_t i = 0; i < p.nidents; i++)
				exists |=
					p.idents[i].sym == row.sym && p.idents[i].from == row.from;
			if (!exists && p.nidents >= SB_MAX_PERSON_IDENTITIES) {
				snprintf(err, cap,
					 "the person already holds %d identity intervals, the "
					 "most one person may hold",
					 SB_MAX_PERSON_IDENTITIES);
			} else if (!(rc = sb_serve_stmt(db,
							"INSERT OR REPLACE INTO identities"
							" VALUES(?,?,?,?)",
							&s))) {
				sqlite3_bind_text(s, 1, psn, -1, SQLITE_STATIC);
				sqlite3_bind_text(s, 2, word, -1, SQLITE_STATIC);
				sqlite3_bind_int(s, 3, row.from);
				sqlite3_bind_int(s, 4, row.to);
				rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK :
								      sqlite3_errcode(db);
				sb_serve_stmt_done(s);
				st = rc ? 503 : 200;
			} else {
				st = 503;
			}
		}
	}
	sb_csv_free(c);
	free(csv);
	return st;
}

int sb_service_rest_write(sb_service *S, const sb_token *tk, int kind, const char *key,
			  const char *body, size_t n, char **resp)
{
	json_error_t je;
	json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	char err[1024];
	if (!o || !json_is_object(o)) {
		snprintf(err, sizeof err,
			 o ? "the body must be a JSON object" :
			     "the body is not JSON: %s at line %d, column %d",
			 je.text, je.line, je.column);
		json_decref(o);
		*resp = sb_service_envelope(S, -1, err, NULL);
		return 400;
	}
	sb_job j = { .kind = kind, .tok = tk, .obj = o, .body = body, .nbody = n };
	snprintf(j.key, sizeof j.key, "%s", key ? key : "");
	int st = submit(S, &j);
	json_decref(o);
	*resp = j.resp;
	return st;
}

/* ---- the writer ------------------------------------------------------------------ */

/* The WAL's length (4 KiB frames) at which the checkpointer starts copying
 * it into the store, and past which the writer checkpoints the rest itself
 * so that the WAL restarts (128 MiB at most, the rest copied already). */
enum { CKPT_SOFT = 8000, CKPT_HARD = 32000 };

static int run_job(sb_service *S, sqlite3 *db, const sb_policyset *set, sb_job *j, int *dbrc)
{
	char err[1024] = "";
	if (j->kind == SB_JOB_TX)
		return tx_write(S, db, set, j, dbrc);
	if (j->kind == SB_JOB_AUDIT) {
		*dbrc = sb_serve_audit(db, j->tok ? j->tok->name : "-", j->key, "", "", j->body,
				       j->nbody, "", 0);
		j->resp = strdup("{}");
		return *dbrc ? 503 : 200;
	}
	int st = j->kind == SB_JOB_PERSON ? rest_person(S, db, set, j, err, sizeof err) :
					    rest_identity(S, db, set, j, err, sizeof err);
	if (st != 200) {
		if (st == 503)
			*dbrc = SQLITE_IOERR;
		j->resp =
			sb_service_envelope(S, -1, err[0] ? err : "the store is unavailable", NULL);
		return st;
	}
	json_t *out = json_object();
	char m[SB_ID_LEN + 1];
	sb_id_mask(j->key, strlen(j->key), m);
	json_object_set_new(out, "person", json_string(m));
	json_object_set_new(out, "result", json_string("stored"));
	j->resp = sb_service_envelope(S, 0, NULL, out);
	*dbrc = sb_serve_audit(db, j->tok->name,
			       j->kind == SB_JOB_PERSON ? "PUT /v1/persons" : "POST /v1/identities",
			       "", "", j->body, j->nbody, j->resp, strlen(j->resp));
	return *dbrc ? 503 : 200;
}

static int cmp_prepared_seq(const void *a, const void *b)
{
	long long x = (*(sb_job *const *)a)->pre->seq, y = (*(sb_job *const *)b)->pre->seq;
	return x < y ? -1 : x > y;
}

/* The group with its prepared settlements in the order of their numbers
 * (the other jobs where they were): two HTTP threads can queue their
 * settlements in the other order than they took their numbers, and the
 * jobs of one group are all in flight together, so any order of them is
 * an order they could have come in. Without it a settlement queued after
 * a larger number would be settled again by the writer. */
static sb_job *seq_order(sb_job *batch)
{
	size_t n = 0, np = 0;
	for (sb_job *j = batch; j; j = j->next, n++)
		np += j->pre != NULL;
	if (np < 2)
		return batch;
	sb_job **all = malloc(n * sizeof *all), **pre = malloc(np * sizeof *pre);
	if (!all || !pre) {
		free(all);
		free(pre);
		return batch;
	}
	size_t i = 0, k = 0;
	for (sb_job *j = batch; j; j = j->next) {
		all[i++] = j;
		if (j->pre)
			pre[k++] = j;
	}
	qsort(pre, np, sizeof *pre, cmp_prepared_seq);
	k = 0;
	for (i = 0; i < n; i++)
		if (all[i]->pre)
			all[i] = pre[k++];
	for (i = 0; i + 1 < n; i++)
		all[i]->next = all[i + 1];
	all[n - 1]->next = NULL;
	batch = all[0];
	free(all);
	free(pre);
	return batch;
}

static void *writer(void *arg)
{
	sb_service *S = arg;
	sqlite3 *db = S->wdb;
	pthread_mutex_lock(&S->qlock);
	for (;;) {
		while (!S->qhead && !S->stop)
			pthread_cond_wait(&S->qcond, &S->qlock);
		if (!S->qhead && S->stop)
			break;
		sb_job *batch = S->qhead;
		S->qhead = S->qtail = NULL;
		pthread_mutex_unlock(&S->qlock);
		batch = seq_order(batch);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pthread_rwlock_rdlock(&S->pol_lock);
		int rc = sb_serve_exec(db, "BEGIN IMMEDIATE");
		long njobs = 0;
		for (sb_job *j = batch; j; j = j->next) {
			njobs++;
			if (rc) {
				j->http = 503;
				continue;
			}
			int dbrc = 0;
			sb_serve_exec(db, "SAVEPOINT job");
			j->http = run_job(S, db, S->set, j, &dbrc);
			/* A refusal stores nothing: only a success or a replay
			 * keeps its writes. */
			bool keep = !dbrc && (j->http == 200 || j->replay);
			if (keep && j->kind == SB_JOB_TX && !j->replay && j->resp &&
			    strstr(j->resp, "\"infcode\":-1"))
				keep = false;
			if (!keep) {
				sb_serve_exec(db, "ROLLBACK TO job");
				sb_serve_audit_forget();
			}
			sb_serve_exec(db, "RELEASE job");
			if (dbrc)
				j->http = 503;
		}
		struct timespec tc;
		clock_gettime(CLOCK_MONOTONIC, &tc);
		if (!rc)
			rc = sb_serve_exec(db, "COMMIT");
		/* After the commit (readers see the change): the HTTP threads'
		 * persons are stale once a person or an identity was stored
		 * (tried: a rolled-back one costs only their reading again). */
		for (sb_job *j = batch; j; j = j->next)
			if (j->kind == SB_JOB_PERSON || j->kind == SB_JOB_IDENTITY) {
				atomic_fetch_add(&S->person_gen, 1);
				break;
			}
		if (rc) {
			sb_serve_exec(db, "ROLLBACK");
			sb_serve_audit_forget();
			for (sb_job *j = batch; j; j = j->next)
				j->http = 503;
		}
		pthread_rwlock_unlock(&S->pol_lock);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double work =
			(double)(tc.tv_sec - t0.tv_sec) + (double)(tc.tv_nsec - t0.tv_nsec) / 1e9;
		double secs =
			(double)(t1.tv_sec - tc.tv_sec) + (double)(t1.tv_nsec - tc.tv_nsec) / 1e9;
		sb_metrics_commit(&S->metrics, work, secs, njobs, rc == 0);
		if (rc)
			atomic_store(&S->store_ok, false);
		/* The group is committed (the WAL written, not yet synced): the
		 * syncer answers it after its fdatasync, while this thread runs
		 * the next group. */
		sb_job *tail = batch;
		while (tail->next)
			tail = tail->next;
		pthread_mutex_lock(&S->slock);
		if (S->stail)
			S->stail->next = batch;
		else
			S->shead = batch;
		S->stail = tail;
		pthread_cond_signal(&S->scond);
		pthread_mutex_unlock(&S->slock);
		/* The WAL restarts from its start only at a transaction that
		 * finds every frame checkpointed, which under steady load only
		 * the writer can arrange: when it has grown past CKPT_HARD, the
		 * writer checkpoints what the checkpointer has not copied yet
		 * (little: it keeps copying) while the syncer syncs the group. */
		if (!rc && atomic_load(&S->wal_frames) >= CKPT_HARD) {
			int nlog = 0, nck = 0;
			if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
						      &nck) == SQLITE_OK) {
				atomic_store(&S->ck_done, nck);
				sb_metrics_checkpoint(&S->metrics, true);
			}
		}
		pthread_mutex_lock(&S->qlock);
	}
	pthread_mutex_unlock(&S->qlock);
	return NULL;
}

/* The writer's WAL hook (after each commit, frames = the WAL's length):
 * wakes the checkpointer once the WAL holds CKPT_SOFT frames more than it
 * has copied (each of its passes costs two syncs). It replaces
 * SQLite's automatic checkpoint, which ran inside the writer's COMMIT and
 * copied up to 10,000 frames there: a stall of tens of milliseconds for
 * every settlement in flight, every couple of thousand settlements. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	sb_service *S = arg;
	(void)db;
	(void)name;
	atomic_store(&S->wal_frames, frames);
	int done = atomic_load(&S->ck_done);
	if (frames < done) { /* the WAL restarted */
		done = 0;
		atomic_store(&S->ck_done, 0);
	}
	if (frames - done >= CKPT_SOFT) {
		pthread_mutex_lock(&S->cklock);
		if (!S->ckwant) {
			S->ckwant = true;
			pthread_cond_signal(&S->ckcond);
		}
		pthread_mutex_unlock(&S->cklock);
	}
	return SQLITE_OK;
}

/* The checkpointer: PASSIVE checkpoints on its own connection (they copy
 * committed frames into the store while the writer goes on; SQLite syncs
 * the WAL before and the store after), one per CKPT_SOFT new frames. */
static void *checkpointer(void *arg)
{
	sb_service *S = arg;
	pthread_mutex_lock(&S->cklock);
	for (;;) {
		while (!S->ckwant && !S->ckstop)
			pthread_cond_wait(&S->ckcond, &S->cklock);
		if (S->ckstop)
			break;
		S->ckwant = false;
		pthread_mutex_unlock(&S->cklock);
		int nlog = 0, nck = 0;
		if (sqlite3_wal_checkpoint_v2(S->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
					      &nck) == SQLITE_OK) {
			atomic_store(&S->ck_done, nck);
			sb_metrics_checkpoint(&S->metrics, false);
		}
		pthread_mutex_lock(&S->cklock);
	}
	pthread_mutex_unlock(&S->cklock);
	return NULL;
}

/* fdatasync of the store's WAL: the file SQLite appends every commit to
 * (synchronous=NORMAL, so SQLite itself syncs it only around checkpoints).
 * The file is opened by path once and again whenever the path names
 * another file (SQLite recreated it); its folder is synced once. */
static int sync_wal(sb_service *S)
{
	struct stat a, b;
	if (S->walfd >= 0 && (stat(S->wal_path, &a) || fstat(S->walfd, &b) ||
			      a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
		close(S->walfd);
		S->walfd = -1;
	}
	if (S->walfd < 0) {
		S->walfd = open(S->wal_path, O_RDONLY | O_CLOEXEC);
		if (S->walfd < 0)
			return -1;
		char *dir = strdup(S->wal_path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			*slash = '\0';
		int dfd = dir ? open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY) : -1;
		free(dir);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return fdatasync(S->walfd);
}

static void *syncer(void *arg)
{
	sb_service *S = arg;
	pthread_mutex_lock(&S->slock);
	for (;;) {
		while (!S->shead && !S->sstop)
			pthread_cond_wait(&S->scond, &S->slock);
		if (!S->shead && S->sstop)
			break;
		sb_job *batch = S->shead;
		S->shead = S->stail = NULL;
		pthread_mutex_unlock(&S->slock);
		long njobs = 0;
		bool any = false;
		for (sb_job *j = batch; j; j = j->next) {
			njobs++;
			any = any || j->http != 503;
		}
		/* One fdatasync for every group committed before it. */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		bool ok = !any || sync_wal(S) == 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (any)
			sb_metrics_sync(&S->metrics,
					(double)(t1.tv_sec - t0.tv_sec) +
						(double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
					njobs, ok);
		if (!ok)
			atomic_store(&S->store_ok, false);
		else if (any)
			atomic_store(&S->store_ok, true);
		pthread_mutex_lock(&S->qlock);
		sb_job *async = NULL;
		for (sb_job *j = batch, *next; j; j = next) {
			next = j->next;
			if (j->http == 503 || !ok) {
				j->http = 503;
				free(j->resp);
				j->resp = sb_service_envelope(
					S, -1,
					ok ? "the store is unavailable: the transaction was not "
					     "stored; retry with the same msgid" :
					     "the store could not make the transaction durable "
					     "(fdatasync failed); retry with the same msgid",
					NULL);
			}
			j->done = true;
			if (j->on_done) {
				j->next = async;
				async = j;
			}
		}
		pthread_cond_broadcast(&S->donecond);
		pthread_mutex_unlock(&S->qlock);
		/* Resume the suspended connections; a job may be freed as soon
		 * as its on_done ran. */
		for (sb_job *j = async, *next; j; j = next) {
			next = j->next;
			j->on_done(j->arg);
		}
		pthread_mutex_lock(&S->slock);
	}
	pthread_mutex_unlock(&S->slock);
	return NULL;
}

int sb_service_audit_event(sb_service *S, const sb_token *tk, const char *call, const char *body,
			   size_t n)
{
	sb_job j = { .kind = SB_JOB_AUDIT, .tok = tk, .body = body, .nbody = n };
	snprintf(j.key, sizeof j.key, "%s", call);
	int st = submit(S, &j);
	free(j.resp);
	return st;
}

sb_status sb_service_start(sb_service *S, sb_diag *d)
{
	S->wtrace = sb_malloc(sizeof *S->wtrace);
	S->wcomp = sb_malloc(sizeof(computed));
	if (!S->wtrace || !S->wcomp)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_acc_init(&S->wbefore);
	sb_acc_init(&S->wacc);
	sb_acc_init(&S->wdelta);
	pthread_mutex_init(&S->qlock, NULL);
	pthread_cond_init(&S->qcond, NULL);
	pthread_cond_init(&S->donecond, NULL);
	pthread_mutex_init(&S->slock, NULL);
	pthread_cond_init(&S->scond, NULL);
	atomic_store(&S->store_ok, true);
	/* Group commit: the writer commits with synchronous=NORMAL (the WAL
	 * written, synced by SQLite only around checkpoints, which keeps the
	 * store consistent); the syncer fdatasyncs the WAL and only then
	 * answers. An answered transaction is as durable as with FULL. */
	S->walfd = -1;
	const char *dbfile = sqlite3_db_filename(S->wdb, "main");
	size_t dn = dbfile ? strlen(dbfile) : 0;
	S->wal_path = dn ? malloc(dn + 5) : NULL;
	if (!S->wal_path)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	memcpy(S->wal_path, dbfile, dn);
	memcpy(S->wal_path + dn, "-wal", 5);
	/* Checkpoints in the checkpointer (wal_hook) rather than SQLite's
	 * automatic ones in the writer's COMMIT. A page cache of 16 MiB for
	 * the writer keeps the hot b-tree pages in memory (accumulators and
	 * the indexes' inner pages: about 10 MiB for the bench's 20,000
	 * persons); at 64 MiB, SQLite's walk over the cached pages at each
	 * COMMIT (pcache1 truncation) was an eighth of the writer's time. */
	if (sqlite3_exec(S->wdb, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384", NULL, NULL,
			 NULL))
		return sb_diag_set(d, SB_EIO, dbfile, 0, 0, "%s", sqlite3_errmsg(S->wdb));
	const char *pe = getenv("SB_SERVE_PREPARE");
	S->prepare = pe && *pe && strcmp(pe, "0");
	/* Settlement numbers go on from the store's largest. */
	sqlite3_stmt *ms;
	long long maxseq = 0;
	if (sb_serve_stmt(S->wdb, "SELECT coalesce(max(seq), 0) FROM settlements", &ms))
		return sb_diag_set(d, SB_EIO, dbfile, 0, 0, "%s", sqlite3_errmsg(S->wdb));
	if (sqlite3_step(ms) == SQLITE_ROW)
		maxseq = sqlite3_column_int64(ms, 0);
	sb_serve_stmt_done(ms);
	atomic_store(&S->next_seq, maxseq + 1);
	sb_status cst = sb_serve_store_open(S->cfg->db_path, false, &S->ckdb, d);
	if (cst)
		return cst;
	(void)sqlite3_exec(S->ckdb, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	pthread_mutex_init(&S->cklock, NULL);
	pthread_cond_init(&S->ckcond, NULL);
	if (pthread_create(&S->ckthread, NULL, checkpointer, S)) {
		pthread_mutex_destroy(&S->cklock);
		pthread_cond_destroy(&S->ckcond);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0,
				   "cannot start the checkpointer thread: %s", strerror(errno));
	}
	S->ckstarted = true;
	sqlite3_wal_hook(S->wdb, wal_hook, S);
	if (pthread_create(&S->syncer, NULL, syncer, S))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start the syncer thread: %s",
				   strerror(errno));
	S->sstarted = true;
	if (pthread_create(&S->writer, NULL, writer, S))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start the writer thread: %s",
				   strerror(errno));
	S->started = true;
	return SB_OK;
}

void sb_service_stop(sb_service *S)
{
	if (S->started) {
		pthread_mutex_lock(&S->qlock);
		S->stop = true;
		pthread_cond_signal(&S->qcond);
		pthread_mutex_unlock(&S->qlock);
		pthread_join(S->writer, NULL);
		S->started = false;
	}
	if (S->sstarted) {
		pthread_mutex_lock(&S->slock);
		S->sstop = true;
		pthread_cond_signal(&S->scond);
		pthread_mutex_unlock(&S->slock);
		pthread_join(S->syncer, NULL);
		S->sstarted = false;
		pthread_mutex_destroy(&S->qlock);
		pthread_cond_destroy(&S->qcond);
		pthread_cond_destroy(&S->donecond);
		pthread_mutex_destroy(&S->slock);
		pthread_cond_destroy(&S->scond);
	}
	if (S->ckstarted) {
		pthread_mutex_lock(&S->cklock);
		S->ckstop = true;
		pthread_cond_signal(&S->ckcond);
		pthread_mutex_unlock(&S->cklock);
		pthread_join(S->ckthread, NULL);
		S->ckstarted = false;
		pthread_mutex_destroy(&S->cklock);
		pthread_cond_destroy(&S->ckcond);
	}
	if (S->wdb)
		sqlite3_wal_hook(S->wdb, NULL, NULL);
	if (S->ckdb)
		sb_serve_store_close(S->ckdb);
	S->ckdb = NULL;
	if (S->walfd >= 0)
		close(S->walfd);
	S->walfd = -1;
	free(S->wal_path);
	S->wal_path = NULL;
	sb_free(S->wtrace);
	sb_free(S->wcomp);
	S->wtrace = NULL;
	S->wcomp = NULL;
	sb_acc_release(&S->wbefore);
	sb_acc_release(&S->wacc);
	sb_acc_release(&S->wdelta);
}
