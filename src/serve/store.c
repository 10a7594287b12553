/* store.c: the service's SQLite store (WAL, synchronous=FULL: a committed
 * transaction is on disk), the accumulators as sb_acc_encode bytes, and the
 * audit chain: chain = SM3(previous chain || this record), checked record
 * by record by sb_serve_audit_verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "serve/serve_int.h"
#include "settle/settle_int.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS persons(psn_no TEXT PRIMARY KEY, scheme INT, region TEXT,"
	" household TEXT, employment INT, tier TEXT, income INT, birth INT);"
	"CREATE TABLE IF NOT EXISTS identities(psn_no TEXT, identity TEXT, dfrom INT, dto INT,"
	" PRIMARY KEY(psn_no, identity, dfrom));"
	"CREATE TABLE IF NOT EXISTS acc(psn_no TEXT PRIMARY KEY, blob BLOB) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS settlements(seq INTEGER PRIMARY KEY, setl_id TEXT UNIQUE,"
	" fixmedins_code TEXT, msgid TEXT, infno TEXT, psn_no TEXT, mdtrt_id TEXT, insutype TEXT,"
	" visit INT, level TEXT, place INT, care_region TEXT, filing INT, dise_codg TEXT,"
	" setl_date INT, total INT, in_scope INT, pre INT, over INT, out INT, has_out INT,"
	" fund INT, oop INT, oop_in_scope INT, identity TEXT, version TEXT, policy_year INT,"
	" region TEXT, layers TEXT, delta BLOB, status TEXT, cancel_ref TEXT);"
	"CREATE INDEX IF NOT EXISTS settlements_psn ON settlements(psn_no, seq);"
	"CREATE INDEX IF NOT EXISTS settlements_fac ON settlements(fixmedins_code, setl_date);"
	"CREATE TABLE IF NOT EXISTS msgs(fixmedins_code TEXT, msgid TEXT, infno TEXT,"
	" input_hash TEXT, http INT, response TEXT, setl_id TEXT, time INT,"
	" PRIMARY KEY(fixmedins_code, msgid));"
	"CREATE TABLE IF NOT EXISTS reversals(fixmedins_code TEXT, omsgid TEXT, oinfno TEXT,"
	" msgid TEXT, PRIMARY KEY(fixmedins_code, omsgid));"
	"CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, time TEXT, token TEXT,"
	" call TEXT, msgid TEXT, opter TEXT, req_hash TEXT, resp_hash TEXT, chain TEXT);";

/* ---- prepared statements, kept per thread and connection ----------------------
 * Each thread uses its own connections (SQLITE_OPEN_NOMUTEX), so the cache
 * is thread-local: (connection, SQL text) -> statement, prepared once with
 * SQLITE_PREPARE_PERSISTENT. A statement is reset as soon as its caller is
 * done with it (sb_serve_stmt_done), so no read transaction stays open. */
enum { STMT_SLOTS = 64 };
typedef struct stmt_slot {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *s;
} stmt_slot;
static _Thread_local stmt_slot slots[STMT_SLOTS];
static _Thread_local int nslots;

int sb_serve_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].db == db && (slots[i].sql == sql || !strcmp(slots[i].sql, sql))) {
			*out = slots[i].s;
			return SQLITE_OK;
		}
	*out = NULL;
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc == SQLITE_OK && nslots < STMT_SLOTS)
		slots[nslots++] = (stmt_slot){ db, sql, *out };
	return rc;
}

void sb_serve_stmt_done(sqlite3_stmt *s)
{
	if (!s)
		return;
	for (int i = 0; i < nslots; i++)
		if (slots[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return;
		}
	sqlite3_finalize(s);
}

int sb_serve_exec(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db, sql, &s);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	sb_serve_stmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void audit_forget_db(sqlite3 *db);

void sb_serve_store_close(sqlite3 *db)
{
	if (!db)
		return;
	audit_forget_db(db);
	int k = 0;
	for (int i = 0; i < nslots; i++)
		if (slots[i].db != db)
			slots[k++] = slots[i];
	nslots = k;
	for (sqlite3_stmt *s; (s = sqlite3_next_stmt(db, NULL));)
		sqlite3_finalize(s);
	sqlite3_close(db);
}

sb_status sb_serve_store_open(const char *path, bool create, sqlite3 **out, sb_diag *d)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		sb_status st = sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open the store: %s",
					   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return st;
	}
	sqlite3_busy_timeout(db, 10000);
	char *msg = NULL;
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			  &msg);
	if (rc == SQLITE_OK && create)
		rc = sqlite3_exec(db, schema, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		sb_status st = sb_diag_set(d, SB_EIO, path, 0, 0, "cannot prepare the store: %s",
					   msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return st;
	}
	*out = db;
	return SB_OK;
}

static void hex_bytes(const char *hex, unsigned char out[32])
{
	memset(out, 0, 32);
	for (int i = 0; i < 32 && hex && hex[2 * i] && hex[2 * i + 1]; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
		}
		out[i] = (unsigned char)v;
	}
}

/* chain = SM3(previous chain as 32 bytes || the record's text). */
static void chain_of(const char *prev, long seq, const char *time, const char *token,
		     const char *call, const char *msgid, const char *opter, const char *rq,
		     const char *rs, char out[65])
{
	char rec[1024];
	unsigned char buf[32 + sizeof rec];
	int n = snprintf(rec, sizeof rec, "%ld\t%s\t%s\t%s\t%s\t%s\t%s\t%s", seq, time, token, call,
			 opter, msgid, rq, rs);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof rec)
		n = (int)sizeof rec - 1;
	hex_bytes(prev, buf);
	memcpy(buf + 32, rec, (size_t)n);
	sb_serve_sm3_hex(buf, 32 + (size_t)n, out);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

int sb_serve_audit(sqlite3 *db, const char *token, const char *call, const char *msgid,
		   const char *opter, const void *req, size_t nreq, const void *resp, size_t nresp)
{
	char rq[65];
	sb_serve_sm3_hex(req, nreq, rq);
	return sb_serve_audit_h(db, token, call, msgid, opter, rq, resp, nresp);
}

/* The last record this thread appended on db (its sequence number and
 * chain), so that the next need not read it back; forgotten whenever the
 * thread rolls anything back (sb_serve_audit_forget). */
static _Thread_local struct {
	sqlite3 *db;
	long seq;
	char chain[65];
} audit_tail;

void sb_serve_audit_forget(void)
{
	audit_tail.db = NULL;
}

/* A closed connection's address may be a new one's. */
static void audit_forget_db(sqlite3 *db)
{
	if (audit_tail.db == db)
		audit_tail.db = NULL;
}

int sb_serve_audit_h(sqlite3 *db, const char *token, const char *call, const char *msgid,
		     const char *opter, const char rq[65], const void *resp, size_t nresp)
{
	char rs[65];
	sb_serve_sm3_hex(resp, nresp, rs);
	return sb_serve_audit_hh(db, token, call, msgid, opter, rq, rs);
}

int sb_serve_audit_hh(sqlite3 *db, const char *token, const char *call, const char *msgid,
		      const char *opter, const char rq[65], const char rs[65])
{
	sqlite3_stmt *s;
	int rc;
	long seq = 1;
	char prev[65] = "";
	if (audit_tail.db == db) {
		seq = audit_tail.seq + 1;
		memcpy(prev, audit_tail.chain, sizeof prev);
	} else {
		rc = sb_serve_stmt(db, "SELECT seq, chain FROM audit ORDER BY seq DESC LIMIT 1",
				   &s);
		if (rc)
			return rc;
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			seq = (long)sqlite3_column_int64(s, 0) + 1;
			snprintf(prev, sizeof prev, "%s", col_text(s, 1));
		}
		sb_serve_stmt_done(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
	}
	audit_tail.db = NULL;
	char when[96], chain[65];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	chain_of(prev, seq, when, token, call, msgid, opter, rq, rs, chain);
	rc = sb_serve_stmt(db, "INSERT INTO audit VALUES(?,?,?,?,?,?,?,?,?)", &s);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, seq);
	sqlite3_bind_text(s, 2, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, call, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, msgid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, opter, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, rq, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, rs, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, chain, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sb_serve_stmt_done(s);
	if (rc != SQLITE_DONE)
		return rc;
	audit_tail.db = db;
	audit_tail.seq = seq;
	memcpy(audit_tail.chain, chain, sizeof chain);
	return SQLITE_OK;
}

int sb_serve_audit_verify(sqlite3 *db, long *length, long *bad, char *why, size_t cap)
{
	sqlite3_stmt *s;
	*length = 0;
	*bad = 0;
	why[0] = '\0';
	int rc = sb_serve_stmt(db,
			       "SELECT seq, time, token, call, msgid, opter, req_hash, resp_hash,"
			       " chain FROM audit ORDER BY seq",
			       &s);
	if (rc)
		return rc;
	char prev[65] = "";
	long want = 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long seq = (long)sqlite3_column_int64(s, 0);
		char chain[65];
		if (seq != want) {
			*bad = want;
			snprintf(why, cap,
				 "record %ld is missing (the next record is %ld): records "
				 "were removed or reordered",
				 want, seq);
			break;
		}
		chain_of(prev, seq, col_text(s, 1), col_text(s, 2), col_text(s, 3), col_text(s, 4),
			 col_text(s, 5), col_text(s, 6), col_text(s, 7), chain);
		if (strcmp(chain, col_text(s, 8))) {
			*bad = seq;
			snprintf(why, cap,
				 "record %ld (%s %s at %s) does not hold: its chain is not "
				 "SM3(previous chain || record); it or an earlier record "
				 "was changed",
				 seq, col_text(s, 3), col_text(s, 4), col_text(s, 1));
			break;
		}
		snprintf(prev, sizeof prev, "%s", chain);
		(*length)++;
		want++;
	}
	sb_serve_stmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int sb_serve_acc_load(sqlite3 *db, const char *psn_no, sb_acc *acc, char *err, size_t cap)
{
	return sb_serve_acc_load_raw(db, psn_no, acc, NULL, NULL, err, cap);
}

int sb_serve_acc_load_raw(sqlite3 *db, const char *psn_no, sb_acc *acc, uint8_t **raw, size_t *nraw,
			  char *err, size_t cap)
{
	sqlite3_stmt *s;
	if (acc)
		sb_acc_reset(acc);
	if (raw) {
		*raw = NULL;
		*nraw = 0;
	}
	int rc = sb_serve_stmt(db, "SELECT blob FROM acc WHERE psn_no=?", &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, psn_no, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sb_diag d;
		sb_diag_clear(&d);
		const void *b = sqlite3_column_blob(s, 0);
		int n = sqlite3_column_bytes(s, 0);
		if (acc && n && sb_acc_decode(acc, b, (size_t)n, &d)) {
			snprintf(err, cap, "the stored accumulators are damaged: %s", d.message);
			sb_serve_stmt_done(s);
			return SQLITE_CORRUPT;
		}
		if (raw && n > 0) {
			*raw = malloc((size_t)n);
			if (!*raw) {
				sb_serve_stmt_done(s);
				return SQLITE_NOMEM;
			}
			memcpy(*raw, b, (size_t)n);
			*nraw = (size_t)n;
		}
		rc = SQLITE_DONE;
	}
	sb_serve_stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

bool sb_serve_acc_same(sqlite3 *db, const char *psn_no, const uint8_t *raw, size_t nraw, int *rc)
{
	sqlite3_stmt *s;
	*rc = sb_serve_stmt(db, "SELECT blob FROM acc WHERE psn_no=?", &s);
	if (*rc)
		return false;
	sqlite3_bind_text(s, 1, psn_no, -1, SQLITE_STATIC);
	int st = sqlite3_step(s);
	bool same = false;
	if (st == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 0);
		const void *b = sqlite3_column_blob(s, 0);
		same = (size_t)n == nraw && (!n || !memcmp(b, raw, nraw));
	} else if (st == SQLITE_DONE) {
		same = nraw == 0;
	} else {
		*rc = st;
	}
	sb_serve_stmt_done(s);
	return same;
}

int sb_serve_acc_store(sqlite3 *db, const char *psn_no, const sb_acc *acc)
{
	size_t n = sb_acc_encoded_size(acc), len = 0;
	uint8_t *buf = sb_malloc(n);
	sb_diag d;
	if (!buf)
		return SQLITE_NOMEM;
	if (sb_acc_encode(acc, buf, n, &len, &d)) {
		sb_free(buf);
		return SQLITE_ERROR;
	}
	sqlite3_stmt *s;
	int rc = sb_serve_stmt(db, "INSERT OR REPLACE INTO acc VALUES(?,?)", &s);
	if (!rc) {
		sqlite3_bind_text(s, 1, psn_no, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, buf, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sb_serve_stmt_done(s);
	}
	sb_free(buf);
	return rc;
}

bool sb_serve_acc_apply(sb_acc *acc, const sb_acc *delta, int sign)
{
	for (uint32_t i = 0; i < delta->n; i++) {
		const sb_acc_entry *e = &delta->e[i];
		int k;
		sb_diag d;
		if (sb_acc_slot(acc, e->region, e->year, e->kind, e->id, &k, &d))
			return false;
		sb_acc_entry *t = &acc->e[k];
		sb_fen amount = t->amount + sign * e->amount;
		int64_t count = (int64_t)t->count + sign * (int64_t)e->count;
		if (amount < 0 || count < 0)
			return false;
		t->amount = amount;
		t->count = (uint32_t)count;
	}
	return true;
}

bool sb_serve_acc_delta(const sb_acc *before, const sb_acc *after, sb_acc *delta)
{
	sb_acc_reset(delta);
	for (uint32_t i = 0; i < after->n; i++) {
		const sb_acc_entry *e = &after->e[i];
		const sb_acc_entry *b = sb_acc_find(before, e->region, e->year, e->kind, e->id);
		sb_fen da = e->amount - (b ? b->amount : 0);
		int64_t dc = (int64_t)e->count - (b ? (int64_t)b->count : 0);
		if (!da && !dc)
			continue;
		if (da < 0 || dc < 0)
			return false;
		int k;
		sb_diag d;
		if (sb_acc_slot(delta, e->region, e->year, e->kind, e->id, &k, &d))
			return false;
		delta->e[k].amount = da;
		delta->e[k].count = (uint32_t)dc;
	}
	return true;
}

static int cmp_ident(const void *a, const void *b)
{
	const sb_ident *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

int sb_serve_person_load(sqlite3 *db, const sb_policyset *set, const char *psn_no, sb_person *p,
			 char *household, size_t hcap)
{
	sqlite3_stmt *s;
	memset(p, 0, sizeof *p);
	int rc = sb_serve_stmt(db,
			       "SELECT scheme, region, employment, tier, birth, household"
			       " FROM persons WHERE psn_no=?",
			       &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, psn_no, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sb_serve_stmt_done(s);
		return rc == SQLITE_DONE ? SQLITE_NOTFOUND : rc;
	}
	snprintf(p->id, sizeof p->id, "%s", psn_no);
	p->scheme = (uint8_t)sqlite3_column_int(s, 0);
	snprintf(p->region, sizeof p->region, "%s", col_text(s, 1));
	p->employment = (uint8_t)sqlite3_column_int(s, 2);
	const char *tier = col_text(s, 3);
	p->tier = *tier ? sb_policyset_symbol(set, SB_SYM_TIER, tier, strlen(tier)) : -1;
	p->birth = (sb_date)sqlite3_column_int(s, 4);
	if (household)
		snprintf(household, hcap, "%s", col_text(s, 5));
	sb_serve_stmt_done(s);
	rc = sb_serve_stmt(db, "SELECT identity, dfrom, dto FROM identities WHERE psn_no=?", &s);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, psn_no, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && p->nidents < SB_MAX_PERSON_IDENTITIES) {
		const char *w = col_text(s, 0);
		sb_ident *id = &p->idents[p->nidents++];
		id->sym = sb_policyset_symbol(set, SB_SYM_IDENTITY, w, strlen(w));
		id->from = (sb_date)sqlite3_column_int(s, 1);
		id->to = (sb_date)sqlite3_column_int(s, 2);
	}
	sb_serve_stmt_done(s);
	qsort(p->idents, p->nidents, sizeof *p->idents, cmp_ident);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}
