// The native plan as plain C++ data: what src/native/planDescriptor.ts sends, checked and completed
// by plan_descriptor.cc (every derived size is recomputed here, never trusted). Nothing in it knows
// about N-API, so the execution code can be exercised without JS.
#pragma once

#include <cstdint>
#include <vector>

namespace superlora::engine {

// A contiguous run of ΔW_all (before the shuffle) that a group writes.
struct Region {
  int64_t start;
  int64_t length;
};

// One mode product of a dense core's contraction: X_{t+1} = X_t ×_mode A_mode, where X_t, seen as
// [outer, r, inner], becomes [outer, dim, inner].
struct ContractionStep {
  int mode = 0;
  int64_t outer = 1;
  int64_t inner = 1;
  int64_t dim = 1;
  int64_t output_offset = -1;  // where X_{t+1} lives in the contraction scratch; −1: it is Y
};

// Split k of a bucket (SPEC §5, §10). Offsets are those of slot 0; slot s adds s times the
// per-group size of the tensor.
struct SplitSpec {
  int rank = 0;                         // r_k, or 0 for a "full" split
  std::vector<int64_t> dims;            // d_{k,0..M−1}
  int64_t size = 0;                     // Π_m d_{k,m}: values of T_gk
  int64_t cols = 0;                     // size / d_{k,0}: columns of Y for a rank split
  int64_t core_size = 0;                // r^M for a dense core, else 0
  int64_t core_offset = -1;             // b.s.core, or −1
  std::vector<int64_t> factor_offsets;  // b.s.f{m}, empty for a full split
  int64_t full_offset = -1;             // b.s.full, or −1
  // Filled by PlanContraction (split_contraction.h) for a rank split: Y's contraction and the
  // floats of scratch it and its backward need.
  std::vector<ContractionStep> contraction_steps;  // dense core: modes 1..M−1, cheapest first
  int64_t contraction_scratch = 0;
  int64_t gradient_offsets[2] = {0, 0};  // dense core: ping-pong buffers of the backward
};

struct BucketSpec {
  int64_t virtual_length = 0;    // n_g
  int64_t generated_length = 0;  // m_g
  int64_t projection_size = 0;   // L, or 0 without a projection
  int table = -1;                // index into the plan's fastfood tables, or −1
  std::vector<SplitSpec> splits;
  std::vector<int64_t> kron_dims;  // d_{k,m} at k · M + m, as kernels::KronOperands wants them
  std::vector<int32_t> groups;     // group indices, in slot order
};

struct GroupSpec {
  int bucket = 0;
  int slot = 0;
  // The regions it writes, in order, adjacent ones merged: one entry means the group's output is
  // one contiguous run that kernels can write directly.
  std::vector<Region> regions;
  int64_t used = 0;  // Σ region lengths ≤ n_g (the last uniform group drops its tail)
};

// A fastfood table handed over from an adapter file (SPEC §11); sizes without one are generated
// from the seed.
struct FastfoodTableInput {
  int64_t size = 0;
  std::vector<float> signs;
  std::vector<int32_t> perm;
  std::vector<float> gaussians;
};

struct PlanSpec {
  int64_t delta_size = 0;  // N
  int64_t num_params = 0;
  int order = 0;   // M
  int splits = 0;  // K
  bool dense_core = false;
  float scale = 1.0f;
  uint32_t seed = 0;
  bool shuffle = false;
  std::vector<BucketSpec> buckets;
  std::vector<GroupSpec> groups;
  std::vector<int64_t> projection_sizes;  // distinct L, in bucket order
  std::vector<FastfoodTableInput> file_tables;
  std::vector<int32_t> file_shuffle;  // σ from a file, or empty
};

}  // namespace superlora::engine
