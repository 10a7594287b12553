/* explain.h: a settlement trace (sanbao/trace.h) for people and programs.
 *
 * sb_explain_text writes the step-by-step text of `sanbao settle --explain`;
 * sb_explain_json the same facts as one JSON object (money as strings of
 * yuan with 2 decimals, "1290.91"; rates as basis points and as text,
 * "rate_bp": 6000, "rate": "60%"; exact fen x bp amounts as yuan with 6
 * decimals, "1290.906000"; null where a step was not reached). A refused
 * claim's trace ends with the reason:
 * the text's last line is "  refused: <reason>", the JSON has "refused".
 * sb_explain_json_layer writes one layer's object alone: what the service
 * returns as a setldetail entry's setl_proc_info.
 */
#ifndef SANBAO_EXPLAIN_H
#define SANBAO_EXPLAIN_H

#include <stdio.h>

#include "sanbao/trace.h"

void sb_explain_text(FILE *f, const sb_policyset *set, const sb_trace *t);
void sb_explain_json(FILE *f, const sb_policyset *set, const sb_trace *t);
void sb_explain_json_layer(FILE *f, const sb_policyset *set, const sb_trace *t, unsigned i);

#endif
