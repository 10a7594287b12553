/* offline.c: what reads the store whole: a person's accumulators for the
 * REST call, `sanbao export` (the store in the data format, through the
 * atomic output folder) and `sanbao verify-log` (the audit chain, and every
 * person's accumulators against their settlements in force). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "io/outfile.h"
#include "policy/policy_int.h"
#include "serve/service.h"

static const char *ctext(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

static const char *id_name(const sb_policyset *set, sb_symkind kind, uint64_t key)
{
	int n = sb_policyset_symbol_count(set, kind);
	for (int i = 0; i < n; i++) {
		const char *w = sb_policyset_symbol_name(set, kind, i);
		if (w && sb_id_key(w, strlen(w)) == key)
			return w;
	}
	return "?";
}

int sb_serve_accumulators(sb_service *S, sqlite3 *db, const char *psn, const char *year,
			  char **resp)
{
	char err[600] = "";
	long y = 0;
	if (year) {
		char *end;
		y = strtol(year, &end, 10);
		if (*end || y < 1900 || y > 2199) {
			*resp = sb_service_envelope(S, -1, "query year must be a year 1900-2199",
						    NULL);
			return 400;
		}
	}
	uint64_t key;
	int pseudo;
	const char *why;
	if (!db)
		return 503;
	if (sb_person_key(psn, strlen(psn), &key, &pseudo, NULL, &why)) {
		snprintf(err, sizeof err, "psn_no: resident ID %s", why);
		*resp = sb_service_envelope(S, -1, err, NULL);
		return 400;
	}
	sb_acc acc;
	sb_acc_init(&acc);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	int rc = sb_serve_acc_load(db, psn, &acc, err, sizeof err);
	/* Each capped layer's room as the person's last settlement of the
	 * year left it. */
	json_t *rooms = json_object();
	sqlite3_stmt *s;
	if (!rc && !sqlite3_prepare_v2(db,
				       "SELECT m.response, s.policy_year FROM settlements s"
				       " JOIN msgs m ON m.fixmedins_code=s.fixmedins_code AND"
				       " m.msgid=s.msgid WHERE s.psn_no=? AND s.status='settled'"
				       " ORDER BY s.seq",
				       -1, &s, NULL)) {
		sqlite3_bind_text(s, 1, psn, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW) {
			if (year && sqlite3_column_int(s, 1) != y)
				continue;
			json_t *o = json_loads(ctext(s, 0), 0, NULL);
			json_t *det = json_object_get(json_object_get(o, "output"), "setldetail");
			for (size_t i = 0; i < json_array_size(det); i++) {
				json_t *e = json_array_get(det, i);
				json_t *room = json_object_get(e, "crt_payb_lmt_amt");
				const char *layer = json_string_value(json_object_get(e, "layer"));
				if (layer && json_is_string(room))
					json_object_set(rooms, layer, room);
			}
			json_decref(o);
		}
		sqlite3_finalize(s);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		sb_acc_release(&acc);
		json_decref(rooms);
		*resp = sb_service_envelope(S, -1, err[0] ? err : "the store is unavailable", NULL);
		return 503;
	}
	pthread_rwlock_rdlock(&S->pol_lock);
	json_t *layers = json_array(), *pools = json_array();
	for (uint32_t i = 0; i < acc.n; i++) {
		const sb_acc_entry *e = &acc.e[i];
		if (year && e->year != y)
			continue;
		char region[8], m[SB_MONEY_BUF];
		snprintf(region, sizeof region, "%06u", e->region);
		sb_money_format(e->amount, m);
		json_t *o = json_object();
		json_object_set_new(o, "region", json_string(region));
		json_object_set_new(o, "policy_year", json_integer(e->year));
		if (e->kind == SB_ACC_LAYER) {
			const char *name = id_name(S->set, SB_SYM_LAYER, e->id);
			json_object_set_new(o, "layer", json_string(name));
			json_object_set_new(o, "base", json_string(m));
			json_object_set_new(o, "claims", json_integer(e->count));
			json_t *room = json_object_get(rooms, name);
			json_object_set_new(o, "cap_room", room ? json_incref(room) : json_null());
			json_array_append_new(layers, o);
		} else {
			json_object_set_new(o, "pool",
					    json_string(id_name(S->set, SB_SYM_POOL, e->id)));
			json_object_set_new(o, "paid", json_string(m));
			json_array_append_new(pools, o);
		}
	}
	pthread_rwlock_unlock(&S->pol_lock);
	json_t *out = json_object();
	char masked[SB_ID_LEN + 1];
	sb_id_mask(psn, strlen(psn), masked);
	json_object_set_new(out, "person", json_string(masked));
	json_object_set_new(out, "layers", layers);
	json_object_set_new(out, "pools", pools);
	*resp = sb_service_envelope(S, 0, NULL, out);
	json_decref(rooms);
	sb_acc_release(&acc);
	return 200;
}

/* ---- export -------------------------------------------------------------------- */

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void put_money(FILE *f, sb_fen v)
{
	char b[SB_MONEY_BUF];
	sb_money_format(v, b);
	fputs(b, f);
}

static void put_date(FILE *f, sb_date v)
{
	char b[16];
	sb_date_format(v, b);
	fputs(b, f);
}

static const char *const emp_names[] = { "active", "retired" };
static const char *const visit_names[] = { "inpatient", "chronic_outpatient", "outpatient",
					   "pharmacy" };
static const char *const place_names[] = { "local", "in_province", "cross_province" };
static const char *const filing_names[] = { "filed", "referral", "emergency", "unfiled",
					    "long_term" };

#define NAME(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : "")

sb_status sb_serve_export(const char *dbpath, const char *out_dir, long counts[3], sb_diag *d)
{
	sqlite3 *db;
	sb_status st = sb_serve_store_open(dbpath, false, &db, d);
	if (st)
		return st;
	sb_outdir *od = NULL;
	counts[0] = counts[1] = counts[2] = 0;
	if ((st = sb_outdir_open(out_dir, &od, d))) {
		sb_serve_store_close(db);
		return st;
	}
	FILE *fp = sb_outdir_create(od, "persons.csv", d);
	FILE *fi = fp ? sb_outdir_create(od, "identities.csv", d) : NULL;
	FILE *fc = fi ? sb_outdir_create(od, "claims.csv", d) : NULL;
	FILE *fs = fc ? sb_outdir_create(od, "settlements.csv", d) : NULL;
	if (!fs) {
		sb_outdir_close(od);
		sb_serve_store_close(db);
		return d->code ? d->code : SB_EIO;
	}
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db,
				    "SELECT psn_no, scheme, region, household, employment, tier,"
				    " income FROM persons ORDER BY rowid",
				    -1, &s, NULL);
	fputs("id,scheme,region,household,employment,tier,income\n", fp);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		fprintf(fp, "%s,%s,%s,", ctext(s, 0),
			sqlite3_column_int(s, 1) ? "resident" : "employee", ctext(s, 2));
		csv_field(fp, ctext(s, 3));
		fprintf(fp, ",%s,", NAME(emp_names, sqlite3_column_int(s, 4)));
		csv_field(fp, ctext(s, 5));
		fputc(',', fp);
		if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			put_money(fp, sqlite3_column_int64(s, 6));
		fputc('\n', fp);
		counts[0]++;
	}
	sqlite3_finalize(s);
	if (!rc)
		rc = sqlite3_prepare_v2(db,
					"SELECT psn_no, identity, dfrom, dto FROM identities"
					" ORDER BY psn_no, dfrom",
					-1, &s, NULL);
	fputs("person,identity,from,to\n", fi);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		fprintf(fi, "%s,", ctext(s, 0));
		csv_field(fi, ctext(s, 1));
		fputc(',', fi);
		put_date(fi, sqlite3_column_int(s, 2));
		fputc(',', fi);
		if (sqlite3_column_int(s, 3) != INT32_MAX)
			put_date(fi, sqlite3_column_int(s, 3));
		fputc('\n', fi);
		counts[1]++;
	}
	sqlite3_finalize(s);
	/* The layer columns: every layer that paid, in order of first appearance. */
	char **cols = NULL;
	size_t ncols = 0;
	if (!rc)
		rc = sqlite3_prepare_v2(db,
					"SELECT layers FROM settlements WHERE status='settled'"
					" ORDER BY seq",
					-1, &s, NULL);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		char buf[2048];
		snprintf(buf, sizeof buf, "%s", ctext(s, 0));
		char *save = NULL;
		for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(t, '=');
			if (eq)
				*eq = '\0';
			size_t i = 0;
			while (i < ncols && strcmp(cols[i], t))
				i++;
			if (i == ncols) {
				char **v = sb_realloc(cols, (ncols + 1) * sizeof *v);
				if (!v || !(v[ncols] = strdup(t))) {
					cols = v ? v : cols;
					rc = SQLITE_NOMEM;
					break;
				}
				cols = v;
				ncols++;
			}
		}
	}
	sqlite3_finalize(s);
	fputs("id,person,date,visit,level,place,care_region,filing,facility,diagnosis,total,"
	      "in_scope,pre_selfpay,over_limit,out_of_scope\n",
	      fc);
	fputs("id,person,region,date,visit,level,place,identity,version,total,in_scope", fs);
	for (size_t i = 0; i < ncols; i++) {
		fputc(',', fs);
		csv_field(fs, cols[i]);
	}
	fputs(",fund,oop,oop_in_scope,filing\n", fs);
	sb_fen *pay = ncols ? sb_calloc(ncols, sizeof *pay) : NULL;
	if (!rc)
		rc = sqlite3_prepare_v2(
			db,
			"SELECT setl_id, psn_no, setl_date, visit, level, place,"
			" care_region, filing, fixmedins_code, dise_codg, total, in_scope,"
			" pre, over, region, identity, version, layers, fund, oop,"
			" oop_in_scope FROM settlements WHERE status='settled' ORDER BY"
			" seq",
			-1, &s, NULL);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		sb_fen total = sqlite3_column_int64(s, 10), in = sqlite3_column_int64(s, 11),
		       pre = sqlite3_column_int64(s, 12), over = sqlite3_column_int64(s, 13);
		fprintf(fc, "%s,%s,", ctext(s, 0), ctext(s, 1));
		put_date(fc, sqlite3_column_int(s, 2));
		fprintf(fc, ",%s,", NAME(visit_names, sqlite3_column_int(s, 3)));
		csv_field(fc, ctext(s, 4));
		fprintf(fc, ",%s,%s,%s,", NAME(place_names, sqlite3_column_int(s, 5)), ctext(s, 6),
			NAME(filing_names, sqlite3_column_int(s, 7)));
		csv_field(fc, ctext(s, 8));
		fputc(',', fc);
		csv_field(fc, ctext(s, 9));
		fputc(',', fc);
		put_money(fc, total);
		fputc(',', fc);
		put_money(fc, in);
		fputc(',', fc);
		put_money(fc, pre);
		fputc(',', fc);
		put_money(fc, over);
		fputc(',', fc);
		put_money(fc, total - in - pre - over);
		fputc('\n', fc);
		fprintf(fs, "%s,%s,%s,", ctext(s, 0), ctext(s, 1), ctext(s, 14));
		put_date(fs, sqlite3_column_int(s, 2));
		fprintf(fs, ",%s,", NAME(visit_names, sqlite3_column_int(s, 3)));
		csv_field(fs, ctext(s, 4));
		fprintf(fs, ",%s,", NAME(place_names, sqlite3_column_int(s, 5)));
		csv_field(fs, ctext(s, 15));
		fprintf(fs, ",%s,", ctext(s, 16));
		put_money(fs, total);
		fputc(',', fs);
		put_money(fs, in);
		for (size_t i = 0; i < ncols; i++)
			pay[i] = 0;
		char buf[2048];
		snprintf(buf, sizeof buf, "%s", ctext(s, 17));
		char *save = NULL;
		for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(t, '=');
			if (!eq)
				continue;
			*eq = '\0';
			const char *why;
			for (size_t i = 0; i < ncols; i++)
				if (!strcmp(cols[i], t) &&
				    sb_money_parse(eq + 1, strlen(eq + 1), &pay[i], &why))
					pay[i] = 0;
		}
		for (size_t i = 0; i < ncols; i++) {
			fputc(',', fs);
			put_money(fs, pay[i]);
		}
		fputc(',', fs);
		put_money(fs, sqlite3_column_int64(s, 18));
		fputc(',', fs);
		put_money(fs, sqlite3_column_int64(s, 19));
		fputc(',', fs);
		put_money(fs, sqlite3_column_int64(s, 20));
		fprintf(fs, ",%s\n", NAME(filing_names, sqlite3_column_int(s, 7)));
		counts[2]++;
	}
	sqlite3_finalize(s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	for (size_t i = 0; i < ncols; i++)
		free(cols[i]);
	sb_free(cols);
	sb_free(pay);
	if (rc)
		st = sb_diag_set(d, SB_EIO, dbpath, 0, 0, "cannot read the store: %s",
				 sqlite3_errmsg(db));
	if (!st)
		st = sb_outdir_commit(od, NULL, d);
	sb_outdir_close(od);
	sb_serve_store_close(db);
	return st;
}

/* ---- verify-log ---------------------------------------------------------------- */

sb_status sb_serve_verify_log(const char *dbpath, long *length, long *bad, char *why, size_t cap,
			      sb_diag *d)
{
	sqlite3 *db;
	sb_status st = sb_serve_store_open(dbpath, false, &db, d);
	if (st)
		return st;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	int rc = sb_serve_audit_verify(db, length, bad, why, cap);
	/* The accumulators: each person's stored sums against what their
	 * settlements in force added. */
	sqlite3_stmt *s = NULL, *q = NULL;
	if (!rc && !*bad)
		rc = sqlite3_prepare_v2(db, "SELECT psn_no, blob FROM acc ORDER BY psn_no", -1, &s,
					NULL);
	if (!rc && !*bad)
		rc = sqlite3_prepare_v2(db,
					"SELECT delta FROM settlements WHERE psn_no=? AND"
					" status='settled'",
					-1, &q, NULL);
	sb_acc stored, sum, delta;
	sb_acc_init(&stored);
	sb_acc_init(&sum);
	sb_acc_init(&delta);
	sb_diag dd;
	while (!rc && !*bad && s && sqlite3_step(s) == SQLITE_ROW) {
		const char *psn = ctext(s, 0);
		char masked[SB_ID_LEN + 1];
		sb_id_mask(psn, strlen(psn), masked);
		int n = sqlite3_column_bytes(s, 1);
		if (n && sb_acc_decode(&stored, sqlite3_column_blob(s, 1), (size_t)n, &dd)) {
			snprintf(why, cap, "the accumulators of %s are damaged: %s", masked,
				 dd.message);
			*bad = -1;
			break;
		}
		if (!n)
			sb_acc_reset(&stored);
		sb_acc_reset(&sum);
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, psn, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int m = sqlite3_column_bytes(q, 0);
			if (m &&
			    (sb_acc_decode(&delta, sqlite3_column_blob(q, 0), (size_t)m, &dd) ||
			     !sb_serve_acc_apply(&sum, &delta, +1))) {
				snprintf(why, cap, "a settlement of %s has a damaged delta",
					 masked);
				*bad = -1;
				break;
			}
		}
		for (int pass = 0; pass < 2 && !*bad; pass++) {
			const sb_acc *a = pass ? &sum : &stored, *b = pass ? &stored : &sum;
			for (uint32_t i = 0; i < a->n && !*bad; i++) {
				const sb_acc_entry *e = &a->e[i];
				const sb_acc_entry *f =
					sb_acc_find(b, e->region, e->year, e->kind, e->id);
				sb_fen fa = f ? f->amount : 0;
				uint32_t fc = f ? f->count : 0;
				if (e->amount != fa || e->count != fc) {
					snprintf(why, cap,
						 "the accumulators of %s (region %06u, year %d) "
						 "are not the sum of the settlements in force",
						 masked, e->region, e->year);
					*bad = -1;
				}
			}
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(q);
	sb_acc_release(&stored);
	sb_acc_release(&sum);
	sb_acc_release(&delta);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc)
		st = sb_diag_set(d, SB_EIO, dbpath, 0, 0, "cannot read the store: %s",
				 sqlite3_errmsg(db));
	sb_serve_store_close(db);
	return st;
}
