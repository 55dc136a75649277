//===- Targets.h - target post-processing of getbatch -----------*- C++ -*-===//
//
// What ELEKTRONN2's getbatch does to the dense target patches of a batch
// after cutting them (reference §6.4 steps 5-8): neighbourhood targets,
// striding, affinity graphs with their connected-component segmentation
// (data/image.py make_affinities, malis seg_to_affgraph / affgraph_to_seg),
// and NaN -> -666.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_TARGETS_H
#define NEUROMANCER_DATA_TARGETS_H

#include "neuromancer/data/Warp.h"
#include "neuromancer/runtime/Array.h"

#include <cstdint>
#include <vector>

namespace nm::data {

/// ELEKTRONN2's default nhood_targets offsets (z, x, y): 0, +-z, +-x, +-y.
const std::vector<Index3> &defaultNhood();

/// make_nhood_targets: `dense` holds bs examples of `n_ch` channels of
/// `tps`; channel 0 becomes one channel per offset o, holding channel 0's
/// value at voxel - o (-1 where that leaves the patch), followed by
/// channels 1.. unchanged. Returns the new channel count.
int64_t nhoodTargets(std::vector<double> &dense, int64_t bs, int64_t n_ch,
                     const Index3 &tps, const std::vector<Index3> &nhood);

/// Writes `n` boxes `tps` of `dense` into `out`, strided by `s` (every
/// s-th voxel from the first, ELEKTRONN2's t[..., ::s_z, ::s_x, ::s_y]);
/// NaN becomes -666 (E2's hack for Theano).
void writeStrided(Array &out, const std::vector<double> &dense, int64_t n,
                  const Index3 &tps, const Index3 &s);

/// seg_to_affgraph for one (z, x, y) volume: edge e of voxel p is 1 when p
/// and p + nhood[e] are inside, have the same id and the id is > 0; else 0.
/// `aff` holds nhood.size() volumes.
void segToAffgraph(const double *seg, const Index3 &sh,
                   const std::vector<Index3> &nhood, int16_t *aff);

/// affgraph_to_seg: connected components of the edges that are set;
/// components of at most `sizeThresh` voxels become 0, the others are
/// numbered 1, 2, ... in the order of their first voxel (E2 numbers them
/// by a union-find representative, which no caller relies on).
/// ValueError when more than 32767 components do not fit int16.
void affgraphToSeg(const int16_t *aff, const Index3 &sh,
                   const std::vector<Index3> &nhood, int64_t sizeThresh,
                   int16_t *seg);

/// make_affinities on channel 0 of `target` (bs, ch, z, x, y) with E2's
/// nhood (the unit offsets along z, x, y) and size_thresh 1: `aff` (bs, 3,
/// z, x, y) int16 and `seg` (bs, 1, z, x, y) int16.
void makeAffinities(const Array &target, Array &aff, Array &seg);

} // namespace nm::data

#endif // NEUROMANCER_DATA_TARGETS_H
