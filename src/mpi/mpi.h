/* mpi.h: `sanbao settle --mpi`: one batch settlement run by every rank of
 * an MPI job (mpirun -np N sanbao settle --mpi ...), docs/cluster.md.
 *
 * Each rank reads a byte range of persons.csv, identities.csv and
 * claims.csv; the rows go to the rank that owns their household (persons
 * by household, identities and claims by their person's household, looked
 * up in a person directory spread over the ranks by ID hash) in
 * all-to-all exchanges (MPI_Alltoallv); duplicate claim ids are found in a
 * second exchange keyed by the claim id's hash. Each rank then settles its
 * households with the ordinary batch (src/batch, the sinks) into
 * OUT/rank-NNNN/, with the global line of every row, and the run's sums
 * are reduced across ranks before summary.json is written. Rank 0 writes
 * OUT/rejects.csv (every rank's rejects, in file and line order),
 * OUT/summary.json and OUT/manifest.json (the rank files, in rank order).
 *
 * The sanbao binary links MPI but calls MPI_Init only here. */
#ifndef SANBAO_MPI_MPI_H
#define SANBAO_MPI_MPI_H

#include <stdbool.h>

#include "sanbao/batch.h"

/* sb_batch_settle over the ranks of MPI_COMM_WORLD: MPI_Init and
 * MPI_Finalize are called inside. t gets the run's totals (every rank's
 * summed, on every rank). An error on one rank is reported by that rank;
 * an error inside the settlement of one rank aborts the job
 * (MPI_Abort), since the others wait for it in a reduction. */
SB_MUST_USE sb_status sb_mpi_batch_settle(const sb_batch_config *cfg, sb_batch_totals *t,
					  sb_diag *d);
/* This process's rank in the last sb_mpi_batch_settle (0 before). */
int sb_mpi_rank(void);
/* Whether this binary was built with MPI. */
bool sb_mpi_available(void);

#endif
