/* audit_sink.h: the audit's sink in the batch (src/sink/sink.h): compares
 * each claim's recomputed layers with what the extract says was paid and
 * cross-checks a person's claims (duplicates, split and overlapping
 * stays); active when sb_batch_config.audit is set. */
#ifndef SANBAO_AUDIT_SINK_H
#define SANBAO_AUDIT_SINK_H

#include "sink/sink.h"

SB_MUST_USE sb_status sb_audit_sink_new(sb_sink *out);

#endif
