/* sink.h: the stream of settled claims that the batch hands downstream.
 *
 * The batch reads persons, identities and claims once and settles each
 * claim under one or several loaded policy sets ("scenarios"; scenario 0 is
 * the baseline). Every settled claim and every rejected one goes to each
 * sink in turn. Partitions are settled in parallel, each by one thread, and
 * within a partition claims come in the order settlement takes them
 * (person, date, claim id); for each claim the scenarios come in order.
 *
 * A sink has state of its own (self) and, per thread, state of the thread
 * (thr). Its hooks, each optional (NULL):
 *
 *   begin          once, before any thread starts: open files, headers
 *   thread_new     per thread: the thread's state (*thr)
 *   partition      a thread starts partition part (claims records in it)
 *   claim, reject  one claim of the partition (borrowed; see sb_settled)
 *   partition_end  the partition is done: *piece is what commit writes
 *   commit         in partition order, one call at a time: write the piece
 *                  and free it (so the output is the same for any thread
 *                  count); discard frees a piece that is not committed
 *   merge          after the threads: fold thr's statistics into self
 *   thread_free    frees thr
 *   end            once, after every merge: final outputs, close files
 *   release        frees self (also after a failed run)
 *
 * A hook returns SB_OK or a status with the reason in d. A new downstream
 * analysis is a new sink in its own folder, added to the batch's list in
 * src/batch/pass2.c (sinks_for): nothing in the settlement loop changes.
 * Sinks see no batch internals: what they need of persons comes in
 * sb_settled and through sb_sink_people.
 */
#ifndef SANBAO_SINK_H
#define SANBAO_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "sanbao/batch.h"
#include "sanbao/settle.h"
#include "sanbao/trace.h"

/* A person as the population view gives them (for sinks that report on
 * every person or household, not only those with claims). */
typedef struct sb_sink_person {
	uint32_t household;    /* household index + 1; 0: none */
	size_t policy;         /* index of their region's policy in scenario 0's set */
	int64_t income;        /* household income per year in fen, -1 when not given */
	uint16_t nidents;
	const sb_ident *idents; /* identity intervals (symbols of scenario 0's set) */
} sb_sink_person;

typedef struct sb_sink_people {
	const void *ctx;
	size_t npersons, nhouseholds;
	void (*person)(const void *ctx, uint32_t i, sb_sink_person *out);
	/* The person's resident ID or pseudonym, 18 characters and NUL. */
	void (*id_text)(const void *ctx, uint32_t i, char out[SB_ID_LEN + 1]);
	/* A household's name by index + 1. */
	const char *(*household_name)(const void *ctx, uint32_t household);
} sb_sink_people;

/* What every sink is told once, at begin. */
typedef struct sb_sink_env {
	const sb_batch_config *cfg;
	int nscenarios;
	const sb_policyset *const *sets; /* one per scenario */
	const char *const *dirs;         /* their policy folders */
	int threads, partitions;
	const sb_sink_people *people;
	bool monitor_only;               /* claims come from a settlements.csv */
	/* The run's output folder: a sink creates its files with
	 * sb_outdir_create (io/outfile.h), writes with sb_outdir_write and
	 * finishes them with sb_outdir_finish, never fclose; the batch commits
	 * every output together when the whole run has succeeded. */
	struct sb_outdir *out;
} sb_sink_env;

/* One claim settled under one scenario. Everything is borrowed for the
 * call only, except claim_id, which stays valid until the partition ends. */
typedef struct sb_settled {
	int scenario;
	const sb_policyset *set;     /* the scenario's set */
	const sb_policy *policy;     /* the person's region's policy in it */
	size_t policy_index;         /* its index in set */
	uint64_t line;               /* claims.csv line */
	const char *claim_id;        /* claim_idlen bytes, not NUL-terminated */
	uint32_t claim_idlen;
	const sb_claim *claim;       /* the claim as settled (c->id is NUL-terminated) */
	const sb_person *person;     /* the person's fields as settled */
	uint32_t person_index;       /* in sb_sink_people */
	uint32_t household;          /* household index + 1; 0: none */
	uint32_t members;            /* enrolled members of the household (1 when none) */
	uint32_t region;             /* the person's (or the settled row's) region code */
	/* Per layer base, payment, penalty (res->layer), the version and
	 * identity applied, the policy year, the monitoring rules and their
	 * thresholds (res->rules_held, res->rule_threshold); the pool of layer
	 * i is sb_settled_pool(s, i). */
	const sb_result *res;
	/* The settlement step by step (sanbao/trace.h) when this is the claim
	 * to explain (scenario 0, cfg->explain_id), else NULL. */
	const sb_trace *trace;
} sb_settled;

/* A claim that was not settled under a scenario (or, with scenario -1,
 * under any: a duplicate id). */
typedef struct sb_rejected {
	int scenario;
	uint64_t line;
	const char *claim_id;
	uint32_t claim_idlen;
	const char *reason;
	sb_fen total;
	/* The steps up to the refusal when the core refused the claim to
	 * explain, else NULL. */
	const sb_trace *trace;
} sb_rejected;

typedef struct sb_sink_ops {
	const char *name;
	sb_status (*begin)(void *self, const sb_sink_env *env, sb_diag *d);
	sb_status (*thread_new)(void *self, void **thr, sb_diag *d);
	sb_status (*partition)(void *self, void *thr, int part, size_t records, sb_diag *d);
	sb_status (*claim)(void *self, void *thr, const sb_settled *s, sb_diag *d);
	sb_status (*reject)(void *self, void *thr, const sb_rejected *r, sb_diag *d);
	sb_status (*partition_end)(void *self, void *thr, int part, void **piece, sb_diag *d);
	sb_status (*commit)(void *self, int part, void *piece, sb_diag *d);
	void (*discard)(void *self, void *piece);
	sb_status (*merge)(void *self, void *thr, sb_diag *d);
	void (*thread_free)(void *self, void *thr);
	sb_status (*end)(void *self, sb_diag *d);
	void (*release)(void *self);
} sb_sink_ops;

typedef struct sb_sink {
	const sb_sink_ops *ops;
	void *self;
} sb_sink;

/* The pool symbol layer i of a settled claim drew on. */
int sb_settled_pool(const sb_settled *s, int i);

#endif
