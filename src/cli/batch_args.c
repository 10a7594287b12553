/* batch_args.c: the options the batch commands (settle, compare, monitor,
 * audit) share, parsed once (see cli.h: sb_cli_batch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/batch.h"

static int bad(const sb_cli_batch *b, const char *what)
{
	fprintf(stderr, "sanbao %s: %s\n", b->cmd, what);
	return -1;
}

/* A whole decimal number from lo to hi, or -1. */
static long number(const char *v, long lo, long hi)
{
	char *end;
	long n = strtol(v, &end, 10);
	return *v && !*end && n >= lo && n <= hi ? n : -1;
}

int sb_cli_batch_opt(sb_cli_batch *b, int argc, char **argv, int *i)
{
	sb_batch_config *cfg = b->cfg;
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	const char *pol = b->policies_flag ? b->policies_flag : "--policies";
	const char *cl = b->claims_flag ? b->claims_flag : "--claims";
	unsigned x = b->accepts;
	if (!strcmp(a, "--quiet")) {
		b->quiet = true;
		cfg->progress = NULL;
		return 1;
	}
	if (!strcmp(a, "--show-ids") && (x & SB_CLI_SHOW_IDS)) {
		cfg->show_ids = true;
		return 1;
	}
	const char **to = !strcmp(a, pol)            ? &cfg->policies_dir :
			  !strcmp(a, "--persons")    ? &cfg->persons_path :
			  !strcmp(a, "--identities") ? &cfg->identities_path :
			  !strcmp(a, cl)             ? &cfg->claims_path :
			  !strcmp(a, "--out")        ? &cfg->out_dir :
			  !strcmp(a, "--tmp")        ? &cfg->tmp_dir :
			  !strcmp(a, "--policy-root") && (x & SB_CLI_POLICY_ROOT) ?
						&cfg->policy_root :
			  !strcmp(a, "--explain") && (x & SB_CLI_EXPLAIN) ? &cfg->explain_id :
									    NULL;
	bool valued = to || !strcmp(a, "--threads") ||
		      (!strcmp(a, "--partition-mb") && (x & SB_CLI_PARTITION)) ||
		      (!strcmp(a, "--poverty-line") && (x & SB_CLI_POVERTY));
	if (!valued)
		return 0;
	if (!v)
		return 0; /* incomplete: the caller's "unknown or incomplete option" */
	(*i)++;
	if (to) {
		*to = v;
		if (to == &cfg->explain_id)
			cfg->explain = stdout;
		return 1;
	}
	if (!strcmp(a, "--threads")) {
		long n = number(v, 1, 64);
		if (n < 0)
			return bad(b, "--threads takes a number from 1 to 64");
		cfg->threads = (int)n;
	} else if (!strcmp(a, "--partition-mb")) {
		long n = number(v, 1, 65536);
		if (n < 0)
			return bad(b, "--partition-mb takes a number from 1 to 65536");
		cfg->partition_bytes = (size_t)n << 20;
	} else {
		const char *why;
		if (sb_money_parse(v, strlen(v), &cfg->poverty_line, &why) ||
		    cfg->poverty_line < 0) {
			fprintf(stderr,
				"sanbao %s: --poverty-line takes yuan per person per year "
				"(e.g. 2300 or 2300.50), not \"%s\"\n",
				b->cmd, v);
			return -1;
		}
	}
	return 1;
}

bool sb_cli_batch_parse(sb_cli_batch *b, int argc, char **argv, sb_cli_extra_fn *extra, void *arg,
			const char *usage, int *status)
{
	*status = 2;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			*status = 0;
			return false;
		}
		int r = sb_cli_batch_opt(b, argc, argv, &i);
		if (!r && extra)
			r = extra(arg, argc, argv, &i);
		if (r < 0)
			return false;
		if (!r) {
			fprintf(stderr, "sanbao %s: unknown or incomplete option %s\n\n%s", b->cmd,
				argv[i], usage);
			return false;
		}
	}
	const sb_batch_config *cfg = b->cfg;
	const char *missing = !cfg->policies_dir ?
				      (b->policies_flag ? b->policies_flag : "--policies") :
			      !cfg->persons_path ? "--persons" :
			      !cfg->claims_path  ? (b->claims_flag ? b->claims_flag : "--claims") :
			      !cfg->out_dir      ? "--out" :
						   NULL;
	if (missing) {
		fprintf(stderr, "sanbao %s: %s is required\n\n%s", b->cmd, missing, usage);
		return false;
	}
	return true;
}

int sb_cli_batch_failed(const char *cmd, sb_status st, sb_diag *d)
{
	char msg[1400];
	if (d->code == SB_OK) /* never "success" for a failed run */
		sb_diag_set(d, st, NULL, 0, 0, "the run failed: %s", sb_strerror(st));
	fprintf(stderr, "sanbao %s: %s\n", cmd, sb_diag_format(d, msg, sizeof msg));
	return 1;
}
