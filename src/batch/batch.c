/* batch.c: runs a batch settlement end to end: policies, people, the two
 * claim passes, then rejects.csv and summary.json with the reconciliation
 * (input rows = settled + rejected; fund + oop = total). Spill files are
 * unlinked as soon as they are open, so nothing is left behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "batch/pass_int.h"

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

static sb_status open_spill(sb_batch *b, sb_diag *d)
{
	const char *dir = b->cfg->tmp_dir ? b->cfg->tmp_dir : b->cfg->out_dir;
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)(2 * b->partitions + 64)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	b->part_fd = sb_malloc((size_t)b->partitions * sizeof *b->part_fd);
	b->id_fd = sb_malloc((size_t)b->partitions * sizeof *b->id_fd);
	b->part_size = sb_calloc((size_t)b->partitions, sizeof *b->part_size);
	b->id_size = sb_calloc((size_t)b->partitions, sizeof *b->id_size);
	if (!b->part_fd || !b->id_fd || !b->part_size || !b->id_size)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; i < b->partitions; i++)
		b->part_fd[i] = b->id_fd[i] = -1;
	for (int i = 0; i < 2 * b->partitions; i++) {
		snprintf(b->tmp, sizeof b->tmp, "%s/.sanbao-spill-%ld-%d", dir, (long)getpid(), i);
		int fd = open(b->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return sb_diag_set(d, SB_EIO, b->tmp, 0, 0, "cannot create a spill file: %s",
					   strerror(errno));
		unlink(b->tmp);
		if (i < b->partitions)
			b->part_fd[i] = fd;
		else
			b->id_fd[i - b->partitions] = fd;
	}
	snprintf(b->tmp, sizeof b->tmp, "%s", dir);
	return SB_OK;
}

static void close_spill(sb_batch *b)
{
	for (int i = 0; i < b->partitions; i++) {
		if (b->part_fd && b->part_fd[i] >= 0)
			close(b->part_fd[i]);
		if (b->id_fd && b->id_fd[i] >= 0)
			close(b->id_fd[i]);
	}
	sb_free(b->part_fd);
	sb_free(b->id_fd);
	sb_free((void *)b->part_size);
	sb_free((void *)b->id_size);
	sb_free(b->chunk_base);
}

/* Creates dir and its missing parents; 0 or -1 with errno. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* ---- progress --------------------------------------------------------- */

typedef struct progress {
	sb_batch *b;
	double start;
	atomic_int stage; /* 1 reading, 2 settling, 3 done */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool drawn;
} progress;

static void *draw(void *arg)
{
	progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (atomic_load(&p->stage) < 3) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		double t = now() - p->start;
		int stage = atomic_load(&p->stage);
		if (t < 2.0 || stage >= 3)
			continue;
		double frac = stage == 1 ?
				      (p->b->file_bytes ? (double)atomic_load(&p->b->bytes_done) /
								  (double)p->b->file_bytes : 0) :
				      (double)atomic_load(&p->b->parts_done) / p->b->partitions;
		if (frac > 1)
			frac = 1;
		char bar[31];
		int fill = (int)(frac * 30);
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r%s [%s] %3d%%  %5.1fs ", stage == 1 ? "reading claims " :
			"settling       ", bar, (int)(frac * 100), t);
		p->drawn = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (p->drawn)
		fprintf(stderr, "\r%60s\r", "");
	return NULL;
}

/* ---- outputs ------------------------------------------------------------ */

static int cmp_reject(const void *a, const void *b)
{
	const sb_reject *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static sb_status write_rejects(const sb_batch *b, sb_rejects *r, sb_diag *d)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/rejects.csv", b->cfg->out_dir);
	if (r->n)
		qsort(r->v, r->n, sizeof *r->v, cmp_reject);
	sb_out *o = sb_malloc(sizeof *o);
	if (!o)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_status st = sb_out_open(o, path, d);
	if (st) {
		sb_free(o);
		return st;
	}
	const char *files[3] = {base_name(b->cfg->persons_path),
				b->cfg->identities_path ? base_name(b->cfg->identities_path) : "",
				base_name(b->cfg->claims_path)};
	sb_out_str(o, "file,line,id,reason\n");
	for (size_t i = 0; i < r->n; i++) {
		const sb_reject *x = &r->v[i];
		sb_out_field(o, files[x->file], strlen(files[x->file]));
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)x->line);
		sb_out_char(o, ',');
		sb_out_field(o, x->id, strlen(x->id));
		sb_out_char(o, ',');
		sb_out_field(o, x->reason, strlen(x->reason));
		sb_out_char(o, '\n');
	}
	st = sb_out_close(o, path, d);
	sb_free(o);
	return st;
}

static void sb_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/monitor.json", b->cfg->out_dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	fputs(json, f);
	fputc('\n', f);
	if (fclose(f))
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	return SB_OK;
}

static sb_status write_summary(const sb_batch *b, const sb_pass1_result *p1,
			       sb_pass2_result *p2, const sb_batch_totals *t, const char *monitor,
			       sb_diag *d)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/summary.json", b->cfg->out_dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	long long rejected = p1->rejected + p2->rejected;
	sb_fen in_total = p2->all.total + p1->rejected_total + p2->rejected_total;
	fputs("{\n  \"inputs\": {\"persons\": ", f);
	sb_json_str(f, b->cfg->persons_path);
	fputs(", \"identities\": ", f);
	sb_json_str(f, b->cfg->identities_path ? b->cfg->identities_path : "");
	fputs(", \"claims\": ", f);
	sb_json_str(f, b->cfg->claims_path);
	fputs(", \"policies\": ", f);
	sb_json_str(f, b->cfg->policies_dir);
	fprintf(f, "},\n  \"persons\": {\"rows\": %lld, \"enrolled\": %zu, \"rejected\": %lld},\n",
		b->person_rows, b->npersons, t->persons_rejected);
	fprintf(f, "  \"identities\": {\"rows\": %lld, \"loaded\": %zu, \"rejected\": %lld},\n",
		b->identity_rows, b->nidents, t->identities_rejected);
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
	fprintf(f, "\n  },\n  \"run\": {\"threads\": %d, \"partitions\": %d, \"seconds\": %.3f, "
		   "\"stages\": {\"policies_and_persons\": %.3f, \"read_claims\": %.3f, "
		   "\"duplicate_ids\": %.3f, \"settle_and_write\": %.3f}}",
		t->threads, t->partitions, t->seconds, t->stage[0], t->stage[1], t->stage[2],
		t->stage[3]);
	if (monitor) {
		fputs(",\n  \"monitor\": ", f);
		fputs(monitor, f);
	}
	fputs("\n}\n", f);
	if (fclose(f))
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
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
	sb_pass1_result p1;
	sb_pass2_result p2;
	memset(&p1, 0, sizeof p1);
	memset(&p2, 0, sizeof p2);
	sb_dup *dups = NULL;
	size_t ndups = 0;
	sb_status st;
	if (mkdir_p(cfg->out_dir)) {
		st = sb_diag_set(d, SB_EIO, cfg->out_dir, 0, 0, "cannot create the output folder: %s",
				 strerror(errno));
		goto done;
	}
	if ((st = sb_policyset_new(&b->set))) {
		sb_diag_set(d, st, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((st = sb_policyset_load_dir(b->set, cfg->policies_dir, d)))
		goto done;
	b->nlayers = sb_policyset_symbol_count(b->set, SB_SYM_LAYER);
	if ((st = sb_batch_load_people(b, d)))
		goto done;
	double t_people = now();
	for (size_t i = 0; i < b->rejects.n; i++) {
		if (b->rejects.v[i].file == 0)
			t->persons_rejected++;
		else
			t->identities_rejected++;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	b->threads = cfg->threads > 0 ? cfg->threads : cores > 0 ? (int)cores : 1;
	if (b->threads > 64)
		b->threads = 64;
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

	progress prog = {.b = b, .start = start};
	pthread_t ptid;
	bool drawing = cfg->progress && isatty(2);
	atomic_store(&prog.stage, 1);
	pthread_mutex_init(&prog.lock, NULL);
	pthread_cond_init(&prog.cond, NULL);
	if (drawing && pthread_create(&ptid, NULL, draw, &prog))
		drawing = false;
	st = sb_pass1(b, &p1, d);
	double t_read = now();
	if (!st)
		st = sb_pass_dups(b, &dups, &ndups, d);
	double t_dups = now();
	atomic_store(&prog.stage, 2);
	if (!st)
		st = sb_pass2(b, dups, ndups, &p2, d);
	double t_settle = now();
	t->stage[0] = t_people - start;
	t->stage[1] = t_read - t_people;
	t->stage[2] = t_dups - t_read;
	t->stage[3] = t_settle - t_dups;
	atomic_store(&prog.stage, 3);
	if (drawing) {
		pthread_mutex_lock(&prog.lock);
		pthread_cond_signal(&prog.cond);
		pthread_mutex_unlock(&prog.lock);
		pthread_join(ptid, NULL);
	}
	pthread_mutex_destroy(&prog.lock);
	pthread_cond_destroy(&prog.cond);
	if (st)
		goto done;

	sb_rejects all;
	memset(&all, 0, sizeof all);
	if ((st = sb_pass_take_rejects(&all, &b->rejects)) ||
	    (st = sb_pass_take_rejects(&all, &p1.rejects)) ||
	    (st = sb_pass_take_rejects(&all, &p2.rejects))) {
		sb_rejects_release(&all);
		sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	st = write_rejects(b, &all, d);
	sb_rejects_release(&all);
	if (st)
		goto done;
	t->person_rows = b->person_rows;
	t->identity_rows = b->identity_rows;
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
	if (!cfg->monitor_only)
		st = write_summary(b, &p1, &p2, t, monitor, d);
	if (!st && cfg->monitor)
		st = write_monitor(b, monitor, d);
	free(monitor);
	t->warnings = p2.mon.warnings;
	t->approaching = p2.mon.approaching;
	t->unresolved = p2.mon.unresolved;
done:
	sb_free(dups);
	sb_rejects_release(&p1.rejects);
	sb_pass2_release(&p2, b);
	close_spill(b);
	sb_batch_release_people(b);
	sb_policyset_free(b->set);
	sb_free(b);
	return st;
}
