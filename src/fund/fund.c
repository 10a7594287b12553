/* fund.c: sb_fund_run: loads the policies, reads the inputs (read.c),
 * computes the accounts with the adjustment fund between the years
 * (accounts.c, adjust.c) and the indicators (indicators.c), and writes the
 * outputs (write.c) into the locked output folder, all or nothing. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fund/fund_int.h"

static void release(fund_run *r)
{
	sb_free(r->regions);
	sb_free(r->persons);
	sb_free(r->seq);
	sb_free(r->seq_of);
	sb_free(r->seq_hh);
	sb_free(r->ids);
	sb_free(r->id_person);
	sb_free(r->hh_members);
	sb_free(r->hh_income);
	sb_free(r->layers);
	sb_free(r->layer_paid);
	sb_free(r->layer_claims);
	for (int y = 0; y < FUND_NY; y++)
		sb_free(r->oop[y]);
	sb_free(r->ind);
	sb_free(r->ind_has);
	sb_free(r->ind_rank);
	sb_policyset_free(r->set);
}

/* The province is the one policy whose code ends in 0000 and shares the
 * regions' first two digits; a run covers one province. */
static sb_status find_province(fund_run *r, sb_diag *d)
{
	if (!r->nregions)
		return sb_diag_set(d, SB_EINPUT, r->cfg->policies_dir, 0, 0,
				   "no pooling region among the policies (only province files)");
	for (size_t i = 1; i < r->nregions; i++)
		if (memcmp(r->regions[i].code, r->regions[0].code, 2))
			return sb_diag_set(d, SB_EINPUT, r->cfg->policies_dir, 0, 0,
					   "regions %s and %s are in different provinces: run fund "
					   "once per province",
					   r->regions[0].code, r->regions[i].code);
	snprintf(r->province, sizeof r->province, "%.2s0000", r->regions[0].code);
	r->province_pol = sb_policyset_find(r->set, r->province);
	return SB_OK;
}

typedef struct ids_job {
	fund_run *r;
	sb_status st;
	sb_diag d;
} ids_job;

static void *read_identities(void *arg)
{
	ids_job *j = arg;
	sb_diag_clear(&j->d);
	j->st = sb_fund_read_identities(j->r, &j->d);
	return NULL;
}

sb_status sb_fund_run(const sb_fund_config *cfg, sb_fund_totals *t, sb_diag *d)
{
	fund_run run;
	memset(&run, 0, sizeof run);
	memset(t, 0, sizeof *t);
	run.cfg = cfg;
	run.t = t;
	sb_status st = sb_policyset_new(&run.set);
	if (st)
		return sb_diag_set(d, st, NULL, 0, 0, "out of memory");
	sb_outdir *od = NULL;
	static const char *const writes[] = { "accounts.csv",   "spending.csv", "premiums.csv",
					      "coverage.csv",   "ratios.csv",   "adjustment.csv",
					      "indicators.csv", "fund.json",    NULL };
	const char *inputs[][2] = { { "the persons file", cfg->persons_path },
				    { "the identities file", cfg->identities_path },
				    { "the settlements file", cfg->settlements_path },
				    { "the balances file", cfg->balances_path },
				    { "the adjustment input", cfg->adjustment_path },
				    { "the warnings file", cfg->warnings_path } };
	for (size_t i = 0; !st && i < sizeof inputs / sizeof inputs[0]; i++)
		if (inputs[i][1])
			st = sb_out_refuse_input(cfg->out_dir, writes, NULL, inputs[i][0],
						 inputs[i][1], d);
	if (!st && cfg->policy_root)
		st = sb_policyset_set_root(run.set, cfg->policy_root, d);
	if (!st)
		st = sb_policyset_load_dir(run.set, cfg->policies_dir, d);
	/* identities.csv is read on a thread of its own while the persons
	 * are read; its errors come after theirs and the province's. */
	ids_job ids = { &run, SB_OK, { 0 } };
	pthread_t ids_tid;
	bool ids_thread = !st && cfg->identities_path &&
			  !pthread_create(&ids_tid, NULL, read_identities, &ids);
	if (!st)
		st = sb_fund_read_persons(&run, d);
	if (ids_thread)
		pthread_join(ids_tid, NULL);
	else if (!st)
		read_identities(&ids);
	if (!st)
		st = find_province(&run, d);
	if (!st && ids.st) {
		st = ids.st;
		*d = ids.d;
	}
	if (!st)
		st = sb_fund_link_identities(&run, d);
	if (!st)
		st = sb_fund_read_settlements(&run, d);
	if (!st)
		st = sb_fund_read_balances(&run, d);
	if (!st)
		st = sb_fund_read_adjustment(&run, d);
	if (!st)
		st = sb_fund_read_warnings(&run, d);
	if (!st)
		st = sb_fund_accounts(&run, d);
	if (!st)
		st = sb_fund_compute_indicators(&run, d);
	if (!st)
		st = sb_outdir_open(cfg->out_dir, &od, d);
	if (!st)
		st = sb_fund_write(&run, od, d);
	sb_outdir_close(od);
	t->regions = (long long)run.nregions;
	t->nyears = run.nyears;
	for (int k = 0; k < run.nyears; k++)
		t->years[k] = run.years[run.yorder[k]];
	release(&run);
	return st;
}
