/* serve_int.h: what the service's files share: the parsed request, the
 * store (SQLite) and its audit chain, the transactions. */
#ifndef SANBAO_SERVE_INT_H
#define SANBAO_SERVE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "sanbao/policy.h"
#include "sanbao/serve.h"
#include "sanbao/settle.h"

/* ---- requests (request.c) --------------------------------------------- */

typedef struct sb_serve_req {
	char infno[5];
	char msgid[65];
	char fixmedins_code[33];
	char mdtrtarea_admvs[7];
	char insuplc_admdvs[7];
	char opter[65];
	json_t *root;        /* owned: json_decref */
	json_t *input;       /* borrowed from root */
	char input_hash[65]; /* SM3 of infno and the canonical input */
	char body_sm3[65];   /* SM3 of the body (the audit's req_hash); writes only */
} sb_serve_req;

/* Parses an envelope; path_infno is the {infno} of the URL. Returns 0, or
 * the HTTP status (400) with a sentence naming the field in err. Either way
 * r->root is NULL or owned by r: sb_serve_req_release. */
int sb_serve_req_parse(const char *body, size_t n, const char *path_infno, sb_serve_req *r,
		       char *err, size_t cap);
/* The same; input_hash only when hash (it matters to the transactions that
 * change state: a replay is recognized by it), else "". */
int sb_serve_req_parse_opt(const char *body, size_t n, const char *path_infno, bool hash,
			   sb_serve_req *r, char *err, size_t cap);
void sb_serve_req_release(sb_serve_req *r);

/* The settlement input of 2206, 2207, 2303, 2304. */
typedef struct sb_serve_setl {
	char psn_no[19];
	char mdtrt_id[65];
	uint8_t visit, filing;
	sb_date date;
	sb_fen total, in_scope, pre, over, out;
	bool has_out;
	char dise_codg[33];
} sb_serve_setl;

/* Reads a settlement input; false with err naming the field. today is the
 * default date. */
bool sb_serve_setl_parse(const json_t *input, sb_date today, sb_serve_setl *s, char *err,
			 size_t cap);
/* A string field of at most max bytes, printable ASCII; NULL when absent,
 * else "" with err set when bad. */
const char *sb_serve_str(const json_t *o, const char *name, size_t max, bool required, char *err,
			 size_t cap);
/* An amount: JSON number or string of yuan, at most 2 decimals, >= 0. */
bool sb_serve_money(const json_t *o, const char *name, bool required, sb_fen *out, bool *given,
		    char *err, size_t cap);

/* SM3 of p[0..n) as 64 hex digits and NUL. */
void sb_serve_sm3_hex(const void *p, size_t n, char out[65]);
void sb_serve_sha256_hex(const void *p, size_t n, char out[65]);

/* ---- compact JSON text (jsonw.c): jansson's JSON_COMPACT bytes ------------- */

typedef struct sb_jw {
	char *p; /* malloc'ed, NUL-terminated */
	size_t n, cap;
	bool oom;
} sb_jw;

bool sb_jw_reserve(sb_jw *w, size_t more);
void sb_jw_raw(sb_jw *w, const char *s, size_t n);
void sb_jw_lit(sb_jw *w, const char *s);
/* A string value, escaped; NULL writes null. */
void sb_jw_str(sb_jw *w, const char *s);
/* ,"k": (the comma unless just after { or [). */
void sb_jw_key(sb_jw *w, const char *k);
/* The comma before an array element (none after [). */
void sb_jw_comma(sb_jw *w);
void sb_jw_kstr(sb_jw *w, const char *k, const char *v);
void sb_jw_kint(sb_jw *w, const char *k, long long v);
/* JSON text s[0..n) (spaces allowed) appended compact, strings re-escaped. */
void sb_jw_minify(sb_jw *w, const char *s, size_t n);

/* ---- the store (store.c) ------------------------------------------------ */

SB_MUST_USE sb_status sb_serve_store_open(const char *path, bool create, sqlite3 **db, sb_diag *d);
/* Closes a store connection: finalizes its statements (the calling
 * thread's cached ones included). */
void sb_serve_store_close(sqlite3 *db);
/* The calling thread's prepared statement of sql on db (prepared on first
 * use, then kept); give it back with sb_serve_stmt_done (reset, bindings
 * cleared), never sqlite3_finalize. */
SB_MUST_USE int sb_serve_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **s);
void sb_serve_stmt_done(sqlite3_stmt *s);
/* One statement without results through the cache: SQLITE_OK or a code. */
int sb_serve_exec(sqlite3 *db, const char *sql);
/* Appends an audit record inside the caller's transaction: the token's
 * name, the call (infno), msgid and operator, the SM3 of request and response. */
SB_MUST_USE int sb_serve_audit(sqlite3 *db, const char *token, const char *call, const char *msgid,
			       const char *opter, const void *req, size_t nreq, const void *resp,
			       size_t nresp);
/* The same with the request's SM3 already computed (64 hex digits). */
SB_MUST_USE int sb_serve_audit_h(sqlite3 *db, const char *token, const char *call,
				 const char *msgid, const char *opter, const char req_sm3[65],
				 const void *resp, size_t nresp);
/* Forgets the calling thread's last appended record (sb_serve_audit_h
 * keeps it to chain the next without reading it back): call it after
 * every rollback on that thread. */
void sb_serve_audit_forget(void);
/* The same with the response's SM3 already computed (64 hex digits). */
SB_MUST_USE int sb_serve_audit_hh(sqlite3 *db, const char *token, const char *call,
				  const char *msgid, const char *opter, const char req_sm3[65],
				  const char resp_sm3[65]);
/* Checks the chain: records checked and the first bad sequence number. */
SB_MUST_USE int sb_serve_audit_verify(sqlite3 *db, long *length, long *bad, char *why, size_t cap);
/* Applies sign x the encoded delta to the accumulators of psn_no. */
SB_MUST_USE int sb_serve_acc_load(sqlite3 *db, const char *psn_no, sb_acc *acc, char *err,
				  size_t cap);
/* The same (acc may be NULL), with a malloc'ed copy of the stored bytes in
 * *raw (NULL and 0 when the person has none). */
SB_MUST_USE int sb_serve_acc_load_raw(sqlite3 *db, const char *psn_no, sb_acc *acc, uint8_t **raw,
				      size_t *nraw, char *err, size_t cap);
/* Whether the stored accumulators of psn_no are the bytes raw[0..nraw)
 * (none stored: nraw 0); *rc a SQLite code when they cannot be read. */
bool sb_serve_acc_same(sqlite3 *db, const char *psn_no, const uint8_t *raw, size_t nraw, int *rc);
SB_MUST_USE int sb_serve_acc_store(sqlite3 *db, const char *psn_no, const sb_acc *acc);
/* acc += sign * delta; false when an entry would go negative. */
bool sb_serve_acc_apply(sb_acc *acc, const sb_acc *delta, int sign);
/* delta = after - before (entries that changed). */
bool sb_serve_acc_delta(const sb_acc *before, const sb_acc *after, sb_acc *delta);

/* A person from the store, as settlement needs them; 0, SQLITE_NOTFOUND
 * (person not enrolled) or another SQLite code. */
int sb_serve_person_load(sqlite3 *db, const sb_policyset *set, const char *psn_no, sb_person *p,
			 char *household, size_t hcap);

#endif
