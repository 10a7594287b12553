/* service.h: the running service's state (service.c, http.c, metrics.c). */
#ifndef SANBAO_SERVE_SERVICE_H
#define SANBAO_SERVE_SERVICE_H

#include <stdarg.h>
#include <stdatomic.h>

#include "serve/serve_int.h"

typedef struct sb_facility {
	char code[33], name[128], level[48], region[7];
} sb_facility;

enum {
	SB_ROLE_HOSPITAL,
	SB_ROLE_ENROLMENT,
	SB_ROLE_CIVIL,
	SB_ROLE_ANALYST,
	SB_ROLE_AUDITOR,
	SB_ROLE_ADMIN,
	SB_ROLE_N
};

typedef struct sb_token {
	char algo[8]; /* "sha256" or "sm3" */
	char hex[65];
	char name[64];
	int role;
	char *facilities; /* comma-separated; hospital only; owned */
	char **codes;     /* the same, split and sorted (sb_service_may_act); owned */
	size_t ncodes;
	char *split; /* the codes' storage; owned */
} sb_token;

enum { SB_JOB_TX, SB_JOB_PERSON, SB_JOB_IDENTITY, SB_JOB_AUDIT };

/* A settlement prepared before the writer (service.c). */
typedef struct sb_prepared sb_prepared;

typedef struct sb_job {
	int kind;
	const sb_token *tok;
	const sb_serve_req *req; /* SB_JOB_TX */
	sb_prepared *pre;        /* 2207, 2304: prepared in the HTTP thread, or NULL */
	json_t *obj;             /* REST body */
	char key[80];            /* psn_no of the path, or the audit call */
	const char *body;
	size_t nbody;
	/* answered by the writer */
	int http;
	bool replay;
	char *resp; /* malloc'ed */
	bool done;
	/* Asynchronous jobs (a suspended HTTP connection): called by the
	 * writer after the commit, outside its lock; NULL: submit waits. */
	void (*on_done)(void *arg);
	void *arg;
	struct sb_job *next;
} sb_job;

/* A transaction that changes state, in flight: begun in an HTTP thread,
 * run by the writer, finished in an HTTP thread (sb_service_fsi_*). */
typedef struct sb_fsi_call {
	sb_serve_req r;
	sb_job j;
} sb_fsi_call;

#define SB_MET_BUCKETS 12
#define SB_MET_INFNOS 12 /* the 11 transactions and "other" */

typedef struct sb_metrics {
	pthread_mutex_t lock;
	long requests[SB_MET_INFNOS][2]; /* infcode 0, -1 */
	long status[8];                  /* 200 400 401 403 404 409 413 503 */
	long lat[SB_MET_INFNOS][SB_MET_BUCKETS + 1];
	double lat_sum[SB_MET_INFNOS];
	long commit_hist[SB_MET_BUCKETS + 1];
	double commit_sum, work_sum;
	long commits, commit_failures, committed_jobs;
	long sync_hist[SB_MET_BUCKETS + 1];
	double sync_sum;
	long syncs, sync_failures, synced_jobs;
	long rest[8];
	long checkpoints[2]; /* by the checkpointer, by the writer (the WAL's tail) */
	long settled[3];     /* by the writer: as prepared, prepared but again, not prepared */
} sb_metrics;

typedef struct sb_service {
	const sb_serve_config *cfg;
	sqlite3 *wdb;
	pthread_rwlock_t pol_lock;
	pthread_mutex_t reload_lock; /* one reload at a time */
	sb_policyset *set;
	sb_facility *fac; /* sorted by code (sb_service_facility) */
	size_t nfac;
	sb_token *tok;
	size_t ntok;
	pthread_mutex_t qlock;
	pthread_cond_t qcond, donecond;
	sb_job *qhead, *qtail;
	bool stop, started;
	pthread_t writer;
	/* Committed groups waiting for their fdatasync (the syncer thread). */
	pthread_mutex_t slock;
	pthread_cond_t scond;
	sb_job *shead, *stail;
	bool sstop, sstarted;
	pthread_t syncer;
	/* Checkpoints in their own thread and connection (the checkpointer),
	 * off the writer's path: frames counted by the writer's WAL hook. */
	pthread_mutex_t cklock;
	pthread_cond_t ckcond;
	bool ckwant, ckstop, ckstarted;
	pthread_t ckthread;
	sqlite3 *ckdb;
	atomic_int wal_frames, ck_done; /* the WAL's frames, and those checkpointed */
	int walfd;                      /* the store's -wal file, opened by the syncer */
	char *wal_path;
	atomic_bool store_ok;
	atomic_ullong refseq;
	atomic_long inflight;
	/* connections suspended for a group commit and not yet answered (the
	 * handler runs again only once libmicrohttpd has resumed them), and the
	 * drain's flag: no transaction is queued once it is set */
	atomic_long suspended;
	atomic_bool draining;
	sb_metrics metrics;
	/* the writer's scratch */
	sb_trace *wtrace;
	void *wcomp;
	sb_acc wbefore, wacc, wdelta;
	bool prepare; /* SB_SERVE_PREPARE: 2207/2304 prepared in the HTTP threads */
	/* The counter settlement numbers are taken from (next_seq in service.c). */
	atomic_llong next_seq;
	/* Incremented at each reload (under pol_lock's write lock): a
	 * settlement prepared under other policies is settled again. */
	unsigned long long set_gen;
	/* Incremented by the writer after each commit that stored a person or
	 * an identity: the HTTP threads' kept persons are then read again. */
	atomic_ullong person_gen;
} sb_service;

char *sb_service_envelope(sb_service *S, int infcode, const char *err, json_t *output);
const sb_facility *sb_service_facility(const sb_service *S, const char *code);
bool sb_service_may_act(const sb_token *t, const char *code);
/* Splits and sorts t->facilities into t->codes; false when out of memory. */
bool sb_service_token_codes(sb_token *t);
/* POST /fsi/api/{infno}: the HTTP status; *resp malloc'ed. */
int sb_service_fsi(sb_service *S, sqlite3 *rdb, const sb_token *tk, const char *path_infno,
		   const char *body, size_t n, char **resp, char infno[5], int *infcode);
/* The same without waiting: a transaction answered at once returns its
 * HTTP status with *call NULL; one for the writer (2207, 2304, 2208, 2305,
 * 2601) calls on_wait(arg) (suspend the connection) and then queues it
 * for the writer, returns 0 with *call set, and the syncer calls
 * on_done(arg) once it is durable; then sb_service_fsi_finish gives the
 * status and the answer and frees the call. body must live until then. */
int sb_service_fsi_begin(sb_service *S, sqlite3 *rdb, const sb_token *tk, const char *path_infno,
			 const char *body, size_t n, char **resp, char infno[5], int *infcode,
			 void (*on_wait)(void *), void (*on_done)(void *), void *arg,
			 sb_fsi_call **call);
int sb_service_fsi_finish(sb_service *S, sb_fsi_call *call, char **resp, int *infcode);
int sb_service_rest_write(sb_service *S, const sb_token *tk, int kind, const char *key,
			  const char *body, size_t n, char **resp);
int sb_service_audit_event(sb_service *S, const sb_token *tk, const char *call, const char *body,
			   size_t n);
/* GET /v1/persons/{psn_no}/accumulators?year=Y (offline.c). */
int sb_serve_accumulators(sb_service *S, sqlite3 *db, const char *psn, const char *year,
			  char **resp);
SB_MUST_USE sb_status sb_service_start(sb_service *S, sb_diag *d);
void sb_service_stop(sb_service *S);

void sb_metrics_init(sb_metrics *m);
void sb_metrics_release(sb_metrics *m);
void sb_metrics_request(sb_metrics *m, const char *infno, int infcode, int http, double secs);
/* One group: the time to run its jobs and the time of its COMMIT (the fsync). */
void sb_metrics_commit(sb_metrics *m, double work, double secs, long jobs, bool ok);
/* One fdatasync of the WAL making jobs durable. */
void sb_metrics_sync(sb_metrics *m, double secs, long jobs, bool ok);
/* One settlement stored by the writer: prepared before (and whether the
 * preparation held or it was settled again). */
void sb_metrics_prepared(sb_metrics *m, bool prepared, bool held);
/* One checkpoint of the WAL: by the checkpointer or (tail) by the writer. */
void sb_metrics_checkpoint(sb_metrics *m, bool tail);
/* Prometheus text, malloc'ed. */
char *sb_metrics_text(sb_metrics *m);

#endif
