/* explain.h: the sink of `settle --explain ID`. */
#ifndef SANBAO_SINK_EXPLAIN_H
#define SANBAO_SINK_EXPLAIN_H

#include "sink/sink.h"

SB_MUST_USE sb_status sb_explain_sink_new(sb_sink *out);
/* The claim to explain was settled or refused. */
bool sb_explain_sink_found(const sb_sink *s);

#endif
