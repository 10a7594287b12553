/* monitor_check.c: a case's `monitor:` expectations. Each rule listed maps
 * to the units it must flag, with the date of the claim that crosses; the
 * rule must flag exactly those (an empty list: nothing). Rules not listed
 * are not checked. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "case/case_int.h"
#include "monitor/monitor_int.h"

/* The unit's name as a case writes it: a household id or a resident ID. */
static const char *unit_name(const sb_case *k, const sb_mon_hit *h, const char **households)
{
	if (h->household)
		return households[h->unit - 1];
	return k->persons[h->unit].p.id;
}

bool sb_case_check_monitor(sb_case *k, sb_ynode monitor, FILE *out)
{
	if (!sb_ynode_is_map(monitor)) {
		fprintf(out, "    monitor must map rule ids to lists of {id, date}\n");
		return false;
	}
	size_t n = k->nclaims;
	sb_mon_event *ev = sb_calloc(n + 1, sizeof *ev);
	const char **households = sb_calloc(k->npersons + 1, sizeof *households);
	uint32_t *members = sb_calloc(k->npersons + 1, sizeof *members);
	uint32_t *hh_of = sb_calloc(k->npersons + 1, sizeof *hh_of);
	sb_mon_out mo;
	memset(&mo, 0, sizeof mo);
	bool ok = ev && households && members && hh_of;
	if (!ok)
		fprintf(out, "    out of memory\n");
	size_t nh = 0;
	for (size_t i = 0; ok && i < k->npersons; i++) {
		const char *h = k->persons[i].household;
		if (!*h)
			continue;
		size_t j = 0;
		while (j < nh && strcmp(households[j], h))
			j++;
		if (j == nh)
			households[nh++] = h;
		hh_of[i] = (uint32_t)j + 1;
		members[j]++;
	}
	size_t nev = 0;
	for (size_t r = 0; ok && r < n; r++) {
		const sb_case_claim *cc = &k->claims[r];
		const sb_case_person *cp = &k->persons[cc->person];
		sb_mon_event *e = &ev[nev++];
		e->person = (uint32_t)cc->person;
		e->household = hh_of[cc->person];
		e->members = e->household ? members[e->household - 1] : 1;
		e->claim_id = cc->c.id;
		e->claim_idlen = (uint32_t)strlen(cc->c.id);
		e->date = cc->c.date;
		e->year = cc->r.year;
		e->identity = cc->r.identity;
		e->region = (uint32_t)atoi(cp->p.region);
		e->version = cc->r.version;
		e->oop = cc->r.oop;
		e->oop_in_scope = cc->r.oop_in_scope;
		e->rules_held = cc->r.rules_held;
		e->threshold = cc->r.rule_threshold;
	}
	if (ok && sb_monitor_run(ev, nev, NULL, &mo)) {
		fprintf(out, "    out of memory\n");
		ok = false;
	}
	if (ok && mo.unresolved) {
		/* A warning that cannot be computed must not pass as no warning. */
		fprintf(out, "    monitor: the threshold of %lld claim%s could not be resolved (no "
			"income for the year before the claim's policy year?): add it under income:\n",
			mo.unresolved, mo.unresolved == 1 ? "" : "s");
		ok = false;
	}
	for (size_t i = 0; ok && i < sb_ynode_len(monitor); i++) {
		size_t len;
		const char *rule = sb_ynode_text(sb_ynode_key(monitor, i), &len);
		sb_ynode want = sb_ynode_value(monitor, i);
		int sym = rule ? sb_policyset_symbol(k->set, SB_SYM_RULE, rule, len) : -1;
		if (sym < 0 || !sb_ynode_is_seq(want)) {
			fprintf(out, "    monitor: \"%.*s\" is not a monitoring rule of the policy, or its "
				"value is not a list of {id, date}\n", (int)len, rule ? rule : "");
			ok = false;
			continue;
		}
		bool *seen = sb_calloc(mo.nwarn + 1, sizeof *seen);
		if (!seen) {
			ok = false;
			break;
		}
		for (size_t j = 0; j < sb_ynode_len(want); j++) {
			sb_ynode item = sb_ynode_item(want, j);
			size_t il;
			const char *id = sb_ynode_text(sb_ynode_get(item, "id"), &il);
			sb_date date = 0;
			sb_diag d;
			if (!id || sb_ynode_date(sb_ynode_get(item, "date"), "date", &date, &d)) {
				fprintf(out, "    monitor %s: item %zu needs id and date\n", rule ? rule : "", j + 1);
				ok = false;
				continue;
			}
			bool found = false;
			for (size_t w = 0; w < mo.nwarn && !found; w++) {
				const sb_mon_hit *h = &mo.warn[w];
				const char *u = unit_name(k, h, households);
				if (h->rule->sym == sym && h->date == date && strlen(u) == il &&
				    !memcmp(u, id, il) && !seen[w])
					found = seen[w] = true;
			}
			if (!found) {
				char ds[11];
				sb_date_format(date, ds);
				fprintf(out, "    monitor %.*s: expected %.*s flagged on %s, it was not\n",
					(int)len, rule, (int)il, id, ds);
				ok = false;
			}
		}
		for (size_t w = 0; w < mo.nwarn; w++) {
			const sb_mon_hit *h = &mo.warn[w];
			if (h->rule->sym != sym || seen[w])
				continue;
			char ds[11], m[SB_MONEY_BUF], t[SB_MONEY_BUF];
			sb_date_format(h->date, ds);
			sb_money_format(h->measure, m);
			sb_money_format(h->threshold, t);
			fprintf(out, "    monitor %.*s: flagged %s on %s (%s > %s), not expected\n", (int)len,
				rule, unit_name(k, h, households), ds, m, t);
			ok = false;
		}
		sb_free(seen);
	}
	sb_mon_out_release(&mo);
	sb_free(ev);
	sb_free(households);
	sb_free(members);
	sb_free(hh_of);
	return ok;
}
