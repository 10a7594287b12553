/* cmd_serve.c: `sanbao serve` (the online settlement service), `sanbao
 * export` (its store in the data format) and `sanbao verify-log` (its audit
 * chain). The service itself lives in src/serve (sanbao/serve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/serve.h"

static const char serve_usage[] =
	"usage: sanbao serve --policies DIR --db FILE --facilities F --tokens F\n"
	"                    [--listen 127.0.0.1:8080] [--persons F --identities F]\n"
	"                    [--threads N] [--max-body BYTES] [--port-file F]\n"
	"Settles one patient at a time over HTTP (docs/service-api.md): POST\n"
	"/fsi/api/{infno} for the hospital transactions, /v1/ for enrolment,\n"
	"identities, accumulators, the audit log and reloads; /metrics, /healthz.\n"
	"  --db F          the SQLite store (created when absent; WAL)\n"
	"  --facilities F  CSV fixmedins_code,name,level,region\n"
	"  --tokens F      one token a line: sha256:HEX|sm3:HEX name role [facilities]\n"
	"  --persons F, --identities F   imported at start (persons.csv, identities.csv)\n"
	"  --listen A      address and port; port 0 picks a free one\n"
	"  --port-file F   write the port bound there once listening\n"
	"  --threads N     N HTTP threads polling with epoll (default: one per core);\n"
	"                  a settlement waits for its group commit without a thread\n"
	"SIGTERM or SIGINT answer what is in flight and stop; SIGHUP reloads policies.\n";

int sb_cmd_serve(int argc, char **argv)
{
	sb_serve_config cfg;
	memset(&cfg, 0, sizeof cfg);
	const char *threads = NULL, *max_body = NULL;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(serve_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--policies"))
			slot = &cfg.policies_dir;
		else if (!strcmp(a, "--db"))
			slot = &cfg.db_path;
		else if (!strcmp(a, "--facilities"))
			slot = &cfg.facilities_path;
		else if (!strcmp(a, "--tokens"))
			slot = &cfg.tokens_path;
		else if (!strcmp(a, "--listen"))
			slot = &cfg.listen;
		else if (!strcmp(a, "--persons"))
			slot = &cfg.persons_path;
		else if (!strcmp(a, "--identities"))
			slot = &cfg.identities_path;
		else if (!strcmp(a, "--port-file"))
			slot = &cfg.port_file;
		else if (!strcmp(a, "--threads"))
			slot = &threads;
		else if (!strcmp(a, "--max-body"))
			slot = &max_body;
		if (!slot || !v) {
			fprintf(stderr, "sanbao serve: unknown or incomplete option %s\n\n%s", a,
				serve_usage);
			return 2;
		}
		*slot = v;
	}
	const char *missing = !cfg.policies_dir    ? "--policies" :
			      !cfg.db_path         ? "--db" :
			      !cfg.facilities_path ? "--facilities" :
			      !cfg.tokens_path     ? "--tokens" :
						     NULL;
	if (missing) {
		fprintf(stderr, "sanbao serve: %s is required\n\n%s", missing, serve_usage);
		return 2;
	}
	if (threads) {
		char *end;
		long n = strtol(threads, &end, 10);
		if (*end || n < 1 || n > 256) {
			fprintf(stderr, "sanbao serve: --threads must be 1-256\n");
			return 2;
		}
		cfg.threads = (unsigned)n;
	}
	if (max_body) {
		char *end;
		long n = strtol(max_body, &end, 10);
		if (*end || n < 1024 || n > 64L * 1024 * 1024) {
			fprintf(stderr, "sanbao serve: --max-body must be 1024 bytes to 64 MiB\n");
			return 2;
		}
		cfg.max_body = (size_t)n;
	}
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_serve_run(&cfg, &d)) {
		char msg[1400];
		fprintf(stderr, "sanbao serve: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	return 0;
}

static int two_options(int argc, char **argv, const char *cmd, const char *usage, const char *name2,
		       const char **db, const char **v2)
{
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		const char **slot = !strcmp(a, "--db")         ? db :
				    name2 && !strcmp(a, name2) ? v2 :
								 NULL;
		if (!slot || !v) {
			fprintf(stderr, "sanbao %s: unknown or incomplete option %s\n\n%s", cmd, a,
				usage);
			return 2;
		}
		*slot = v;
	}
	if (!*db || (name2 && !*v2)) {
		fprintf(stderr, "sanbao %s: %s is required\n\n%s", cmd, !*db ? "--db" : name2,
			usage);
		return 2;
	}
	return -1;
}

int sb_cmd_export(int argc, char **argv)
{
	static const char usage[] =
		"usage: sanbao export --db FILE --out DIR\n"
		"Writes the service's store as persons.csv, identities.csv, claims.csv (the\n"
		"settlements in force, in commit order) and settlements.csv, so that settle,\n"
		"monitor and roster run on what the service settled.\n";
	const char *db = NULL, *out = NULL;
	int r = two_options(argc, argv, "export", usage, "--out", &db, &out);
	if (r >= 0)
		return r;
	sb_diag d;
	sb_diag_clear(&d);
	long n[3];
	if (sb_serve_export(db, out, n, &d)) {
		char msg[1400];
		fprintf(stderr, "sanbao export: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	printf("sanbao export: %ld persons, %ld identity rows, %ld settled claims in %s\n", n[0],
	       n[1], n[2], out);
	return 0;
}

int sb_cmd_verify_log(int argc, char **argv)
{
	static const char usage[] =
		"usage: sanbao verify-log --db FILE\n"
		"Checks the service's audit chain record by record (chain = SM3(previous\n"
		"chain || record)) and every person's accumulators against the settlements\n"
		"in force; names the first record that does not hold. Exit 0 when all hold,\n"
		"1 when one does not.\n";
	const char *db = NULL;
	int r = two_options(argc, argv, "verify-log", usage, NULL, &db, NULL);
	if (r >= 0)
		return r;
	sb_diag d;
	sb_diag_clear(&d);
	long len = 0, bad = 0;
	char why[1024];
	if (sb_serve_verify_log(db, &len, &bad, why, sizeof why, &d)) {
		char msg[1400];
		fprintf(stderr, "sanbao verify-log: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 2;
	}
	if (bad) {
		fprintf(stderr, "sanbao verify-log: %s: %s\n", db, why);
		return 1;
	}
	printf("sanbao verify-log: %ld records, the chain holds; the accumulators are the sums "
	       "of the settlements in force\n",
	       len);
	return 0;
}
