/* request.c: the request envelope and the settlement input, read from
 * JSON with every refusal naming its field; the hashes the service keeps
 * (SM3 through OpenSSL's EVP). Nothing here touches the store. */
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "serve/serve_int.h"

/* The two digests, fetched once (EVP_MD_fetch is costly; a fetched EVP_MD
 * is safe to share between threads); freed at exit. */
static EVP_MD *md_sm3, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void)
{
	EVP_MD_free(md_sm3);
	EVP_MD_free(md_sha256);
}

static void md_fetch(void)
{
	md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	atexit(md_free);
}

static void digest_hex(bool sm3, const void *p, size_t n, char out[65])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	pthread_once(&md_once, md_fetch);
	EVP_MD *m = sm3 ? md_sm3 : md_sha256;
	if (!m || !EVP_Digest(p, n, h, &len, m, NULL))
		len = 0;
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < len && i < 32; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[len < 32 ? 2 * len : 64] = '\0';
}

void sb_serve_sm3_hex(const void *p, size_t n, char out[65])
{
	digest_hex(true, p, n, out);
}

void sb_serve_sha256_hex(const void *p, size_t n, char out[65])
{
	digest_hex(false, p, n, out);
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

const char *sb_serve_str(const json_t *o, const char *name, size_t max, bool required, char *err,
			 size_t cap)
{
	const json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v)) {
		if (required) {
			snprintf(err, cap, "field %s is missing", name);
			return "";
		}
		return NULL;
	}
	if (!json_is_string(v)) {
		snprintf(err, cap, "field %s must be a string", name);
		return "";
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (!n && required) {
		snprintf(err, cap, "field %s is empty", name);
		return "";
	}
	if (n > max) {
		snprintf(err, cap, "field %s is longer than %zu characters", name, max);
		return "";
	}
	if (!printable(s, n)) {
		snprintf(err, cap, "field %s must be printable ASCII", name);
		return "";
	}
	return s;
}

bool sb_serve_money(const json_t *o, const char *name, bool required, sb_fen *out, bool *given,
		    char *err, size_t cap)
{
	const json_t *v = json_object_get(o, name);
	char buf[64];
	const char *p;
	size_t n;
	*out = 0;
	if (given)
		*given = false;
	if (!v || json_is_null(v)) {
		if (required) {
			snprintf(err, cap, "field %s is missing", name);
			return false;
		}
		return true;
	}
	if (json_is_string(v)) {
		p = json_string_value(v);
		n = json_string_length(v);
	} else if (json_is_integer(v)) {
		n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		p = buf;
	} else if (json_is_real(v)) {
		/* A JSON number reaches us as a double: accept it only when
		 * it is exactly the double of a decimal with at most 2
		 * decimals, and then read that decimal's text as yuan, so
		 * that no floating point enters the amount. */
		double x = json_real_value(v);
		n = 0;
		for (int k = 0; k <= 2 && isfinite(x) && fabs(x) < 1e13; k++) {
			int m = snprintf(buf, sizeof buf, "%.*f", k, x);
			if (m > 0 && strtod(buf, NULL) == x) {
				n = (size_t)m;
				break;
			}
		}
		if (!n) {
			snprintf(err, cap, "field %s: amount has more than 2 decimals", name);
			return false;
		}
		p = buf;
	} else {
		snprintf(err, cap, "field %s must be an amount (a number or a string of yuan)",
			 name);
		return false;
	}
	const char *why;
	if (sb_money_parse(p, n, out, &why)) {
		snprintf(err, cap, "field %s: amount %s", name, why);
		return false;
	}
	if (*out < 0) {
		snprintf(err, cap, "field %s: amount is negative", name);
		return false;
	}
	if (*out > SB_CLAIM_MAX) {
		snprintf(err, cap, "field %s: amount is above 100000000.00 yuan", name);
		return false;
	}
	if (given)
		*given = true;
	return true;
}

void sb_serve_req_release(sb_serve_req *r)
{
	if (r->root)
		json_decref(r->root);
	r->root = NULL;
	r->input = NULL;
}

static bool copy_field(const json_t *o, const char *name, char *dst, size_t size, bool required,
		       char *err, size_t cap)
{
	const char *s = sb_serve_str(o, name, size - 1, required, err, cap);
	if (s && !*s && err[0])
		return false;
	snprintf(dst, size, "%s", s ? s : "");
	return true;
}

static bool digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int sb_serve_req_parse(const char *body, size_t n, const char *path_infno, sb_serve_req *r,
		       char *err, size_t cap)
{
	return sb_serve_req_parse_opt(body, n, path_infno, true, r, err, cap);
}

int sb_serve_req_parse_opt(const char *body, size_t n, const char *path_infno, bool hash,
			   sb_serve_req *r, char *err, size_t cap)
{
	memset(r, 0, sizeof *r);
	err[0] = '\0';
	json_error_t je;
	r->root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (!r->root) {
		snprintf(err, cap, "the body is not JSON: %s at line %d, column %d", je.text,
			 je.line, je.column);
		return 400;
	}
	if (!json_is_object(r->root)) {
		snprintf(err, cap, "the body must be a JSON object (the request envelope)");
		return 400;
	}
	const json_t *o = r->root;
	if (!copy_field(o, "infno", r->infno, sizeof r->infno, true, err, cap))
		return 400;
	if (!digits(r->infno, 4)) {
		snprintf(err, cap, "field infno must be 4 digits");
		return 400;
	}
	if (path_infno && strcmp(path_infno, r->infno)) {
		snprintf(err, cap, "field infno %s does not agree with the path's %s", r->infno,
			 path_infno);
		return 400;
	}
	if (!copy_field(o, "msgid", r->msgid, sizeof r->msgid, true, err, cap) ||
	    !copy_field(o, "fixmedins_code", r->fixmedins_code, sizeof r->fixmedins_code, true, err,
			cap) ||
	    !copy_field(o, "mdtrtarea_admvs", r->mdtrtarea_admvs, sizeof r->mdtrtarea_admvs, false,
			err, cap) ||
	    !copy_field(o, "insuplc_admdvs", r->insuplc_admdvs, sizeof r->insuplc_admdvs, false,
			err, cap) ||
	    !copy_field(o, "opter", r->opter, sizeof r->opter, false, err, cap))
		return 400;
	if (r->mdtrtarea_admvs[0] && !digits(r->mdtrtarea_admvs, 6)) {
		snprintf(err, cap, "field mdtrtarea_admvs must be 6 digits");
		return 400;
	}
	if (r->insuplc_admdvs[0] && !digits(r->insuplc_admdvs, 6)) {
		snprintf(err, cap, "field insuplc_admdvs must be 6 digits");
		return 400;
	}
	r->input = json_object_get(o, "input");
	if (!r->input) {
		snprintf(err, cap, "field input is missing");
		return 400;
	}
	if (!json_is_object(r->input)) {
		snprintf(err, cap, "field input must be an object");
		return 400;
	}
	if (!hash)
		return 0;
	/* Canonical: keys sorted, compact; with the infno, so that the same
	 * msgid for another transaction is a different body. */
	char *canon = json_dumps(r->input, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon) {
		snprintf(err, cap, "out of memory");
		return 503;
	}
	size_t cn = strlen(canon);
	char *both = malloc(cn + 6);
	if (!both) {
		free(canon);
		snprintf(err, cap, "out of memory");
		return 503;
	}
	memcpy(both, r->infno, 4);
	both[4] = '|';
	memcpy(both + 5, canon, cn + 1);
	sb_serve_sm3_hex(both, cn + 5, r->input_hash);
	free(both);
	free(canon);
	return 0;
}

bool sb_serve_setl_parse(const json_t *in, sb_date today, sb_serve_setl *s, char *err, size_t cap)
{
	memset(s, 0, sizeof *s);
	err[0] = '\0';
	const char *v = sb_serve_str(in, "psn_no", 18, true, err, cap);
	if (err[0])
		return false;
	uint64_t key;
	int pseudo;
	const char *why;
	if (sb_person_key(v, strlen(v), &key, &pseudo, NULL, &why)) {
		snprintf(err, cap, "field psn_no: resident ID %s", why);
		return false;
	}
	snprintf(s->psn_no, sizeof s->psn_no, "%s", v);
	if (!copy_field(in, "mdtrt_id", s->mdtrt_id, sizeof s->mdtrt_id, true, err, cap))
		return false;
	v = sb_serve_str(in, "med_type", 32, true, err, cap);
	if (err[0])
		return false;
	int k = sb_name_index(sb_visit_codes, v, strlen(v));
	if (k < 0)
		k = sb_name_index(sb_visit_names, v, strlen(v));
	if (k < 0) {
		snprintf(err, cap, "field med_type must be 11, 14, 21 or 41");
		return false;
	}
	s->visit = (uint8_t)k;
	s->date = today;
	v = sb_serve_str(in, "setl_time", 32, false, err, cap);
	if (err[0])
		return false;
	if (v && sb_date_parse(v, strlen(v), 1, &s->date, &why)) {
		snprintf(err, cap, "field setl_time: date %s (write yyyy-MM-dd)", why);
		return false;
	}
	v = sb_serve_str(in, "filing", 16, false, err, cap);
	if (err[0])
		return false;
	if (v) {
		k = sb_name_index(sb_filing_names, v, strlen(v));
		if (k < 0) {
			snprintf(err, cap,
				 "field filing must be filed, referral, emergency, "
				 "unfiled or long_term");
			return false;
		}
		s->filing = (uint8_t)k;
	}
	if (!copy_field(in, "dise_codg", s->dise_codg, sizeof s->dise_codg, false, err, cap))
		return false;
	if (!sb_serve_money(in, "medfee_sumamt", true, &s->total, NULL, err, cap) ||
	    !sb_serve_money(in, "inscp_scp_amt", true, &s->in_scope, NULL, err, cap) ||
	    !sb_serve_money(in, "preselfpay_amt", false, &s->pre, NULL, err, cap) ||
	    !sb_serve_money(in, "overlmt_selfpay", false, &s->over, NULL, err, cap) ||
	    !sb_serve_money(in, "fulamt_ownpay_amt", false, &s->out, &s->has_out, err, cap))
		return false;
	sb_fen parts = s->in_scope + s->pre + s->over;
	if (s->in_scope > s->total) {
		snprintf(err, cap, "field inscp_scp_amt is above medfee_sumamt");
		return false;
	}
	if (parts > s->total) {
		snprintf(err, cap,
			 "fields inscp_scp_amt, preselfpay_amt and overlmt_selfpay add "
			 "up to more than medfee_sumamt");
		return false;
	}
	if (s->has_out && parts + s->out != s->total) {
		char a[SB_MONEY_BUF], t[SB_MONEY_BUF];
		sb_money_format(parts + s->out, a);
		sb_money_format(s->total, t);
		snprintf(err, cap,
			 "field fulamt_ownpay_amt: the four parts add up to %s, not "
			 "medfee_sumamt %s",
			 a, t);
		return false;
	}
	return true;
}
