/* settlements.h: the sink that writes settlements.csv (one per scenario). */
#ifndef SANBAO_SINK_SETTLEMENTS_H
#define SANBAO_SINK_SETTLEMENTS_H

#include "sink/sink.h"

SB_MUST_USE sb_status sb_settlements_sink_new(sb_sink *out);

#endif
