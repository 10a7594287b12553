/* audit.c: one `sanbao audit` run: the rule file is read, the extract's
 * audit columns are read on a thread of their own while the batch loads
 * the persons and reads the claims, the batch settles the claims again
 * with the audit sink among its sinks (so the recomputation is settle's
 * own), and the evidence file is written over the committed outputs and
 * the inputs. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_int.h"

struct sb_audit_reader {
	const char *path;
	int threads;
	sb_audit_extract *x;
	pthread_t tid;
	bool started, joined;
	sb_status st;
	sb_diag d;
};

static void *reader_run(void *arg)
{
	sb_audit_reader *r = arg;
	sb_diag_clear(&r->d);
	r->st = sb_audit_extract_read(r->path, r->threads, r->x, &r->d);
	return NULL;
}

static void reader_join(sb_audit_reader *r)
{
	if (r->started && !r->joined)
		pthread_join(r->tid, NULL);
	r->joined = true;
}

sb_status sb_audit_ready(const sb_audit_ctx *ctx, sb_diag *d)
{
	sb_audit_reader *r = ctx->reader;
	if (!r)
		return SB_OK;
	reader_join(r);
	if (r->st)
		*d = r->d;
	return r->st;
}

sb_status sb_audit_run(const sb_audit_config *cfg, sb_audit_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	sb_audit_rules rules;
	sb_audit_extract x;
	memset(&x, 0, sizeof x);
	sb_audit_reader rd = { .path = cfg->claims_path, .threads = cfg->threads, .x = &x };
	sb_audit_ctx ctx = { .rules = &rules, .extract = &x, .totals = t };
	sb_status st = sb_audit_rules_load(cfg->rules_path, &rules, d);
	if (st)
		goto out;
	/* The extract is read while the batch loads the policies and persons
	 * and reads the claims, which leave a core idle much of the time; the
	 * audit's sink waits for it before the first claim is settled. One
	 * thread asked for, one thread used: the read comes first. */
	if (cfg->threads != 1) {
		rd.started = !pthread_create(&rd.tid, NULL, reader_run, &rd);
		if (rd.started)
			ctx.reader = &rd;
	}
	if (!ctx.reader && (st = sb_audit_extract_read(cfg->claims_path, cfg->threads, &x, d)))
		goto out;
	sb_batch_config b;
	memset(&b, 0, sizeof b);
	b.policies_dir = cfg->policies_dir;
	b.persons_path = cfg->persons_path;
	b.identities_path = cfg->identities_path;
	b.claims_path = cfg->claims_path;
	b.out_dir = cfg->out_dir;
	b.tmp_dir = cfg->tmp_dir;
	b.threads = cfg->threads;
	b.partition_bytes = cfg->partition_bytes;
	b.progress = cfg->progress;
	b.audit = &ctx;
	st = sb_batch_settle(&b, &t->batch, d);
	if (ctx.reader) {
		/* An extract that cannot be read is the error, as when it is
		 * read first, whatever the batch met after it. */
		reader_join(&rd);
		if (rd.st) {
			*d = rd.d;
			st = rd.st;
		}
	}
	if (st)
		goto out;
	t->claims_read = x.rows_read;
	static const char *const outputs[] = {
		"findings.csv", "traces.json",  "audit.json", "settlements.csv",
		"rejects.csv",  "summary.json", NULL
	};
	const char *inputs[] = { cfg->rules_path, cfg->persons_path, cfg->identities_path,
				 cfg->claims_path };
	if (cfg->no_evidence) {
		/* An earlier run's evidence would not cover these outputs. */
		char ev[PATH_MAX];
		snprintf(ev, sizeof ev, "%s/evidence.txt", cfg->out_dir);
		if (unlink(ev) && errno != ENOENT)
			st = sb_diag_set(d, SB_EIO, ev, 0, 0, "cannot remove: %s", strerror(errno));
		goto out;
	}
	st = sb_audit_evidence_run(cfg->out_dir, outputs, cfg->policies_dir, inputs, 4, t->root, d);
out:
	reader_join(&rd);
	sb_audit_extract_release(&x);
	sb_audit_rules_release(&rules);
	return st;
}
