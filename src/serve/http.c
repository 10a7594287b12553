/* http.c: `sanbao serve` itself: the token file and the facility registry
 * read at start, the import of persons and identities, libmicrohttpd on the
 * listen address, routing and roles, /metrics and /healthz, and the signals
 * (SIGTERM and SIGINT drain and stop, SIGHUP reloads the policies). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"
#include "serve/service.h"

static const char *const role_names[SB_ROLE_N] = { "hospital", "enrolment", "civil_affairs",
						   "analyst",  "auditor",   "admin" };

/* ---- metrics ---------------------------------------------------------------- */

static const double bounds[SB_MET_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005,
					       0.01,   0.025,   0.05,   0.1,   0.5,   1.0 };
static const char *const met_infnos[SB_MET_INFNOS] = { "1101", "2206", "2207", "2208",
						       "2303", "2304", "2305", "2601",
						       "5203", "3201", "3202", "other" };
static const int met_status[8] = { 200, 400, 401, 403, 404, 409, 413, 503 };

void sb_metrics_init(sb_metrics *m)
{
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
}

void sb_metrics_release(sb_metrics *m)
{
	pthread_mutex_destroy(&m->lock);
}

static int bucket(double s)
{
	int b = 0;
	while (b < SB_MET_BUCKETS && s > bounds[b])
		b++;
	return b;
}

void sb_metrics_request(sb_metrics *m, const char *infno, int infcode, int http, double secs)
{
	int i = 0;
	while (i < SB_MET_INFNOS - 1 && (!infno || strcmp(met_infnos[i], infno)))
		i++;
	pthread_mutex_lock(&m->lock);
	if (infno) {
		m->requests[i][infcode ? 1 : 0]++;
		m->lat[i][bucket(secs)]++;
		m->lat_sum[i] += secs;
	}
	for (int k = 0; k < 8; k++)
		if (met_status[k] == http)
			m->status[k]++;
	pthread_mutex_unlock(&m->lock);
}

void sb_metrics_commit(sb_metrics *m, double work, double secs, long jobs, bool ok)
{
	pthread_mutex_lock(&m->lock);
	m->work_sum += work;
	m->commits++;
	m->committed_jobs += ok ? jobs : 0;
	m->commit_failures += !ok;
	m->commit_hist[bucket(secs)]++;
	m->commit_sum += secs;
	pthread_mutex_unlock(&m->lock);
}

void sb_metrics_sync(sb_metrics *m, double secs, long jobs, bool ok)
{
	pthread_mutex_lock(&m->lock);
	m->syncs++;
	m->sync_failures += !ok;
	m->synced_jobs += ok ? jobs : 0;
	m->sync_hist[bucket(secs)]++;
	m->sync_sum += secs;
	pthread_mutex_unlock(&m->lock);
}

void sb_metrics_prepared(sb_metrics *m, bool prepared, bool held)
{
	pthread_mutex_lock(&m->lock);
	m->settled[!prepared ? 2 : held ? 0 : 1]++;
	pthread_mutex_unlock(&m->lock);
}

void sb_metrics_checkpoint(sb_metrics *m, bool tail)
{
	pthread_mutex_lock(&m->lock);
	m->checkpoints[tail ? 1 : 0]++;
	pthread_mutex_unlock(&m->lock);
}

char *sb_metrics_text(sb_metrics *m)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	pthread_mutex_lock(&m->lock);
	fputs("# HELP sanbao_requests_total Transactions answered, by infno and infcode.\n"
	      "# TYPE sanbao_requests_total counter\n",
	      f);
	for (int i = 0; i < SB_MET_INFNOS; i++)
		for (int c = 0; c < 2; c++)
			fprintf(f, "sanbao_requests_total{infno=\"%s\",infcode=\"%d\"} %ld\n",
				met_infnos[i], c ? -1 : 0, m->requests[i][c]);
	fputs("# HELP sanbao_http_responses_total HTTP responses by status.\n"
	      "# TYPE sanbao_http_responses_total counter\n",
	      f);
	for (int k = 0; k < 8; k++)
		fprintf(f, "sanbao_http_responses_total{code=\"%d\"} %ld\n", met_status[k],
			m->status[k]);
	fputs("# HELP sanbao_request_seconds Latency of transactions, by infno.\n"
	      "# TYPE sanbao_request_seconds histogram\n",
	      f);
	for (int i = 0; i < SB_MET_INFNOS; i++) {
		long cum = 0;
		for (int b = 0; b <= SB_MET_BUCKETS; b++) {
			cum += m->lat[i][b];
			if (b < SB_MET_BUCKETS)
				fprintf(f,
					"sanbao_request_seconds_bucket{infno=\"%s\",le=\"%g\"} %ld\n",
					met_infnos[i], bounds[b], cum);
			else
				fprintf(f,
					"sanbao_request_seconds_bucket{infno=\"%s\",le=\"+Inf\"} "
					"%ld\n",
					met_infnos[i], cum);
		}
		fprintf(f, "sanbao_request_seconds_sum{infno=\"%s\"} %.6f\n", met_infnos[i],
			m->lat_sum[i]);
		fprintf(f, "sanbao_request_seconds_count{infno=\"%s\"} %ld\n", met_infnos[i], cum);
	}
	fprintf(f,
		"# HELP sanbao_group_work_seconds_total Time the writer spent running the jobs "
		"of its groups, before their commits.\n# TYPE sanbao_group_work_seconds_total "
		"counter\nsanbao_group_work_seconds_total %.6f\n",
		m->work_sum);
	fputs("# HELP sanbao_fsync_seconds Latency of the fdatasyncs of the store's WAL (each makes "
	      "every group committed before it durable; only then are their jobs answered).\n"
	      "# TYPE sanbao_fsync_seconds histogram\n",
	      f);
	long scum = 0;
	for (int b = 0; b <= SB_MET_BUCKETS; b++) {
		scum += m->sync_hist[b];
		if (b < SB_MET_BUCKETS)
			fprintf(f, "sanbao_fsync_seconds_bucket{le=\"%g\"} %ld\n", bounds[b], scum);
		else
			fprintf(f, "sanbao_fsync_seconds_bucket{le=\"+Inf\"} %ld\n", scum);
	}
	fprintf(f,
		"sanbao_fsync_seconds_sum %.6f\nsanbao_fsync_seconds_count %ld\n"
		"# HELP sanbao_synced_jobs_total Jobs made durable (many per fdatasync).\n"
		"# TYPE sanbao_synced_jobs_total counter\nsanbao_synced_jobs_total %ld\n"
		"sanbao_fsync_failures_total %ld\n",
		m->sync_sum, scum, m->synced_jobs, m->sync_failures);
	fputs("# HELP sanbao_commit_seconds Latency of the store's commits (the WAL written; its "
	      "fdatasync is sanbao_fsync_seconds).\n"
	      "# TYPE sanbao_commit_seconds histogram\n",
	      f);
	long cum = 0;
	for (int b = 0; b <= SB_MET_BUCKETS; b++) {
		cum += m->commit_hist[b];
		if (b < SB_MET_BUCKETS)
			fprintf(f, "sanbao_commit_seconds_bucket{le=\"%g\"} %ld\n", bounds[b], cum);
		else
			fprintf(f, "sanbao_commit_seconds_bucket{le=\"+Inf\"} %ld\n", cum);
	}
	fprintf(f, "sanbao_commit_seconds_sum %.6f\nsanbao_commit_seconds_count %ld\n",
		m->commit_sum, cum);
	fprintf(f,
		"# HELP sanbao_committed_jobs_total Jobs committed (group commit: many per "
		"commit).\n# TYPE sanbao_committed_jobs_total counter\n"
		"sanbao_committed_jobs_total %ld\nsanbao_commit_failures_total %ld\n",
		m->committed_jobs, m->commit_failures);
	fprintf(f,
		"# HELP sanbao_checkpoints_total Checkpoints of the WAL into the store: by the "
		"checkpointer thread, and by the writer (the rest, so that the WAL restarts).\n"
		"# TYPE sanbao_checkpoints_total counter\n"
		"sanbao_checkpoints_total{by=\"checkpointer\"} %ld\n"
		"sanbao_checkpoints_total{by=\"writer\"} %ld\n",
		m->checkpoints[0], m->checkpoints[1]);
	fprintf(f,
		"# HELP sanbao_writer_settlements_total Settlements (2207, 2304) the writer "
		"reached: prepared in the HTTP thread and taken as prepared, prepared but "
		"settled again (what it was settled on had changed), or not prepared.\n"
		"# TYPE sanbao_writer_settlements_total counter\n"
		"sanbao_writer_settlements_total{as=\"prepared\"} %ld\n"
		"sanbao_writer_settlements_total{as=\"settled_again\"} %ld\n"
		"sanbao_writer_settlements_total{as=\"not_prepared\"} %ld\n",
		m->settled[0], m->settled[1], m->settled[2]);
	pthread_mutex_unlock(&m->lock);
	fclose(f);
	return buf;
}

/* ---- tokens and facilities --------------------------------------------------- */

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static sb_status load_tokens(sb_service *S, const char *path, sb_diag *d)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open the token file: %s",
				   strerror(errno));
	char *line = NULL;
	size_t lcap = 0;
	int ln = 0;
	sb_status st = SB_OK;
	while (!st && getline(&line, &lcap, f) > 0) {
		ln++;
		char *h = strchr(line, '#');
		if (h)
			*h = '\0';
		char *save = NULL, *fld[6];
		int nf = 0;
		for (char *t = strtok_r(line, " \t\r\n", &save); t && nf < 6;
		     t = strtok_r(NULL, " \t\r\n", &save))
			fld[nf++] = t;
		if (!nf)
			continue;
		if (nf < 3 || nf > 4) {
			st = sb_diag_set(d, SB_ESYNTAX, path, ln, 0,
					 "a token line is: hash name role "
					 "[facilities]; this line has %d fields",
					 nf);
			break;
		}
		sb_token t;
		memset(&t, 0, sizeof t);
		char *colon = strchr(fld[0], ':');
		if (!colon || (strncmp(fld[0], "sha256:", 7) && strncmp(fld[0], "sm3:", 4)) ||
		    !is_hex(colon + 1, 64)) {
			st = sb_diag_set(
				d, SB_ESYNTAX, path, ln, 1,
				"the hash must be sha256: or sm3: "
				"and 64 lowercase hex digits (the digest of the token, never "
				"the token)");
			break;
		}
		snprintf(t.algo, sizeof t.algo, "%.*s", (int)(colon - fld[0]), fld[0]);
		memcpy(t.hex, colon + 1, 65);
		if (strlen(fld[1]) >= sizeof t.name) {
			st = sb_diag_set(d, SB_ESYNTAX, path, ln, 0, "the name is too long");
			break;
		}
		snprintf(t.name, sizeof t.name, "%s", fld[1]);
		t.role = -1;
		for (int r = 0; r < SB_ROLE_N; r++)
			if (!strcmp(fld[2], role_names[r]))
				t.role = r;
		if (t.role < 0) {
			st = sb_diag_set(d, SB_ESYNTAX, path, ln, 0,
					 "role \"%.40s\" is not hospital, "
					 "enrolment, civil_affairs, analyst, auditor or admin",
					 fld[2]);
			break;
		}
		if ((t.role == SB_ROLE_HOSPITAL) != (nf == 4)) {
			st = sb_diag_set(
				d, SB_ESYNTAX, path, ln, 0,
				t.role == SB_ROLE_HOSPITAL ?
					"a hospital token needs its fixmedins_codes (comma-separated)" :
					"only a hospital token lists facilities");
			break;
		}
		t.facilities = strdup(nf == 4 ? fld[3] : "");
		sb_token *v = t.facilities && sb_service_token_codes(&t) ?
				      sb_realloc(S->tok, (S->ntok + 1) * sizeof *v) :
				      NULL;
		if (!v) {
			free(t.facilities);
			free(t.split);
			free(t.codes);
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		S->tok = v;
		S->tok[S->ntok++] = t;
	}
	free(line);
	fclose(f);
	return st;
}

static int cmp_facility(const void *a, const void *b)
{
	return strcmp(((const sb_facility *)a)->code, ((const sb_facility *)b)->code);
}

static sb_status load_facilities(sb_service *S, const char *path, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	static const char *const names[4][2] = {
		{ "fixmedins_code", NULL }, { "name", NULL }, { "level", NULL }, { "region", NULL }
	};
	int col[4];
	for (int i = 0; i < 4; i++)
		if ((col[i] = sb_csv_find(c, names[i])) < 0) {
			st = sb_diag_set(d, SB_ESYNTAX, path, 1, 0,
					 "the facility registry has no "
					 "column %s (it needs fixmedins_code, name, level, region)",
					 names[i][0]);
			sb_csv_free(c);
			return st;
		}
	int r;
	while ((r = sb_csv_next(c, d)) != 0) {
		if (r < 0) {
			st = d->code ? d->code : SB_ESYNTAX;
			break;
		}
		sb_facility f;
		memset(&f, 0, sizeof f);
		sb_csv_field v[4];
		for (int i = 0; i < 4; i++)
			v[i] = sb_csv_get(c, (size_t)col[i]);
		bool ok = v[0].n && v[0].n < sizeof f.code && v[2].n && v[2].n < sizeof f.level &&
			  v[3].n == 6;
		for (size_t i = 0; ok && i < 6; i++)
			ok = v[3].p[i] >= '0' && v[3].p[i] <= '9';
		if (!ok) {
			st = sb_diag_set(d, SB_EINPUT, path, (int)sb_csv_line(c), 0,
					 "a facility needs a fixmedins_code (at most 32 characters), "
					 "a level and a 6-digit region");
			break;
		}
		memcpy(f.code, v[0].p, v[0].n);
		snprintf(f.name, sizeof f.name, "%.*s", (int)v[1].n, v[1].p);
		memcpy(f.level, v[2].p, v[2].n);
		memcpy(f.region, v[3].p, 6);
		sb_facility *nv = sb_realloc(S->fac, (S->nfac + 1) * sizeof *nv);
		if (!nv) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		S->fac = nv;
		S->fac[S->nfac++] = f;
	}
	sb_csv_free(c);
	if (!st && S->nfac) {
		qsort(S->fac, S->nfac, sizeof *S->fac, cmp_facility);
		for (size_t i = 1; i < S->nfac; i++)
			if (!strcmp(S->fac[i - 1].code, S->fac[i].code)) {
				st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
						 "fixmedins_code %s is in the facility registry "
						 "twice",
						 S->fac[i].code);
				break;
			}
	}
	return st;
}

static const sb_token *authenticate(const sb_service *S, struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!a || strncmp(a, "Bearer ", 7))
		return NULL;
	a += 7;
	/* Each digest only when a token of its kind exists. */
	char sha[65] = "", sm3[65] = "";
	size_t n = strlen(a);
	for (size_t i = 0; i < S->ntok; i++) {
		bool is_sha = !strcmp(S->tok[i].algo, "sha256");
		char *want = is_sha ? sha : sm3;
		if (!want[0])
			(is_sha ? sb_serve_sha256_hex : sb_serve_sm3_hex)(a, n, want);
		if (!strcmp(want, S->tok[i].hex))
			return &S->tok[i];
	}
	return NULL;
}

/* ---- import at start --------------------------------------------------------- */

static sb_status import_people(sb_service *S, sb_diag *d)
{
	const sb_serve_config *cfg = S->cfg;
	sqlite3 *db = S->wdb;
	long np = 0, ni = 0;
	sb_status st = SB_OK;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
		return sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s", sqlite3_errmsg(db));
	char why[1024];
	if (cfg->persons_path) {
		sb_csv *c;
		int col[SB_PCOL_N];
		if ((st = sb_csv_open(cfg->persons_path, &c, d)))
			goto out;
		st = sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, d);
		sqlite3_stmt *s = NULL;
		if (!st && sqlite3_prepare_v2(db,
					      "INSERT OR REPLACE INTO persons VALUES(?,?,?,?,?,?,?,"
					      "?)",
					      -1, &s, NULL))
			st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s", sqlite3_errmsg(db));
		int r;
		while (!st && (r = sb_csv_next(c, d)) != 0) {
			if (r < 0) {
				st = SB_ESYNTAX;
				break;
			}
			sb_person_row row;
			const char *reason = sb_person_row_read(c, col, &row, why, sizeof why);
			if (!reason && !sb_policyset_find(S->set, row.region)) {
				snprintf(why, sizeof why, "region %s has no policy", row.region);
				reason = why;
			}
			if (reason) {
				st = sb_diag_set(d, SB_EINPUT, cfg->persons_path,
						 (int)sb_csv_line(c), 0, "%s: nothing was imported",
						 reason);
				break;
			}
			char psn[19];
			sb_person_key_text(row.key, row.pseudo, psn);
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			sqlite3_bind_text(s, 1, psn, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 2, row.scheme);
			sqlite3_bind_text(s, 3, row.region, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 4, row.household.p, (int)row.household.n,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 5, row.employment);
			sqlite3_bind_text(s, 6, row.tier.p, (int)row.tier.n, SQLITE_TRANSIENT);
			if (row.has_income)
				sqlite3_bind_int64(s, 7, row.income);
			sqlite3_bind_int(s, 8, row.pseudo ? SB_BIRTH_UNKNOWN : row.birth);
			if (sqlite3_step(s) != SQLITE_DONE)
				st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s",
						 sqlite3_errmsg(db));
			np++;
		}
		sqlite3_finalize(s);
		sb_csv_free(c);
		if (st)
			goto out;
	}
	if (cfg->identities_path) {
		sb_csv *c;
		int col[SB_ICOL_N];
		if ((st = sb_csv_open(cfg->identities_path, &c, d)))
			goto out;
		st = sb_io_map(c, "identities.csv", sb_identities_columns, SB_ICOL_N, true, col, d);
		sqlite3_stmt *s = NULL, *q = NULL;
		if (!st &&
		    (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO identities VALUES(?,?,?,?)", -1,
					&s, NULL) ||
		     sqlite3_prepare_v2(db, "SELECT 1 FROM persons WHERE psn_no=?", -1, &q, NULL)))
			st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s", sqlite3_errmsg(db));
		int r;
		while (!st && (r = sb_csv_next(c, d)) != 0) {
			if (r < 0) {
				st = SB_ESYNTAX;
				break;
			}
			sb_identity_row row;
			if (sb_identity_row_read(c, col, S->set, &row, why, sizeof why) !=
			    SB_IROW_OK) {
				st = sb_diag_set(d, SB_EINPUT, cfg->identities_path,
						 (int)sb_csv_line(c), 0, "%s: nothing was imported",
						 why);
				break;
			}
			char psn[19];
			sb_person_key_text(row.key, row.pseudo, psn);
			sqlite3_reset(q);
			sqlite3_bind_text(q, 1, psn, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(q) != SQLITE_ROW) {
				st = sb_diag_set(d, SB_EINPUT, cfg->identities_path,
						 (int)sb_csv_line(c), 0,
						 "unknown person: not enrolled; "
						 "nothing was imported");
				break;
			}
			sb_csv_field w = sb_csv_get(c, (size_t)col[SB_ICOL_IDENTITY]);
			sqlite3_reset(s);
			sqlite3_bind_text(s, 1, psn, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 2, w.p, (int)w.n, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 3, row.from);
			sqlite3_bind_int(s, 4, row.to);
			if (sqlite3_step(s) != SQLITE_DONE)
				st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s",
						 sqlite3_errmsg(db));
			ni++;
		}
		sqlite3_finalize(s);
		sqlite3_finalize(q);
		sb_csv_free(c);
	}
out:
	if (!st && (np || ni)) {
		char what[128];
		snprintf(what, sizeof what, "import persons=%ld identities=%ld", np, ni);
		if (sb_serve_audit(db, "serve", what, "", "", what, strlen(what), "", 0))
			st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s", sqlite3_errmsg(db));
	}
	if (st || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (!st)
			st = sb_diag_set(d, SB_EIO, cfg->db_path, 0, 0, "%s", sqlite3_errmsg(db));
	} else if (np || ni) {
		fprintf(stderr, "sanbao serve: imported %ld persons and %ld identity rows\n", np,
			ni);
	}
	return st;
}

/* ---- reload --------------------------------------------------------------------- */

static sb_status reload_locked(sb_service *S, const sb_token *tk, char *msg, size_t cap)
{
	sb_policyset *set = NULL;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_policyset_new(&set);
	if (!st)
		st = sb_policyset_load_dir(set, S->cfg->policies_dir, &d);
	/* The store keeps accumulators per person: no household layers. */
	if (!st)
		st = sb_policyset_refuse_household(set, "the service", &d);
	if (!st && !sb_policyset_count(set))
		st = sb_diag_set(&d, SB_EPOLICY, S->cfg->policies_dir, 0, 0, "no policy file");
	if (st) {
		char b[1400];
		snprintf(msg, cap, "the policies were not reloaded (the old stay in force): %s",
			 sb_diag_format(&d, b, sizeof b));
		sb_policyset_free(set);
		return st;
	}
	size_t n = sb_policyset_count(set);
	pthread_rwlock_wrlock(&S->pol_lock);
	sb_policyset *old = S->set;
	S->set = set;
	S->set_gen++;
	pthread_rwlock_unlock(&S->pol_lock);
	sb_policyset_free(old);
	char what[64];
	snprintf(what, sizeof what, "reload policies=%zu", n);
	(void)sb_service_audit_event(S, tk, what, what, strlen(what));
	snprintf(msg, cap, "reloaded %zu policies", n);
	return SB_OK;
}

static sb_status reload(sb_service *S, const sb_token *tk, char *msg, size_t cap)
{
	pthread_mutex_lock(&S->reload_lock);
	sb_status st = reload_locked(S, tk, msg, cap);
	pthread_mutex_unlock(&S->reload_lock);
	return st;
}

/* ---- HTTP ------------------------------------------------------------------------ */

typedef struct conn {
	char *body;
	size_t n, cap;
	bool too_large;
	struct timespec t0;
	struct MHD_Connection *c;
	sb_fsi_call *call; /* a transaction at the writer: the connection is suspended */
	sb_service *S;
	char infno[5];
} conn;

/* Before the job is queued: the connection waits without a thread. */
static void suspend_conn(void *arg)
{
	conn *k = arg;
	atomic_fetch_add(&k->S->suspended, 1);
	MHD_suspend_connection(k->c);
}

/* The syncer's on_done: the transaction is durable (or failed). */
static void resume_conn(void *arg)
{
	conn *k = arg;
	MHD_resume_connection(k->c);
}

static pthread_key_t rdb_key;

static void close_rdb(void *p)
{
	sb_serve_store_close(p);
}

static sqlite3 *read_db(sb_service *S)
{
	sqlite3 *db = pthread_getspecific(rdb_key);
	if (db)
		return db;
	sb_diag d;
	if (sb_serve_store_open(S->cfg->db_path, false, &db, &d))
		return NULL;
	pthread_setspecific(rdb_key, db);
	return db;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, char *text, const char *type)
{
	if (!text)
		text = strdup("");
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static int plain_error(sb_service *S, char **resp, int status, const char *msg)
{
	*resp = sb_service_envelope(S, -1, msg, NULL);
	return status;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)version;
	sb_service *S = cls;
	conn *k = *con_cls;
	if (!k) {
		k = calloc(1, sizeof *k);
		if (!k)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &k->t0);
		k->c = c;
		k->S = S;
		*con_cls = k;
		atomic_fetch_add(&S->inflight, 1);
		return MHD_YES;
	}
	if (*upload_size) {
		size_t add = *upload_size;
		if (k->too_large || k->n + add > S->cfg->max_body) {
			k->too_large = true;
		} else {
			if (k->n + add + 1 > k->cap) {
				size_t cap = (k->n + add + 1) * 2;
				if (cap > S->cfg->max_body + 1)
					cap = S->cfg->max_body + 1;
				char *b = realloc(k->body, cap);
				if (!b)
					return MHD_NO;
				k->body = b;
				k->cap = cap;
			}
			memcpy(k->body + k->n, upload, add);
			k->n += add;
			k->body[k->n] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	char *resp = NULL;
	int st;
	char infno[5] = "";
	int infcode = 0;
	bool counted = false;
	const char *type = "application/json; charset=utf-8";
	if (k->call) { /* resumed: the writer has committed (or failed) it */
		atomic_fetch_sub(&S->suspended, 1);
		st = sb_service_fsi_finish(S, k->call, &resp, &infcode);
		k->call = NULL;
		memcpy(infno, k->infno, sizeof infno);
		counted = true;
		goto answer;
	}
	const sb_token *tk = authenticate(S, c);
	bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET"),
	     put = !strcmp(method, "PUT");
	const char *body = k->body ? k->body : "";
	if (!strcmp(url, "/healthz") && get) {
		bool ok = atomic_load(&S->store_ok);
		sqlite3 *db = ok ? read_db(S) : NULL;
		ok = db && sqlite3_exec(db, "SELECT 1 FROM audit LIMIT 1", NULL, NULL, NULL) == 0;
		resp = strdup(ok ? "ok\n" : "store unavailable\n");
		st = ok ? 200 : 503;
		type = "text/plain; charset=utf-8";
	} else if (k->too_large) {
		char m[128];
		snprintf(m, sizeof m, "the body is over the limit of %zu bytes", S->cfg->max_body);
		st = plain_error(S, &resp, 413, m);
	} else if (!tk) {
		st = plain_error(S, &resp, 401,
				 "no valid token: send Authorization: Bearer <token>");
	} else if (!strncmp(url, "/fsi/api/", 9) && post) {
		snprintf(infno, sizeof infno, "%.4s", url + 9);
		if (tk->role != SB_ROLE_HOSPITAL) {
			st = plain_error(S, &resp, 403,
					 "only a hospital token may send transactions");
		} else if (strlen(url + 9) != 4) {
			st = plain_error(S, &resp, 404,
					 "no such transaction path: POST "
					 "/fsi/api/{infno}, infno of 4 digits");
		} else {
			sqlite3 *db = atomic_load(&S->draining) ? NULL : read_db(S);
			if (atomic_load(&S->draining)) {
				st = plain_error(
					S, &resp, 503,
					"the service is stopping: send the transaction again "
					"(same msgid) when it is back");
			} else if (!db) {
				st = plain_error(S, &resp, 503, "the store is unavailable");
			} else {
				/* k->infno is filled before the job is queued. */
				st = sb_service_fsi_begin(S, db, tk, url + 9, body, k->n, &resp,
							  k->infno, &infcode, suspend_conn,
							  resume_conn, k, &k->call);
				if (k->call) /* suspended until the syncer resumes it */
					return MHD_YES;
				memcpy(infno, k->infno, sizeof infno);
			}
		}
		counted = true;
	} else if (!strncmp(url, "/v1/persons/", 12) && put) {
		const char *psn = url + 12;
		if (tk->role != SB_ROLE_ENROLMENT)
			st = plain_error(S, &resp, 403,
					 "only an enrolment token may enrol persons");
		else if (strlen(psn) != SB_ID_LEN || strchr(psn, '/'))
			st = plain_error(S, &resp, 400,
					 "the path must be /v1/persons/{psn_no}, an "
					 "18-character resident ID or pseudonym");
		else
			st = sb_service_rest_write(S, tk, SB_JOB_PERSON, psn, body, k->n, &resp);
	} else if (!strcmp(url, "/v1/identities") && post) {
		if (tk->role != SB_ROLE_CIVIL)
			st = plain_error(S, &resp, 403,
					 "only a civil_affairs token may change "
					 "identities");
		else
			st = sb_service_rest_write(S, tk, SB_JOB_IDENTITY, NULL, body, k->n, &resp);
	} else if (!strncmp(url, "/v1/persons/", 12) && get && strlen(url) == 12 + 18 + 13 &&
		   !strcmp(url + 30, "/accumulators")) {
		if (tk->role != SB_ROLE_HOSPITAL && tk->role != SB_ROLE_ANALYST) {
			st = plain_error(S, &resp, 403,
					 "only a hospital or analyst token may read "
					 "accumulators");
		} else {
			char psn[19];
			memcpy(psn, url + 12, 18);
			psn[18] = '\0';
			const char *y =
				MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "year");
			st = sb_serve_accumulators(S, read_db(S), psn, y, &resp);
		}
	} else if (!strcmp(url, "/v1/audit/verify") && get) {
		if (tk->role != SB_ROLE_AUDITOR) {
			st = plain_error(S, &resp, 403,
					 "only an auditor token may verify the audit "
					 "log");
		} else {
			long len = 0, bad = 0;
			char why[600];
			sqlite3 *db = read_db(S);
			if (!db || sb_serve_audit_verify(db, &len, &bad, why, sizeof why)) {
				st = plain_error(S, &resp, 503, "the store is unavailable");
			} else {
				json_t *o = json_pack("{s:I,s:b}", "length", (json_int_t)len, "ok",
						      !bad);
				json_object_set_new(o, "first_bad",
						    bad ? json_integer(bad) : json_null());
				json_object_set_new(o, "reason",
						    bad ? json_string(why) : json_null());
				resp = json_dumps(o, JSON_COMPACT);
				json_decref(o);
				st = 200;
			}
		}
	} else if (!strcmp(url, "/v1/admin/reload") && post) {
		if (tk->role != SB_ROLE_ADMIN) {
			st = plain_error(S, &resp, 403, "only an admin token may reload policies");
		} else {
			char m[1600];
			sb_status rs = reload(S, tk, m, sizeof m);
			resp = sb_service_envelope(S, rs ? -1 : 0, rs ? m : NULL,
						   rs ? NULL : json_pack("{s:s}", "result", m));
			st = 200;
		}
	} else if (!strcmp(url, "/metrics") && get) {
		if (tk->role != SB_ROLE_ANALYST) {
			st = plain_error(S, &resp, 403, "only an analyst token may read metrics");
		} else {
			resp = sb_metrics_text(&S->metrics);
			type = "text/plain; version=0.0.4";
			st = 200;
		}
	} else {
		st = plain_error(S, &resp, 404, "no such call; see docs/service-api.md");
	}
answer:;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs =
		(double)(t1.tv_sec - k->t0.tv_sec) + (double)(t1.tv_nsec - k->t0.tv_nsec) / 1e9;
	sb_metrics_request(&S->metrics, counted ? infno : NULL, infcode, st, secs);
	return reply(c, st, resp, type);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode why)
{
	(void)c;
	(void)why;
	sb_service *S = cls;
	conn *k = *con_cls;
	if (k) {
		free(k->body);
		free(k);
		*con_cls = NULL;
		atomic_fetch_sub(&S->inflight, 1);
	}
}

static sb_status parse_listen(const char *s, struct sockaddr_in *a, sb_diag *d)
{
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "--listen %s: write HOST:PORT, e.g. "
				   "127.0.0.1:8080",
				   s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "--listen %s: write an IPv4 address "
				   "and a port 0-65535, e.g. 127.0.0.1:8080",
				   s);
	a->sin_port = htons((uint16_t)port);
	return SB_OK;
}

sb_status sb_serve_run(const sb_serve_config *cfg_in, sb_diag *d)
{
	sb_serve_config cfg = *cfg_in;
	if (!cfg.listen)
		cfg.listen = "127.0.0.1:8080";
	if (!cfg.max_body)
		cfg.max_body = 64 * 1024;
	sb_service *S = calloc(1, sizeof *S);
	if (!S)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	S->cfg = &cfg;
	sb_metrics_init(&S->metrics);
	pthread_rwlock_init(&S->pol_lock, NULL);
	pthread_mutex_init(&S->reload_lock, NULL);
	struct sockaddr_in addr;
	struct MHD_Daemon *daemon = NULL;
	bool key = false;
	sb_status st = parse_listen(cfg.listen, &addr, d);
	if (!st)
		st = load_tokens(S, cfg.tokens_path, d);
	if (!st)
		st = load_facilities(S, cfg.facilities_path, d);
	if (!st)
		st = sb_policyset_new(&S->set);
	if (!st)
		st = sb_policyset_load_dir(S->set, cfg.policies_dir, d);
	if (!st)
		st = sb_policyset_refuse_household(S->set, "the service", d);
	if (!st)
		st = sb_serve_store_open(cfg.db_path, true, &S->wdb, d);
	if (!st && (cfg.persons_path || cfg.identities_path))
		st = import_people(S, d);
	if (!st)
		st = sb_service_start(S, d);
	if (!st) {
		pthread_key_create(&rdb_key, close_rdb);
		key = true;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Read before the workers start: a reload replaces S->set. */
	size_t npolicies = st ? 0 : sb_policyset_count(S->set);
	if (!st) {
		/* epoll in a pool of HTTP threads (default: one per core); a
		 * transaction for the writer suspends its connection until its
		 * group commit resumes it, so every waiting desk joins the
		 * writer's next group whatever the number of threads. */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		unsigned nthreads = cfg.threads ? cfg.threads : ncpu > 0 ? (unsigned)ncpu : 1;
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_SOCK_ADDR, 0, &addr },
			{ MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL },
			{ MHD_OPTION_CONNECTION_LIMIT, 1000, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, S },
			{ MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
			{ nthreads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
			  (intptr_t)nthreads, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};
		daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
						  MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
						  MHD_USE_ERROR_LOG,
					  0, NULL, NULL, handle, S, MHD_OPTION_ARRAY, opts,
					  MHD_OPTION_END);
		if (!daemon)
			st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot listen on %s: %s",
					 cfg.listen, strerror(errno));
	}
	if (!st) {
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
		unsigned port = di ? di->port : 0;
		fprintf(stderr,
			"sanbao serve: %zu policies, %zu facilities, %zu tokens; listening on "
			"%s port %u\n",
			npolicies, S->nfac, S->ntok, cfg.listen, port);
		if (cfg.port_file) {
			char tmp[1024];
			snprintf(tmp, sizeof tmp, "%s.tmp", cfg.port_file);
			FILE *pf = fopen(tmp, "w");
			if (pf) {
				fprintf(pf, "%u\n", port);
				fclose(pf);
				rename(tmp, cfg.port_file);
			}
		}
		for (;;) {
			int sig = 0;
			sigwait(&set, &sig);
			if (sig == SIGHUP) {
				char m[1600];
				sb_status rs = reload(S, NULL, m, sizeof m);
				fprintf(stderr, "sanbao serve: SIGHUP: %s\n", m);
				(void)rs;
				continue;
			}
			if (sig == SIGPIPE)
				continue;
			break;
		}
		/* Drain: stop accepting and queueing transactions, answer every
		 * suspended one (the writer and the syncer still run: each is
		 * resumed), wait a little for the rest in flight, then stop:
		 * libmicrohttpd must not be stopped with a connection suspended. */
		MHD_socket ls = MHD_quiesce_daemon(daemon);
		atomic_store(&S->draining, true);
		for (int i = 0; i < 6000; i++) { /* suspended: 60 s at most; the rest: 10 s */
			if (!atomic_load(&S->suspended) &&
			    (i >= 1000 || !atomic_load(&S->inflight)))
				break;
			usleep(10000);
		}
		if (atomic_load(&S->suspended) > 0)
			fprintf(stderr,
				"sanbao serve: %ld transactions still waiting for their "
				"commit after 60 s\n",
				(long)atomic_load(&S->suspended));
		MHD_stop_daemon(daemon);
		if (ls != MHD_INVALID_SOCKET)
			close(ls);
		fprintf(stderr, "sanbao serve: stopped\n");
	}
	sb_service_stop(S);
	if (key) {
		sqlite3 *rdb = pthread_getspecific(rdb_key);
		if (rdb)
			sb_serve_store_close(rdb);
		pthread_key_delete(rdb_key);
	}
	if (S->wdb)
		sb_serve_store_close(S->wdb);
	sb_policyset_free(S->set);
	for (size_t i = 0; i < S->ntok; i++) {
		free(S->tok[i].facilities);
		free(S->tok[i].split);
		free(S->tok[i].codes);
	}
	sb_free(S->tok);
	sb_free(S->fac);
	pthread_rwlock_destroy(&S->pol_lock);
	pthread_mutex_destroy(&S->reload_lock);
	sb_metrics_release(&S->metrics);
	free(S);
	return st;
}
