/* batch.c: runs a batch settlement end to end: policies, people, the two
 * claim passes, then rejects.csv and summary.json with the reconciliation
 * (input rows = settled + rejected; fund + oop = total). Spill files are
 * unlinked as soon as they are open, so nothing is left behind; outputs are
 * committed together when the run has succeeded (io/outfile.h). */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

#include "base/arena.h"
#include "batch/dist.h"
#include "batch/pass_int.h"
#include "io/outfile.h"

#define DEFAULT_PARTITION_BYTES ((size_t)32 << 20)
#define MAX_PARTITIONS 256

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* An unlinked spill file in dir: O_TMPFILE, or a name removed at once. */
static int spill_fd(const char *dir, char *tmp, size_t n, int i)
{
	int fd;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || errno == EMFILE || errno == ENFILE)
		return fd;
#endif
	snprintf(tmp, n, "%s/.sanbao-spill-%ld-%d", dir, (long)getpid(), i);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(tmp);
	return fd;
}

/* The bytes of claim records pass 1 keeps in memory for pass 2 rather
 * than spilling them: SANBAO_CLAIMS_MEMORY from the environment, in bytes,
 * or "ram/N" for that share of the machine's memory (a province's 4
 * million claims take about 350 MB). The default is 0, every claim
 * spilled: on the bench's machine keeping them saved no CPU time
 * reliably (fresh anonymous pages cost what the spill's page-cache copies
 * cost) and raised the peak RSS by half (README, Performance). */
static int64_t claims_memory(void)
{
	const char *e = getenv("SANBAO_CLAIMS_MEMORY");
	if (!e || !*e)
		return 0;
	char *end;
	errno = 0;
	if (!strncmp(e, "ram/", 4)) {
		long long k = strtoll(e + 4, &end, 10);
		long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
		return !errno && !*end && k > 0 && pages > 0 && page > 0 ?
			       (int64_t)pages * page / k : 0;
	}
	long long v = strtoll(e, &end, 10);
	return !errno && !*end && v >= 0 ? v : 0;
}

void sb_batch_free_blocks(sb_batch *b, int p)
{
	for (int i = p < 0 ? 0 : p; b->mem && i < (p < 0 ? b->partitions : p + 1); i++)
		atomic_store(&b->mem[i], NULL);
}

char *sb_batch_region(sb_batch *b, size_t n)
{
	pthread_mutex_lock(&b->region_lock);
	char *p = NULL;
	if (b->nregions == b->capregions) {
		size_t cap = b->capregions ? b->capregions * 2 : 16;
		struct sb_region *v = sb_realloc(b->regions, cap * sizeof *v);
		if (v) {
			b->regions = v;
			b->capregions = cap;
		}
	}
	if (b->nregions < b->capregions && (p = sb_huge_alloc(n)))
		b->regions[b->nregions++] = (struct sb_region){p, n};
	pthread_mutex_unlock(&b->region_lock);
	return p;
}

void sb_batch_free_regions(sb_batch *b)
{
	for (size_t i = 0; i < b->nregions; i++)
		sb_huge_free(b->regions[i].p, b->regions[i].n);
	b->nregions = 0;
}

static sb_status open_spill(sb_batch *b, sb_diag *d)
{
	const char *dir = b->cfg->tmp_dir ? b->cfg->tmp_dir : b->cfg->out_dir;
	b->rid_fd = -1;
	b->mem_budget = claims_memory();
	atomic_store(&b->mem_used, 0);
	if (pthread_mutex_init(&b->region_lock, NULL))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	b->region_lock_ok = true;
	if (!(b->mem = sb_calloc((size_t)b->partitions, sizeof *b->mem)))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	b->part_fd = sb_malloc((size_t)b->partitions * sizeof *b->part_fd);
	b->part_size = sb_calloc((size_t)b->partitions, sizeof *b->part_size);
	if (!b->part_fd || !b->part_size)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; i < b->partitions; i++)
		b->part_fd[i] = -1;
	for (int i = 0; i < b->partitions; i++) {
		int fd = spill_fd(dir, b->tmp, sizeof b->tmp, i);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE))
			return sb_diag_set(d, SB_EIO, NULL, 0, 0,
					   "too many open files: this run needs about %d file "
					   "descriptors (a spill file for each of %d partitions); "
					   "raise the limit (ulimit -n) or use larger partitions",
					   b->partitions + 65, b->partitions);
		if (fd < 0)
			return sb_diag_set(d, SB_EIO, dir, 0, 0, "cannot create a spill file: %s",
					   strerror(errno));
		b->part_fd[i] = fd;
	}
	if ((b->rid_fd = spill_fd(dir, b->tmp, sizeof b->tmp, b->partitions)) < 0)
		return sb_diag_set(d, SB_EIO, dir, 0, 0, "cannot create a spill file: %s",
				   strerror(errno));
	snprintf(b->tmp, sizeof b->tmp, "%s", dir);
	return SB_OK;
}

static void close_spill(sb_batch *b)
{
	for (int i = 0; i < b->partitions; i++)
		if (b->part_fd && b->part_fd[i] >= 0)
			close(b->part_fd[i]);
	if (b->rid_fd >= 0)
		close(b->rid_fd);
	sb_free(b->part_fd);
	sb_free((void *)b->part_size);
	sb_batch_free_blocks(b, -1);
	sb_free((void *)b->mem);
	b->mem = NULL;
	sb_batch_free_regions(b);
	sb_free(b->regions);
	b->regions = NULL;
	b->capregions = 0;
	if (b->region_lock_ok)
		pthread_mutex_destroy(&b->region_lock);
	b->region_lock_ok = false;
	sb_free(b->chunk_base);
	sb_pass_idset_release(b);
}

/* ---- progress --------------------------------------------------------- */

struct sb_progress_state {
	double start, interval;
	_Atomic double next;
	atomic_flag busy;
	atomic_int stage;
};

static void report(sb_batch *b, double t)
{
	struct sb_progress_state *p = b->progress;
	sb_batch_progress r = {.stage = (sb_batch_stage)atomic_load(&p->stage),
			       .seconds = t - p->start};
	if (r.stage == SB_BATCH_READING) {
		r.done = atomic_load(&b->bytes_done);
		r.total = b->file_bytes;
	} else if (r.stage == SB_BATCH_SETTLING) {
		r.done = atomic_load(&b->parts_done);
		r.total = b->partitions;
	}
	b->cfg->progress(b->cfg->progress_arg, &r);
}

void sb_batch_tick(sb_batch *b)
{
	struct sb_progress_state *p = b->progress;
	if (!p)
		return;
	double t = now();
	if (t < atomic_load(&p->next) || atomic_flag_test_and_set(&p->busy))
		return;
	atomic_store(&p->next, t + p->interval);
	report(b, t);
	atomic_flag_clear(&p->busy);
}

/* A stage starts: called by the thread that runs the batch. */
static void stage(sb_batch *b, sb_batch_stage s)
{
	struct sb_progress_state *p = b->progress;
	if (!p)
		return;
	while (atomic_flag_test_and_set(&p->busy))
		sched_yield(); /* a worker is in the callback */
	atomic_store(&p->stage, (int)s);
	double t = now();
	atomic_store(&p->next, t + p->interval);
	report(b, t);
	atomic_flag_clear(&p->busy);
}

/* ---- outputs ------------------------------------------------------------ */

typedef struct reject_writer {
	sb_out *o;
	const sb_batch_config *cfg;
	const char *files[3];
	bool show_ids;
	char buf[SB_REJECT_REASON_MAX + 256];
} reject_writer;

/* A human-facing field: resident IDs masked unless --show-ids. */
static void put_text(reject_writer *w, const char *p, size_t n)
{
	if (!w->show_ids && n <= sizeof w->buf && n >= SB_ID_LEN &&
	    sb_mask_id_tokens(p, n, w->buf))
		p = w->buf;
	sb_out_field(w->o, p, n);
}

static sb_status put_reject(void *arg, const sb_reject *x)
{
	reject_writer *w = arg;
	const char *file = x->file < 3 ? w->files[x->file] : "";
	put_text(w, file, strlen(file));
	sb_out_char(w->o, ',');
	sb_out_i64(w->o, (int64_t)sb_dist_line(w->cfg, x->file, x->line));
	sb_out_char(w->o, ',');
	put_text(w, x->id, x->idlen);
	sb_out_char(w->o, ',');
	put_text(w, x->reason, x->reasonlen);
	sb_out_char(w->o, '\n');
	return w->o->err ? SB_EIO : SB_OK;
}

/* rejects.csv: every rejected row in (file, line) order, merged from the
 * spilled runs (batch/rejects.h). */
static sb_status write_rejects(const sb_batch *b, sb_rejects *r, sb_diag *d)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/rejects.csv", b->cfg->out_dir);
	FILE *f = sb_outdir_create(b->out, "rejects.csv", d);
	if (!f)
		return d->code;
	reject_writer *w = sb_malloc(sizeof *w);
	sb_out *o = sb_malloc(sizeof *o);
	if (!w || !o) {
		sb_free(w);
		sb_free(o);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	sb_out_init_file(o, f);
	w->o = o;
	w->cfg = b->cfg;
	w->show_ids = b->cfg->show_ids;
	const sb_batch_dist *x = b->cfg->dist;
	w->files[0] = base_name(x ? x->persons_path : b->cfg->persons_path);
	const char *ip = x ? x->identities_path : b->cfg->identities_path;
	w->files[1] = ip ? base_name(ip) : "";
	w->files[2] = base_name(x ? x->claims_path : b->cfg->claims_path);
	sb_out_str(o, "file,line,id,reason\n");
	sb_status st = sb_rejects_each(r, put_reject, w, d);
	sb_diag cd;
	sb_diag_clear(&cd);
	sb_status cs = sb_out_close(o, path, &cd);
	if (st == SB_EIO && o->err)
		st = SB_OK; /* the writer's error, reported below with its file */
	if (!st && cs) {
		st = cs;
		*d = cd;
	}
	if (!st)
		st = sb_outdir_finish(b->out, f, d);
	sb_free(o);
	sb_free(w);
	return st;
}

/* An input path, resident IDs in it masked unless --show-ids. */
static void json_path(FILE *f, const sb_batch *b, const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (!b->cfg->show_ids && n < sizeof buf && sb_mask_id_tokens(path, n, buf)) {
		buf[n] = '\0';
		path = buf;
	}
	sb_json_str(f, path);
}

static void sb_json_fen(FILE *f, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	fputs(buf, f);
}

static void json_layers(FILE *f, const sb_batch *b, const sb_layer_sum *l, const char *indent)
{
	const int *order;
	sb_policyset_layer_order(b->set, &order);
	fputs("{", f);
	for (int i = 0; i < b->nlayers; i++) {
		const sb_layer_sum *x = &l[order[i]];
		fprintf(f, "%s\n%s  ", i ? "," : "", indent);
		sb_json_str(f, sb_policyset_symbol_name(b->set, SB_SYM_LAYER, order[i]));
		fprintf(f, ": {\"claims_paid\": %lld, \"paid\": ", x->claims);
		sb_json_fen(f, x->paid);
		fputs(", \"penalty\": ", f);
		sb_json_fen(f, x->penalty);
		fputs("}", f);
	}
	fprintf(f, "\n%s}", indent);
}

/* The monitor's JSON goes both into monitor.json and into summary.json:
 * it is rendered once (the financial-protection measures walk every
 * household). */
/* A sum's money and its layers: the same fields for the totals and for
 * each region. */
static void json_sum(FILE *f, const sb_batch *b, const sb_region_sum *g, const char *indent)
{
	fputs("\"total\": ", f);
	sb_json_fen(f, g->total);
	fputs(", \"in_scope\": ", f);
	sb_json_fen(f, g->in_scope);
	fputs(", \"fund\": ", f);
	sb_json_fen(f, g->fund);
	fputs(", \"oop\": ", f);
	sb_json_fen(f, g->oop);
	fputs(", \"oop_in_scope\": ", f);
	sb_json_fen(f, g->oop_in_scope);
	fprintf(f, ",\n%s\"layers\": ", indent);
	json_layers(f, b, g->layer, indent);
}

static sb_status write_monitor(const sb_batch *b, const char *json, sb_diag *d)
{
	FILE *f = sb_outdir_create(b->out, "monitor.json", d);
	if (!f)
		return d->code;
	fputs(json, f);
	fputc('\n', f);
	return sb_outdir_finish(b->out, f, d);
}

static sb_status write_summary(const sb_batch *b, const sb_batch_counts *n,
			       const sb_pass1_result *p1, sb_pass2_result *p2,
			       const sb_batch_totals *t, const char *monitor, const char *run_extra,
			       sb_diag *d)
{
	const sb_batch_dist *x = b->cfg->dist;
	FILE *f = sb_outdir_create(b->out, "summary.json", d);
	if (!f)
		return d->code;
	long long rejected = p1->rejected + p2->rejected;
	sb_fen in_total = p2->all.total + p1->rejected_total + p2->rejected_total;
	fputs("{\n  \"inputs\": {\"persons\": ", f);
	json_path(f, b, x ? x->persons_path : b->cfg->persons_path);
	const char *ip = x ? x->identities_path : b->cfg->identities_path;
	fputs(", \"identities\": ", f);
	json_path(f, b, ip ? ip : "");
	fputs(", \"claims\": ", f);
	json_path(f, b, x ? x->claims_path : b->cfg->claims_path);
	fputs(", \"policies\": ", f);
	json_path(f, b, b->cfg->policies_dir);
	fprintf(f, "},\n  \"persons\": {\"rows\": %lld, \"enrolled\": %lld, \"rejected\": %lld},\n",
		n->person_rows, n->enrolled, n->persons_rejected);
	fprintf(f, "  \"identities\": {\"rows\": %lld, \"loaded\": %lld, \"rejected\": %lld},\n",
		n->identity_rows, n->identities_loaded, n->identities_rejected);
	fprintf(f, "  \"claims\": {\"rows\": %lld, \"settled\": %lld, \"rejected\": %lld},\n",
		p1->rows, p2->all.claims, rejected);
	fputs("  \"money\": {", f);
	json_sum(f, b, &p2->all, "    ");
	fputs("},\n  \"regions\": [", f);
	for (size_t g = 0; g < sb_policyset_count(b->set); g++) {
		const sb_policy *pol = sb_policyset_at(b->set, g);
		const sb_region_sum *r = &p2->regions[g];
		fprintf(f, "%s\n    {\"region\": \"%s\", \"name\": ", g ? "," : "", sb_policy_region(pol));
		sb_json_str(f, sb_policy_name(pol));
		fprintf(f, ", \"claims\": %lld, ", r->claims);
		json_sum(f, b, r, "     ");
		fputs("}", f);
	}
	fputs("\n  ],\n  \"reconciliation\": {", f);
	fprintf(f, "\n    \"rows\": {\"input\": %lld, \"settled\": %lld, \"rejected\": %lld, "
		   "\"balanced\": %s},",
		p1->rows, p2->all.claims, rejected, p1->rows == p2->all.claims + rejected ? "true" : "false");
	fputs("\n    \"money\": {\"input_total\": ", f);
	sb_json_fen(f, in_total);
	fputs(", \"settled_total\": ", f);
	sb_json_fen(f, p2->all.total);
	fputs(", \"rejected_total\": ", f);
	sb_json_fen(f, p1->rejected_total + p2->rejected_total);
	fprintf(f, ", \"rejected_rows_without_a_readable_total\": %lld,", p1->rejected_unreadable);
	fputs("\n              \"fund_plus_oop\": ", f);
	sb_json_fen(f, p2->all.fund + p2->all.oop);
	fprintf(f, ", \"fund_plus_oop_equals_total\": %s, \"every_layer_within_its_base\": %s}",
		p2->all.fund + p2->all.oop == p2->all.total ? "true" : "false",
		p2->identities_ok ? "true" : "false");
	/* Where pass 1 left the claims for pass 2: memory blocks (whole
	 * blocks of 64 KiB) and spill files. */
	long long spilled = 0;
	for (int i = 0; b->part_size && i < b->partitions; i++)
		spilled += (long long)atomic_load(&b->part_size[i]);
	fprintf(f, "\n  },\n  \"run\": {\"threads\": %d, \"partitions\": %d, \"seconds\": %.3f, "
		   "\"stages\": {\"policies_and_persons\": %.3f, \"read_claims\": %.3f, "
		   "\"duplicate_ids\": %.3f, \"settle_and_write\": %.3f}, "
		   "\"claims_in_memory_bytes\": %lld, \"claims_spilled_bytes\": %lld%s%s}",
		t->threads, t->partitions, t->seconds, t->stage[0], t->stage[1], t->stage[2],
		t->stage[3], (long long)atomic_load(&b->mem_used), spilled,
		*run_extra ? ", " : "", run_extra);
	if (monitor) {
		fputs(",\n  \"monitor\": ", f);
		fputs(monitor, f);
	}
	fputs("\n}\n", f);
	return sb_outdir_finish(b->out, f, d);
}

/* The outputs of each run kind; the last is the marker, written last. A
 * kind's outputs that a run does not write are stale and removed. */
static const char *const settle_outputs[] = {"settlements.csv", "warnings.csv", "approaching.csv",
					     "rejects.csv", "monitor.json", "summary.json", NULL};
static const char *const settle_plain[] = {"settlements.csv", "rejects.csv", "summary.json", NULL};
static const char *const settle_stale[] = {"warnings.csv", "approaching.csv", "monitor.json", NULL};
static const char *const monitor_outputs[] = {"warnings.csv", "approaching.csv", "rejects.csv",
					      "monitor.json", NULL};

/* Refuses inputs that are outputs, and monitor over a settlement's folder. */
static sb_status check_inputs(const sb_batch *b, sb_diag *d)
{
	const sb_batch_config *cfg = b->cfg;
	const char *const *writes = cfg->monitor_only ? monitor_outputs :
				    cfg->monitor ? settle_outputs : settle_plain;
	const char *const *removes = cfg->monitor_only || cfg->monitor ? NULL : settle_stale;
	const char *dir = cfg->out_dir;
	sb_status st;
	if ((st = sb_out_refuse_input(dir, writes, removes, "the persons file", cfg->persons_path,
				      d)) ||
	    (st = sb_out_refuse_input(dir, writes, removes, "the identities file",
				      cfg->identities_path, d)) ||
	    (st = sb_out_refuse_input(dir, writes, removes,
				      cfg->monitor_only ? "the settlements file" : "the claims file",
				      cfg->claims_path, d)) ||
	    (st = sb_out_refuse_input(dir, writes, removes, "a file of the policy folder",
				      cfg->policies_dir, d)))
		return st;
	if (cfg->monitor_only) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/summary.json", dir);
		if (!access(path, F_OK))
			return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
					   "%s holds the outputs of `sanbao settle` (summary.json): "
					   "`sanbao monitor` would replace its rejects.csv; write the "
					   "monitor's outputs to another --out", dir);
	}
	return SB_OK;
}

sb_status sb_batch_settle(const sb_batch_config *cfg, sb_batch_totals *t, sb_diag *d)
{
	double start = now();
	memset(t, 0, sizeof *t);
	sb_batch *b = sb_calloc(1, sizeof *b);
	if (!b)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	b->cfg = cfg;
	b->rid_fd = -1;
	struct sb_progress_state prog;
	memset(&prog, 0, sizeof prog);
	atomic_flag_clear(&prog.busy);
	prog.start = start;
	prog.interval = cfg->progress_interval > 0 ? cfg->progress_interval : 0.25;
	if (cfg->progress)
		b->progress = &prog;
	stage(b, SB_BATCH_LOADING);
	snprintf(b->tmp, sizeof b->tmp, "%s", cfg->tmp_dir ? cfg->tmp_dir : cfg->out_dir);
	sb_rejects_init(&b->rejects, b->tmp);
	sb_pass1_result p1;
	sb_pass2_result p2;
	memset(&p1, 0, sizeof p1);
	memset(&p2, 0, sizeof p2);
	sb_rejects_init(&p1.rejects, b->tmp);
	sb_dup *dups = NULL;
	size_t ndups = 0;
	sb_status st;
	if ((st = sb_outdir_open(cfg->out_dir, &b->out, d)) || (st = check_inputs(b, d)))
		goto done;
	if ((st = sb_policyset_new(&b->set))) {
		sb_diag_set(d, st, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((cfg->policy_root && (st = sb_policyset_set_root(b->set, cfg->policy_root, d))) ||
	    (st = sb_policyset_load_dir(b->set, cfg->policies_dir, d)))
		goto done;
	b->nlayers = sb_policyset_symbol_count(b->set, SB_SYM_LAYER);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	b->threads = cfg->threads > 0 ? cfg->threads : cores > 0 ? (int)cores : 1;
	if (b->threads > 64)
		b->threads = 64;
	if ((st = sb_batch_load_people(b, d)))
		goto done;
	double t_people = now();
	t->persons_rejected = b->rejects.count[0];
	t->identities_rejected = b->rejects.count[1];
	struct stat sbuf;
	if (stat(cfg->claims_path, &sbuf)) {
		st = sb_diag_set(d, SB_EIO, cfg->claims_path, 0, 0, "cannot open: %s", strerror(errno));
		goto done;
	}
	/* Partitions depend on the input size only, never on the threads, so
	 * that the output order is the same for any thread count. */
	size_t per = cfg->partition_bytes ? cfg->partition_bytes : DEFAULT_PARTITION_BYTES;
	size_t parts = (size_t)sbuf.st_size / per + 1;
	b->partitions = (int)(parts > MAX_PARTITIONS ? MAX_PARTITIONS : parts);
	if ((st = open_spill(b, d)))
		goto done;

	stage(b, SB_BATCH_READING);
	st = sb_pass1(b, &p1, d);
	double t_read = now();
	if (!st && !cfg->dist)
		st = sb_pass_dups(b, &dups, &ndups, d);
	double t_dups = now();
	if (!st) {
		stage(b, SB_BATCH_SETTLING);
		st = cfg->dist ? sb_pass2(b, cfg->dist->dups, cfg->dist->ndups, &p2, d) :
				 sb_pass2(b, dups, ndups, &p2, d);
	}
	double t_settle = now();
	t->stage[0] = t_people - start;
	t->stage[1] = t_read - t_people;
	t->stage[2] = t_dups - t_read;
	t->stage[3] = t_settle - t_dups;
	sb_batch_counts cnt = {b->person_rows, (long long)b->npersons, b->rejects.count[0],
			       b->identity_rows, (long long)b->nidents, b->rejects.count[1]};
	char run_extra[1024] = "";
	if (!st && cfg->dist && cfg->dist->reduce)
		st = cfg->dist->reduce(cfg->dist->arg, b, &cnt, &p1, &p2, t->stage, run_extra,
				       sizeof run_extra, d);
	if (st)
		goto done;
	t->persons_rejected = cnt.persons_rejected;
	t->identities_rejected = cnt.identities_rejected;
	/* The input total is settled + rejected: every sum checked, so that
	 * the reconciliation can never be "balanced" by a wrapped sum. */
	sb_fen rejected_total = p1.rejected_total, in_total = p2.all.total;
	if (!sb_fen_add(&rejected_total, p2.rejected_total) ||
	    !sb_fen_add(&in_total, rejected_total)) {
		st = sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				 "the totals of the claims add up to more than a 64-bit sum of fen "
				 "holds");
		goto done;
	}
	stage(b, SB_BATCH_WRITING);

	sb_rejects all;
	memset(&all, 0, sizeof all);
	sb_rejects_init(&all, b->tmp);
	if ((st = sb_pass_take_rejects(&all, &b->rejects)) ||
	    (st = sb_pass_take_rejects(&all, &p1.rejects)) ||
	    (st = sb_pass_take_rejects(&all, &p2.rejects))) {
		sb_rejects_release(&all);
		if (st == SB_ENOMEM)
			sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		else
			sb_diag_set(d, st, b->tmp, 0, 0, "cannot spill rejected rows to a temporary "
				    "file: %s", strerror(all.err ? all.err : EIO));
		goto done;
	}
	st = write_rejects(b, &all, d);
	sb_rejects_release(&all);
	if (st)
		goto done;
	t->person_rows = cnt.person_rows;
	t->identity_rows = cnt.identity_rows;
	t->claim_rows = p1.rows;
	t->settled = p2.all.claims;
	t->rejected = p1.rejected + p2.rejected;
	t->total = p2.all.total;
	t->fund = p2.all.fund;
	t->oop = p2.all.oop;
	t->rejected_total = p1.rejected_total + p2.rejected_total;
	t->rejected_unreadable = p1.rejected_unreadable;
	t->threads = b->threads;
	t->partitions = b->partitions;
	t->explained = p2.explained;
	const int *order;
	sb_policyset_layer_order(b->set, &order);
	for (int i = 0; i < b->nlayers && i < 64; i++) {
		snprintf(t->layer_id[i], sizeof t->layer_id[i], "%s",
			 sb_policyset_symbol_name(b->set, SB_SYM_LAYER, order[i]));
		t->layer_paid[i] = p2.all.layer[order[i]].paid;
		t->layer_claims[i] = p2.all.layer[order[i]].claims;
		t->nlayers = i + 1;
	}
	t->seconds = now() - start;
	char *monitor = NULL;
	size_t monitor_len = 0;
	if (cfg->monitor) {
		FILE *mf = open_memstream(&monitor, &monitor_len);
		if (!mf) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
		st = sb_pass2_monitor_json(&p2, mf, "", d);
		if (fclose(mf) || st) {
			free(monitor);
			if (!st)
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
	}
	/* summary.json last: it is the mark of a complete run. */
	if (cfg->monitor)
		st = write_monitor(b, monitor, d);
	if (!st && !cfg->monitor_only)
		st = write_summary(b, &cnt, &p1, &p2, t, monitor, run_extra, d);
	free(monitor);
	if (!st)
		st = sb_outdir_commit(b->out, cfg->monitor || cfg->monitor_only ? NULL : settle_stale,
				      d);
	t->warnings = p2.mon.warnings;
	t->approaching = p2.mon.approaching;
	t->unresolved = p2.mon.unresolved;
done:
	if (st && d->code == SB_OK)
		sb_diag_set(d, st, NULL, 0, 0, "the run failed: %s", sb_strerror(st));
	sb_outdir_close(b->out); /* removes what was not committed; unlocks */
	sb_free(dups);
	sb_rejects_release(&p1.rejects);
	sb_pass2_release(&p2, b);
	close_spill(b);
	sb_batch_release_people(b);
	sb_policyset_free(b->set);
	stage(b, SB_BATCH_DONE);
	sb_free(b);
	return st;
}
