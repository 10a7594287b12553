/* serve.h: `sanbao serve`, the online settlement service (docs/service-api.md):
 * HTTP on 127.0.0.1 (libmicrohttpd), JSON envelopes of the national platform
 * (jansson), a durable store in SQLite (WAL) holding persons, identities,
 * accumulators, settlements, message ids and a hash-chained audit log; and
 * the two offline tools over that store, export and verify-log.
 */
#ifndef SANBAO_SERVE_H
#define SANBAO_SERVE_H

#include <stddef.h>

#include "sanbao/base.h"

typedef struct sb_serve_config {
	const char *policies_dir;
	const char *db_path;
	const char *facilities_path; /* CSV fixmedins_code,name,level,region */
	const char *tokens_path;     /* hash name role [facilities] per line */
	const char *listen;          /* "127.0.0.1:8080"; port 0 picks a free one */
	const char *persons_path;    /* optional: imported at start */
	const char *identities_path; /* optional: imported at start */
	const char *port_file;       /* optional: the bound port is written there */
	unsigned threads;            /* a pool of N HTTP threads; 0: a thread per connection */
	size_t max_body;             /* bytes, 0: 64 KiB */
} sb_serve_config;

/* Runs the service until SIGTERM or SIGINT (in-flight requests are answered
 * first); SIGHUP reloads the policies. SB_OK on a clean stop; a start that
 * fails (bad token line, unknown option, store that cannot open) is an error
 * with d naming the place. Installs signal handling for the process. */
SB_MUST_USE sb_status sb_serve_run(const sb_serve_config *cfg, sb_diag *d);

/* Writes persons.csv, identities.csv, claims.csv (the settled claims, in
 * commit order) and settlements.csv of the store at db into out_dir,
 * atomically (src/io/outfile.h). *counts gets persons, identities, claims. */
SB_MUST_USE sb_status sb_serve_export(const char *db, const char *out_dir, long counts[3],
				      sb_diag *d);

/* Checks the audit chain of the store at db, and that every person's stored
 * accumulators are the sum of what their settlements in force added.
 * *length gets the records checked; *bad the sequence number of the first
 * record that does not hold (0 when all hold) with why (cap bytes). */
SB_MUST_USE sb_status sb_serve_verify_log(const char *db, long *length, long *bad, char *why,
					  size_t cap, sb_diag *d);

#endif
