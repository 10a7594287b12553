/* stale.c: assistance paid without eligibility. Streams settlements.csv and,
 * for each payment by a layer whose `when` requires identities, checks the
 * roster for that person on the claim date under the region's version then
 * in force; a payment the roster does not support is a finding. */
#include <stdio.h>
#include <string.h>

#include "roster/roster_int.h"
#include "sanbao/io.h"

/* The identities of mask, in the policy's priority order, then any the
 * policy does not list. */
static void list_identities(const sb_roster *r, const sb_policy *pol, uint64_t mask, char *buf,
			    size_t n)
{
	size_t used = 0;
	uint64_t left = mask & ~(uint64_t)1;

	buf[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		int count = pass == 0 ? pol->nidentities : SB_MAX_MASK_SYMS - 1;

		for (int i = 0; i < count; i++) {
			int sym = pass == 0 ? pol->identities[i] : i;
			uint64_t bit = (uint64_t)1 << (sym + 1);

			if (!(left & bit))
				continue;
			left &= ~bit;
			int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
					 sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, sym));

			if (k < 0 || (size_t)k >= n - used)
				return;
			used += (size_t)k;
		}
	}
}

/* What the roster says about the missing identities around the date, for
 * the clerk to act on: the latest that ended before it, else the first that
 * starts after it, else that the roster has none of them. */
static void hint(const sb_roster *r, size_t first, uint64_t key, int pseudo, uint64_t mask,
		 sb_date date, char *buf, size_t n)
{
	const sb_rident *ended = NULL, *starts = NULL;

	for (size_t i = first; i < r->nidents; i++) {
		const sb_rident *x = &r->idents[i];

		if (x->key != key || x->pseudo != pseudo)
			break;
		if (!(mask >> (x->sym + 1) & 1))
			continue;
		if (x->to < date && (!ended || x->to > ended->to))
			ended = x;
		if (x->from > date && (!starts || x->from < starts->from))
			starts = x;
	}
	char when[12];

	if (ended) {
		sb_date_format(ended->to, when);
		snprintf(buf, n, "%s ended %s",
			 sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, ended->sym), when);
	} else if (starts) {
		sb_date_format(starts->from, when);
		snprintf(buf, n, "%s starts %s",
			 sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, starts->sym), when);
	} else {
		snprintf(buf, n, "the roster has no entry of them for this person");
	}
}

static uint64_t held_on(const sb_roster *r, size_t first, uint64_t key, int pseudo, sb_date date)
{
	uint64_t mask = 0;

	for (size_t i = first; i < r->nidents; i++) {
		const sb_rident *x = &r->idents[i];

		if (x->key != key || x->pseudo != pseudo)
			break;
		if (x->from <= date && date <= x->to)
			mask |= (uint64_t)1 << (x->sym + 1);
	}
	return mask;
}

static const sb_layer *layer_of(const sb_version *v, int sym)
{
	for (uint16_t i = 0; i < v->nlayers; i++)
		if (v->layers[i].sym == sym)
			return &v->layers[i];
	return NULL;
}

sb_status sb_roster_stale(sb_roster *r, sb_out *o, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->settlements_path, &c, d);

	if (st)
		return st;
	int col[SB_SCOL_N];
	static const int need[] = { SB_SCOL_ID, SB_SCOL_PERSON, SB_SCOL_REGION, SB_SCOL_DATE };

	st = sb_io_map(c, "settlements.csv", sb_settlements_columns, SB_SCOL_N, false, col, d);
	for (size_t i = 0; !st && i < sizeof need / sizeof need[0]; i++)
		if (col[need[i]] < 0)
			st = sb_io_missing(c, "settlements.csv", &sb_settlements_columns[need[i]], d);
	if (st == SB_ESYNTAX && d->line == 1 && strstr(d->message, " has no column ")) {
		size_t k = strlen(d->message);

		snprintf(d->message + k, sizeof d->message - k,
			 ": is this settlements.csv from `sanbao settle`?");
	}
	if (st) {
		sb_csv_free(c);
		return st;
	}
	int ci = col[SB_SCOL_ID], cp = col[SB_SCOL_PERSON], cr = col[SB_SCOL_REGION],
	    cd = col[SB_SCOL_DATE];

	/* Layer columns are found by name, wherever they are. */
	int sym_of[SB_CSV_MAX_FIELDS];
	size_t ncols = sb_csv_ncols(c);

	for (size_t i = 0; i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);

		sym_of[i] = sb_policyset_symbol(r->set, SB_SYM_LAYER, h.p, h.n);
	}
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);

		if (k == 0)
			break;
		if (k == -2) {
			*d = bad;
			st = bad.code ? bad.code : SB_EIO;
			break;
		}
		r->t->settlement_rows++;
		sb_csv_field fp = sb_csv_get(c, (size_t)cp), fr = sb_csv_get(c, (size_t)cr),
			     fd = sb_csv_get(c, (size_t)cd);
		uint64_t key = 0;
		int pseudo = 0;
		sb_date date = 0;
		char region[7];
		const sb_policy *pol = NULL;
		const sb_version *v = NULL;

		/* A row that cannot be placed in a version of a policy cannot be
		 * judged; it is counted, not guessed at. */
		if (k == 1 && fr.n == 6) {
			memcpy(region, fr.p, 6);
			region[6] = '\0';
			pol = sb_policyset_find(r->set, region);
		}
		if (pol && !sb_person_key(fp.p, fp.n, &key, &pseudo, NULL, NULL) &&
		    !sb_date_parse(fd.p, fd.n, 1, &date, NULL))
			v = sb_policy_version_at(pol, date);
		if (!v) {
			r->t->settlements_unchecked++;
			continue;
		}
		sb_rregion *x = sb_roster_region(r, sb_roster_region_code(fr.p, fr.n));

		if (!x) {
			st = sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
			break;
		}
		x->settlements++;
		size_t first = SIZE_MAX;
		uint64_t held = 0;
		int row_found = 0;

		for (size_t i = 0; i < ncols; i++) {
			const sb_layer *l = sym_of[i] >= 0 ? layer_of(v, sym_of[i]) : NULL;
			uint64_t need_ident, need_holds;
			sb_csv_field fa = sb_csv_get(c, i);
			sb_fen amount;

			if (!l)
				continue;
			sb_layer_required(l, &need_ident, &need_holds);
			if ((!need_ident && !need_holds) ||
			    sb_money_parse(fa.p, fa.n, &amount, NULL) || amount == 0)
				continue;
			if (first == SIZE_MAX) {
				first = sb_roster_first_ident(r, key, pseudo);
				held = held_on(r, first, key, pseudo, date);
			}
			uint64_t missing = 0;

			if (need_ident && !(need_ident & held))
				missing |= need_ident;
			if (need_holds && !(need_holds & held))
				missing |= need_holds;
			if (!missing)
				continue;

			char who[19], day[12], money[SB_MONEY_BUF], names[512], why[160];
			char reason[1024];
			const char *lname = l->name && l->name[0] ? l->name : l->id;

			sb_roster_person_text(r, key, pseudo, who);
			sb_date_format(date, day);
			sb_money_format(amount, money);
			list_identities(r, pol, missing, names, sizeof names);
			hint(r, first, key, pseudo, missing, date, why, sizeof why);
			snprintf(reason, sizeof reason,
				 "%s paid %s on %s but the person holds none of %s on that date "
				 "(%s): check the eligibility and recover the payment if it stands",
				 lname, money, day, names, why);
			sb_csv_field claim = sb_csv_get(c, (size_t)ci);

			sb_out_field(o, claim.p, claim.n);
			sb_out_char(o, ',');
			sb_out_str(o, who);
			sb_out_char(o, ',');
			sb_out_str(o, region);
			sb_out_char(o, ',');
			sb_out_str(o, day);
			sb_out_char(o, ',');
			sb_out_str(o, l->id);
			sb_out_char(o, ',');
			sb_out_str(o, money);
			sb_out_char(o, ',');
			sb_out_field(o, reason, strlen(reason));
			sb_out_char(o, '\n');
			r->t->stale++;
			r->t->stale_amount += amount;
			x->stale++;
			x->stale_amount += amount;
			row_found = 1;
		}
		if (row_found) {
			r->stale_claims++;
			x->stale_claims++;
		}
	}
	sb_csv_free(c);
	return st;
}
