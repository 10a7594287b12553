/* audit.c: one `sanbao audit` run: the rule file and the extract's audit
 * columns are read, the batch settles the claims again with the audit sink
 * among its sinks (so the recomputation is settle's own), and the evidence
 * file is written over the committed outputs and the inputs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The policy files of dir (*.yaml, sorted), as paths the caller frees. */
static sb_status policy_files(const char *dir, char ***out, size_t *n, sb_diag *d)
{
	*out = NULL;
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return SB_OK; /* the batch says why */
	size_t cap = 0;
	struct dirent *e;
	sb_status st = SB_OK;
	while (!st && (e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **v = sb_realloc(*out, cap * sizeof *v);
			if (!v) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			*out = v;
		}
		size_t m = strlen(dir) + len + 2;
		if (!((*out)[*n] = sb_malloc(m))) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		snprintf((*out)[*n], m, "%s/%s", dir, e->d_name);
		(*n)++;
	}
	closedir(dp);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_str);
	return st;
}

sb_status sb_audit_run(const sb_audit_config *cfg, sb_audit_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	sb_audit_rules rules;
	sb_audit_extract x;
	memset(&x, 0, sizeof x);
	char **pols = NULL;
	size_t npols = 0;
	sb_status st = sb_audit_rules_load(cfg->rules_path, &rules, d);
	if (!st)
		st = sb_audit_extract_read(cfg->claims_path, &x, d);
	if (st)
		goto out;
	t->claims_read = x.rows_read;
	sb_audit_ctx ctx = {.rules = &rules, .extract = &x, .totals = t};
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
	if ((st = sb_batch_settle(&b, &t->batch, d)))
		goto out;
	/* The outputs are committed: an earlier run's evidence no longer
	 * describes them. Better none than a stale one, if writing the new
	 * one fails. */
	char old[4200];
	snprintf(old, sizeof old, "%s/evidence.txt", cfg->out_dir);
	if (unlink(old) && errno != ENOENT) {
		st = sb_diag_set(d, SB_EIO, old, 0, 0, "cannot remove the earlier %s: %s", old,
				 strerror(errno));
		goto out;
	}
	static const char *const outputs[] = {"findings.csv", "traces.json", "audit.json",
					      "settlements.csv", "rejects.csv", "summary.json",
					      NULL};
	if ((st = policy_files(cfg->policies_dir, &pols, &npols, d)))
		goto out;
	const char **inputs = sb_calloc(npols + 5, sizeof *inputs);
	if (!inputs) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	size_t k = 0;
	inputs[k++] = cfg->rules_path;
	inputs[k++] = cfg->persons_path;
	if (cfg->identities_path)
		inputs[k++] = cfg->identities_path;
	inputs[k++] = cfg->claims_path;
	for (size_t i = 0; i < npols; i++)
		inputs[k++] = pols[i];
	st = sb_audit_evidence_write(cfg->out_dir, outputs, inputs, t->root, d);
	sb_free(inputs);
out:
	for (size_t i = 0; i < npols; i++)
		sb_free(pols[i]);
	sb_free(pols);
	sb_audit_extract_release(&x);
	sb_audit_rules_release(&rules);
	return st;
}
