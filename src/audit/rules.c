/* rules.c: the audit rule file (docs/audit-rules.md): dated and cited like
 * a policy, one entry per rule with its severity and parameters, and the
 * map from the NHSA extract's fund columns to layers' fund codes. Read
 * strictly through policy/ydoc.h: an unknown key, a rule named twice, a
 * parameter out of range is an error at its file:line:column. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "policy/ydoc.h"
#include "sanbao/audit.h"

static const char *const rule_names[SB_AUDIT_NRULES] = {
	"overpaid",     "underpaid", "duplicate", "split_stay", "overlap", "assistance_ineligible",
	"cost_outlier",
};
static const char *const severity_names[] = { "low", "medium", "high" };
static const char *const fund_names[SB_AUDIT_NFUNDS] = {
	"hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
};

const char *sb_audit_rule_name(sb_audit_rule_id r)
{
	return (unsigned)r < SB_AUDIT_NRULES ? rule_names[r] : "?";
}

const char *sb_audit_severity_name(sb_audit_severity s)
{
	return (unsigned)s < 3 ? severity_names[s] : "?";
}

const char *sb_audit_fund_column(int k)
{
	return k >= 0 && k < SB_AUDIT_NFUNDS ? fund_names[k] : "?";
}

/* The parameters each rule takes, besides id, severity, enabled, source. */
static const char *const keys_of[SB_AUDIT_NRULES][8] = {
	{ "id", "severity", "enabled", "source", "tolerance", NULL },
	{ "id", "severity", "enabled", "source", "tolerance", NULL },
	{ "id", "severity", "enabled", "source", NULL },
	{ "id", "severity", "enabled", "source", "days", "diagnosis_chars", NULL },
	{ "id", "severity", "enabled", "source", "outpatient", NULL },
	{ "id", "severity", "enabled", "source", NULL },
	{ "id", "severity", "enabled", "source", "threshold", "min_claims", "min_peers", NULL },
};

static const char *const top_keys[] = {
	"sanbao_audit_rules", "name", "source", "from", "funds", "rules", NULL
};

static sb_status text_of(sb_ynode n, const char *what, sb_arena *a, const char **out, sb_diag *d)
{
	size_t len;
	const char *p = sb_ynode_text(n, &len);
	if (!p || !len)
		return sb_ynode_error(d, SB_EINPUT, n, "%s must be a non-empty text", what);
	if (!(*out = sb_arena_strndup(a, p, len)))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	return SB_OK;
}

static sb_status int_of(sb_ynode n, const char *what, long lo, long hi, int *out, sb_diag *d)
{
	size_t len;
	const char *p = sb_ynode_text(n, &len);
	char buf[24];
	if (!p || !len || len >= sizeof buf)
		return sb_ynode_error(d, SB_EINPUT, n, "%s must be a whole number from %ld to %ld",
				      what, lo, hi);
	memcpy(buf, p, len);
	buf[len] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (*end || buf[0] == '+' || buf[0] == ' ' || v < lo || v > hi)
		return sb_ynode_error(
			d, SB_EINPUT, n,
			"%s \"%s\" is not allowed: write a whole number from %ld to %ld", what, buf,
			lo, hi);
	*out = (int)v;
	return SB_OK;
}

static sb_status read_rule(sb_ynode n, sb_audit_rules *r, sb_arena *a, bool *seen, sb_diag *d)
{
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EINPUT, n,
				      "a rule is a mapping: {id: overpaid, severity: high, ...}");
	sb_ynode id = sb_ynode_get(n, "id");
	if (!id.n)
		return sb_ynode_error(
			d, SB_EINPUT, n,
			"a rule needs an id (one of overpaid, "
			"underpaid, duplicate, split_stay, overlap, assistance_ineligible, cost_outlier)");
	int k = -1;
	for (int i = 0; i < SB_AUDIT_NRULES; i++)
		if (sb_ynode_eq(id, rule_names[i]))
			k = i;
	if (k < 0) {
		size_t len;
		const char *p = sb_ynode_text(id, &len);
		return sb_ynode_error(
			d, SB_EINPUT, id,
			"unknown rule id \"%.*s\": write one of overpaid, underpaid, "
			"duplicate, split_stay, overlap, assistance_ineligible, cost_outlier",
			p ? (int)(len > 60 ? 60 : len) : 0, p ? p : "");
	}
	if (seen[k])
		return sb_ynode_error(d, SB_EINPUT, id, "rule %s is given twice: keep one",
				      rule_names[k]);
	seen[k] = true;
	char what[64];
	snprintf(what, sizeof what, "rule %s", rule_names[k]);
	sb_status st = sb_ynode_check_keys(n, what, keys_of[k], d);
	if (st)
		return st;
	sb_audit_rule *u = &r->rule[k];
	u->enabled = true;
	sb_ynode v = sb_ynode_get(n, "severity");
	if (!v.n)
		return sb_ynode_error(d, SB_EINPUT, n,
				      "rule %s needs a severity (low, medium or high)",
				      rule_names[k]);
	int sev = -1;
	for (int i = 0; i < 3; i++)
		if (sb_ynode_eq(v, severity_names[i]))
			sev = i;
	if (sev < 0)
		return sb_ynode_error(d, SB_EINPUT, v, "severity must be low, medium or high");
	u->severity = (sb_audit_severity)sev;
	if ((v = sb_ynode_get(n, "enabled")).n &&
	    (st = sb_ynode_bool(v, "enabled", &u->enabled, d)))
		return st;
	if ((v = sb_ynode_get(n, "source")).n && (st = text_of(v, "source", a, &u->source, d)))
		return st;
	if ((v = sb_ynode_get(n, "tolerance")).n) {
		if ((st = sb_ynode_money(v, "tolerance", &u->tolerance, d)))
			return st;
		if (u->tolerance < 0 || u->tolerance > 100000)
			return sb_ynode_error(d, SB_EINPUT, v,
					      "tolerance must be from 0 to 1000 yuan");
	}
	if ((v = sb_ynode_get(n, "days")).n && (st = int_of(v, "days", 0, 366, &u->days, d)))
		return st;
	if ((v = sb_ynode_get(n, "diagnosis_chars")).n &&
	    (st = int_of(v, "diagnosis_chars", 0, 16, &u->diagnosis_chars, d)))
		return st;
	if ((v = sb_ynode_get(n, "threshold")).n &&
	    (st = sb_ynode_bp(v, "threshold", 10000, 1000000, &u->threshold_bp, d)))
		return st;
	if ((v = sb_ynode_get(n, "min_claims")).n &&
	    (st = int_of(v, "min_claims", 1, 1000000, &u->min_claims, d)))
		return st;
	if ((v = sb_ynode_get(n, "min_peers")).n &&
	    (st = int_of(v, "min_peers", 3, 100000, &u->min_peers, d)))
		return st;
	if ((v = sb_ynode_get(n, "outpatient")).n &&
	    (st = sb_ynode_bool(v, "outpatient", &u->outpatient, d)))
		return st;
	return SB_OK;
}

static sb_status read_funds(sb_ynode n, sb_audit_rules *r, sb_diag *d)
{
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(
			d, SB_EINPUT, n,
			"funds is a mapping of the extract's fund "
			"columns to fund codes: {hifp_pay: [\"310100\", \"390100\"], ...}");
	static const char *const allowed[] = { "hifp_pay", "hifmi_pay", "hifob_pay",
					       "maf_pay",  "oth_pay",   NULL };
	sb_status st = sb_ynode_check_keys(n, "funds", allowed, d);
	if (st)
		return st;
	for (int k = 0; k < SB_AUDIT_NFUNDS; k++) {
		sb_ynode v = sb_ynode_get(n, fund_names[k]);
		if (!v.n)
			continue;
		if (!sb_ynode_is_seq(v))
			return sb_ynode_error(d, SB_EINPUT, v,
					      "%s takes a list of fund codes "
					      "(fund_pay_type, 6 digits): [\"390100\"]",
					      fund_names[k]);
		size_t m = sb_ynode_len(v);
		if (m > SB_AUDIT_MAX_CODES)
			return sb_ynode_error(d, SB_EINPUT, v, "%s lists more than %d fund codes",
					      fund_names[k], SB_AUDIT_MAX_CODES);
		for (size_t i = 0; i < m; i++) {
			sb_ynode c = sb_ynode_item(v, i);
			size_t len;
			const char *p = sb_ynode_text(c, &len);
			bool ok = p && len == 6;
			for (size_t j = 0; ok && j < len; j++)
				ok = p[j] >= '0' && p[j] <= '9';
			if (!ok)
				return sb_ynode_error(d, SB_EINPUT, c,
						      "a fund code is 6 digits "
						      "(NHSA fund_pay_type, e.g. \"390100\")");
			for (int k2 = 0; k2 < SB_AUDIT_NFUNDS; k2++)
				for (int j = 0; j < r->ncodes[k2]; j++)
					if (!memcmp(r->code[k2][j], p, 6))
						return sb_ynode_error(d, SB_EINPUT, c,
								      "fund code %.6s is "
								      "mapped twice (also to %s): a "
								      "fund is paid in one column",
								      p, fund_names[k2]);
			memcpy(r->code[k][r->ncodes[k]++], p, 6);
		}
	}
	return SB_OK;
}

static sb_status read_doc(sb_ydoc *doc, const char *path, sb_audit_rules *r, sb_diag *d);

static sb_status rules_init(sb_audit_rules *r, sb_diag *d)
{
	memset(r, 0, sizeof *r);
	sb_arena *a = sb_calloc(1, sizeof *a);
	if (!a)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_arena_init(a);
	r->arena = a;
	r->rule[SB_AUDIT_SPLIT_STAY].days = 15;
	r->rule[SB_AUDIT_OVERLAP].outpatient = true;
	r->rule[SB_AUDIT_COST_OUTLIER].threshold_bp = 35000;
	r->rule[SB_AUDIT_COST_OUTLIER].min_claims = 30;
	r->rule[SB_AUDIT_COST_OUTLIER].min_peers = 5;
	return SB_OK;
}

sb_status sb_audit_rules_load(const char *path, sb_audit_rules *r, sb_diag *d)
{
	sb_status st = rules_init(r, d);
	sb_ydoc *doc = NULL;
	if (!st)
		st = sb_ydoc_load(path, &doc, d);
	if (!st)
		st = read_doc(doc, path, r, d);
	sb_ydoc_free(doc);
	return st;
}

sb_status sb_audit_rules_load_mem(const char *name, const char *buf, size_t n, sb_audit_rules *r,
				  sb_diag *d)
{
	sb_status st = rules_init(r, d);
	sb_ydoc *doc = NULL;
	if (!st)
		st = sb_ydoc_load_mem(name, buf, n, &doc, d);
	if (!st)
		st = read_doc(doc, name, r, d);
	sb_ydoc_free(doc);
	return st;
}

static sb_status read_doc(sb_ydoc *doc, const char *path, sb_audit_rules *r, sb_diag *d)
{
	sb_arena *a = r->arena;
	sb_status st = SB_OK;
	if (!(r->path = sb_arena_strndup(a, path, strlen(path)))) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	sb_ynode root = sb_ydoc_root(doc);
	if (!root.n || !sb_ynode_is_map(root)) {
		st = sb_diag_set(d, SB_EINPUT, path, 1, 1,
				 "a rule file is a mapping that starts "
				 "with sanbao_audit_rules: 1");
		goto out;
	}
	if ((st = sb_ynode_check_keys(root, "a rule file", top_keys, d)))
		goto out;
	sb_ynode v = sb_ynode_get(root, "sanbao_audit_rules");
	if (!v.n) {
		st = sb_ynode_error(d, SB_EINPUT, root,
				    "a rule file starts with sanbao_audit_rules: 1");
		goto out;
	}
	if (!sb_ynode_eq(v, "1")) {
		st = sb_ynode_error(d, SB_EINPUT, v,
				    "sanbao_audit_rules must be 1 (the only version)");
		goto out;
	}
	if (!(v = sb_ynode_get(root, "name")).n) {
		st = sb_ynode_error(d, SB_EINPUT, root, "a rule file needs a name");
		goto out;
	}
	if ((st = text_of(v, "name", a, &r->name, d)))
		goto out;
	if (!(v = sb_ynode_get(root, "source")).n) {
		st = sb_ynode_error(d, SB_EINPUT, root,
				    "a rule file needs a source: the "
				    "regulation or notice it applies, cited");
		goto out;
	}
	if ((st = text_of(v, "source", a, &r->source, d)))
		goto out;
	if (!(v = sb_ynode_get(root, "from")).n) {
		st = sb_ynode_error(d, SB_EINPUT, root,
				    "a rule file needs from: the date its rules "
				    "apply from (YYYY-MM-DD)");
		goto out;
	}
	if ((st = sb_ynode_date(v, "from", &r->from, d)))
		goto out;
	if ((v = sb_ynode_get(root, "funds")).n && (st = read_funds(v, r, d)))
		goto out;
	if (!(v = sb_ynode_get(root, "rules")).n || !sb_ynode_is_seq(v) || !sb_ynode_len(v)) {
		st = sb_ynode_error(d, SB_EINPUT, v.n ? v : root,
				    "a rule file needs rules: a list of {id: ..., severity: ...}");
		goto out;
	}
	bool seen[SB_AUDIT_NRULES] = { false };
	for (size_t i = 0; i < sb_ynode_len(v) && !st; i++)
		st = read_rule(sb_ynode_item(v, i), r, a, seen, d);
out:
	return st;
}

void sb_audit_rules_release(sb_audit_rules *r)
{
	if (r->arena) {
		sb_arena_release(r->arena);
		sb_free(r->arena);
	}
	memset(r, 0, sizeof *r);
}
