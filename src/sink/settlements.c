/* settlements.c: the settlements.csv writer as a sink. Rows are formatted
 * by hand into one buffer per partition and scenario (the hot path of the
 * output) and written in partition order. Scenario 0 writes
 * out_dir/settlements.csv; scenario k > 0 out_dir/scenario-<k>-settlements.csv. */
#include "sink/settlements.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "io/outfile.h"
#include "io/owriter.h"
#include "policy/policy_int.h"
#include "sink/obuf.h"

typedef struct scen {
	const sb_policyset *set;
	FILE *out;
	sb_owriter *ow;   /* writes out on a thread of its own (io/owriter.h) */
	int nsyms;        /* layer symbols */
	int ncols;        /* layer columns */
	const int *order; /* their symbols in column order */
	char path[PATH_MAX];
} scen;

/* Buffers whose partition has been written, kept for the next
 * partitions: a fresh buffer of this size is mapped anew by malloc and
 * costs a page fault per 4 KiB as it fills; a kept one has its pages. */
#define POOL_MAX 64

typedef struct writer {
	sb_outdir *out; /* the run's output folder (borrowed) */
	int n;
	scen *sc;
	pthread_mutex_t lock; /* the pool's */
	bool locked;          /* lock initialised */
	sb_obuf pool[POOL_MAX];
	int npool, keep;
} writer;

/* A partition's buffer for one scenario, on its way to the file. */
typedef struct wpiece {
	sb_obuf o;
} wpiece;

/* A buffer of at least cap bytes, empty: a kept one when there is one. */
static void take(writer *w, sb_obuf *o, size_t cap)
{
	memset(o, 0, sizeof *o);
	pthread_mutex_lock(&w->lock);
	if (w->npool)
		*o = w->pool[--w->npool];
	pthread_mutex_unlock(&w->lock);
	o->n = 0;
	o->failed = false;
	if (o->cap < cap) {
		char *p = sb_realloc(o->p, cap);
		if (p) {
			o->p = p;
			o->cap = cap;
		}
	}
}

/* A written (or discarded) buffer back to the pool, or freed. */
static void give_back(writer *w, sb_obuf *o)
{
	if (!o->p)
		return;
	pthread_mutex_lock(&w->lock);
	bool kept = w->npool < w->keep && !o->failed;
	if (kept)
		w->pool[w->npool++] = *o;
	pthread_mutex_unlock(&w->lock);
	if (!kept)
		sb_obuf_release(o);
	memset(o, 0, sizeof *o);
}

/* The writer thread has written a buffer: back to the pool. */
static void written(void *ctx, void *p)
{
	wpiece *pc = p;
	give_back(ctx, &pc->o);
	sb_free(pc);
}

/* Dates as text through a small direct-mapped cache: a province-year
 * touches a few hundred distinct days. */
typedef struct datecache {
	sb_date date[1024];
	char text[1024][10];
} datecache;

typedef struct thr {
	sb_obuf *o;  /* one per scenario, for the partition being settled */
	sb_fen *cols; /* payments by layer symbol */
	datecache dates;
} thr;

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	writer *w = self;
	w->out = env->out;
	w->n = env->nscenarios;
	/* Each thread fills a buffer per scenario while as many wait for
	 * their turn to be written, one is queued for the writer thread and
	 * one is being written: that many are kept. */
	int keep = ((env->threads > 0 ? env->threads : 1) * 2 + 2) * w->n;
	w->keep = keep < POOL_MAX ? keep : POOL_MAX;
	if (pthread_mutex_init(&w->lock, NULL))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	w->locked = true;
	if (!(w->sc = sb_calloc((size_t)w->n, sizeof *w->sc)))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int k = 0; k < w->n; k++) {
		scen *s = &w->sc[k];
		s->set = env->sets[k];
		s->nsyms = sb_policyset_symbol_count(s->set, SB_SYM_LAYER);
		s->ncols = (int)sb_policyset_layer_order(s->set, &s->order);
		char name[64];
		if (k)
			snprintf(name, sizeof name, "scenario-%d-settlements.csv", k);
		else
			snprintf(name, sizeof name, "settlements.csv");
		snprintf(s->path, sizeof s->path, "%s/%s", env->cfg->out_dir, name);
		if (!(s->out = sb_outdir_create(env->out, name, d)))
			return d->code ? d->code : SB_EIO;
		/* Header: the fixed columns, one per layer id, then the totals. */
		fputs("id,person,region,date,visit,level,place,identity,version,total,in_scope",
		      s->out);
		for (int i = 0; i < s->ncols; i++)
			fprintf(s->out, ",%s", sb_policyset_symbol_name(s->set, SB_SYM_LAYER, s->order[i]));
		fputs(",fund,oop,oop_in_scope,filing\n", s->out);
		/* One partition queued while one is written: the formatting
		 * threads wait for the disk only when they are that far ahead. */
		sb_status st = sb_owriter_new(env->out, s->out, true, 1, written, w, &s->ow, d);
		if (st)
			return st;
	}
	return SB_OK;
}

static void thread_free(void *self, void *p)
{
	writer *w = self;
	thr *t = p;
	if (!t)
		return;
	for (int k = 0; t->o && k < w->n; k++)
		give_back(w, &t->o[k]);
	sb_free(t->o);
	sb_free(t->cols);
	sb_free(t);
}

static sb_status thread_new(void *self, void **out, sb_diag *d)
{
	writer *w = self;
	thr *t = sb_calloc(1, sizeof *t);
	int most = 0;
	for (int k = 0; k < w->n; k++)
		most = w->sc[k].nsyms > most ? w->sc[k].nsyms : most;
	if (t) {
		t->o = sb_calloc((size_t)w->n, sizeof *t->o);
		t->cols = sb_calloc((size_t)most + 1, sizeof *t->cols);
	}
	if (!t || !t->o || !t->cols) {
		thread_free(self, t);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	for (size_t k = 0; k < 1024; k++)
		t->dates.date[k] = INT32_MIN; /* no day cached yet */
	*out = t;
	return SB_OK;
}

static sb_status partition(void *self, void *p, int part, size_t records, sb_diag *d)
{
	(void)part;
	(void)d;
	writer *w = self;
	thr *t = p;
	/* Rows are about 200 bytes: size the output once (it grows past that
	 * when it must, up to the obuf's limit). */
	for (int k = 0; k < w->n; k++)
		take(w, &t->o[k], records * 200 + 4096);
	return SB_OK;
}

static char *put_str(char *q, const char *s)
{
	size_t n = strlen(s);
	memcpy(q, s, n);
	return q + n;
}

/* The bytes that make a CSV field need quotes (as sb_obuf_field). */
static const unsigned char needs_quote[256] = {['\n'] = 1, ['\r'] = 1, ['"'] = 1, [','] = 1};

/* An amount: most layer columns of a row are 0.00. */
static inline char *put_fen(char *q, sb_fen v)
{
	if (!v) {
		memcpy(q, "0.00", 4);
		return q + 4;
	}
	return sb_fen_put(q, v);
}

static char *put_date(char *q, datecache *dc, sb_date d)
{
	size_t k = (size_t)d & 1023;
	if (dc->date[k] != d) {
		char buf[11];
		sb_date_format(d, buf);
		memcpy(dc->text[k], buf, 10);
		dc->date[k] = d;
	}
	memcpy(q, dc->text[k], 10);
	return q + 10;
}

static sb_status claim(void *self, void *p, const sb_settled *s, sb_diag *d)
{
	(void)d;
	writer *w = self;
	thr *t = p;
	const scen *sc = &w->sc[s->scenario];
	sb_obuf *o = &t->o[s->scenario];
	const sb_claim *c = s->claim;
	const sb_person *pe = s->person;
	const sb_result *res = s->res;
	const sb_policyset *set = sc->set;
	bool odd_level = c->level < 0 && c->level_name && c->level_name[0];
	/* Claim ids and unknown levels may need quoting: those go through
	 * sb_obuf_field; everything else has a known bound. An id that needs
	 * none (every one, nearly) is copied with the row below. */
	unsigned quote = 0;
	for (size_t i = 0; i < s->claim_idlen; i++)
		quote |= needs_quote[(unsigned char)s->claim_id[i]];
	bool id_inline = !quote && !odd_level;
	if (!id_inline)
		sb_obuf_field(o, s->claim_id, s->claim_idlen);
	if (odd_level) {
		char head[64];
		char *q = head;
		*q++ = ',';
		q = put_str(q, pe->id);
		*q++ = ',';
		memcpy(q, pe->region, 6);
		q += 6;
		*q++ = ',';
		q = put_date(q, &t->dates, c->date);
		*q++ = ',';
		sb_obuf_bytes(o, head, (size_t)(q - head));
		sb_obuf_bytes(o, sb_visit_names[c->visit], strlen(sb_visit_names[c->visit]));
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, c->level_name, strlen(c->level_name));
	}
	const char *level = c->level >= 0 ? sb_policyset_symbol_name(set, SB_SYM_LEVEL, c->level) : "";
	const char *ident = res->identity < 0 ? "none" :
			    sb_policyset_symbol_name(set, SB_SYM_IDENTITY, res->identity);
	/* Fixed columns, two names and the amounts (at most 24 bytes each). */
	size_t level_n = strlen(level), ident_n = strlen(ident);
	size_t need = 128 + s->claim_idlen + level_n + ident_n + ((size_t)sc->ncols + 5) * 24;
	if (!sb_obuf_reserve(o, need))
		return SB_OK; /* o->failed: partition_end reports it */
	char *q = o->p + o->n;
	if (id_inline) {
		memcpy(q, s->claim_id, s->claim_idlen);
		q += s->claim_idlen;
	}
	if (!odd_level) {
		*q++ = ',';
		memcpy(q, pe->id, SB_ID_LEN); /* always 18 characters */
		q += SB_ID_LEN;
		*q++ = ',';
		memcpy(q, pe->region, 6);
		q += 6;
		*q++ = ',';
		q = put_date(q, &t->dates, c->date);
		*q++ = ',';
		q = put_str(q, sb_visit_names[c->visit]);
		*q++ = ',';
		memcpy(q, level, level_n);
		q += level_n;
	}
	*q++ = ',';
	q = put_str(q, sb_place_names[c->place]);
	*q++ = ',';
	memcpy(q, ident, ident_n);
	q += ident_n;
	*q++ = ',';
	q = put_date(q, &t->dates, res->version->from);
	*q++ = ',';
	q = put_fen(q, c->total);
	*q++ = ',';
	q = put_fen(q, c->in_scope);
	sb_fen *cols = t->cols;
	for (int i = 0; i < sc->ncols; i++)
		cols[sc->order[i]] = 0;
	for (uint8_t i = 0; i < res->nlayers; i++)
		cols[res->layer[i].sym] = res->layer[i].pay;
	for (int i = 0; i < sc->ncols; i++) {
		*q++ = ',';
		q = put_fen(q, cols[sc->order[i]]);
	}
	*q++ = ',';
	q = put_fen(q, res->fund);
	*q++ = ',';
	q = put_fen(q, res->oop);
	*q++ = ',';
	q = put_fen(q, res->oop_in_scope);
	*q++ = ',';
	q = put_str(q, sb_filing_names[c->filing]);
	*q++ = '\n';
	o->n = (size_t)(q - o->p);
	return SB_OK;
}

static sb_status partition_end(void *self, void *p, int part, void **piece, sb_diag *d)
{
	(void)part;
	writer *w = self;
	thr *t = p;
	bool failed = false;
	for (int k = 0; k < w->n; k++)
		failed |= t->o[k].failed;
	sb_obuf *v = failed ? NULL : sb_malloc((size_t)w->n * sizeof *v);
	if (!v) {
		for (int k = 0; k < w->n; k++)
			give_back(w, &t->o[k]);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	memcpy(v, t->o, (size_t)w->n * sizeof *v);
	memset(t->o, 0, (size_t)w->n * sizeof *t->o);
	*piece = v;
	return SB_OK;
}

static void discard(void *self, void *piece)
{
	writer *w = self;
	sb_obuf *v = piece;
	for (int k = 0; v && k < w->n; k++)
		give_back(w, &v[k]);
	sb_free(v);
}

static sb_status commit(void *self, int part, void *piece, sb_diag *d)
{
	(void)part;
	writer *w = self;
	sb_obuf *v = piece;
	sb_status st = SB_OK;
	for (int k = 0; k < w->n; k++) {
		wpiece *pc = st || !v[k].n ? NULL : sb_malloc(sizeof *pc);
		if (!pc) {
			if (!st && v[k].n)
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			give_back(w, &v[k]);
			continue;
		}
		pc->o = v[k];
		/* The writer thread gives the buffer back when it is written. */
		st = sb_owriter_put(w->sc[k].ow, pc->o.p, pc->o.n, pc, d);
	}
	sb_free(v);
	return st;
}

static sb_status end(void *self, sb_diag *d)
{
	writer *w = self;
	sb_status st = SB_OK;
	for (int k = 0; k < w->n; k++) {
		sb_diag cd;
		sb_diag_clear(&cd);
		sb_status ws = w->sc[k].ow ? sb_owriter_finish(w->sc[k].ow, &cd) : SB_OK;
		w->sc[k].ow = NULL;
		if (ws && !st) {
			st = ws;
			*d = cd;
		}
		if (sb_outdir_finish(w->out, w->sc[k].out, &cd) && !st) {
			st = cd.code;
			*d = cd;
		}
		w->sc[k].out = NULL;
	}
	return st;
}

static void release(void *self)
{
	writer *w = self;
	/* Unfinished streams belong to the output folder, which removes
	 * them when the run is not committed; their writers hand their
	 * buffers back to the pool. */
	for (int k = 0; w->sc && k < w->n; k++)
		sb_owriter_free(w->sc[k].ow);
	for (int i = 0; i < w->npool; i++)
		sb_obuf_release(&w->pool[i]);
	if (w->locked)
		pthread_mutex_destroy(&w->lock);
	sb_free(w->sc);
	sb_free(w);
}

static const sb_sink_ops ops = {
	.name = "settlements",
	.begin = begin,
	.thread_new = thread_new,
	.partition = partition,
	.claim = claim,
	.partition_end = partition_end,
	.commit = commit,
	.discard = discard,
	.thread_free = thread_free,
	.end = end,
	.release = release,
};

sb_status sb_settlements_sink_new(sb_sink *out)
{
	writer *w = sb_calloc(1, sizeof *w);
	if (!w)
		return SB_ENOMEM;
	out->ops = &ops;
	out->self = w;
	return SB_OK;
}
