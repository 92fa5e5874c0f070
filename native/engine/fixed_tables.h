// The fixed tables a native plan owns (SPEC §7–§9): per fastfood size L the signs B, the
// permutation π and the gaussians Gv, and the shuffle σ. Generated here from the seed with
// native/rng.h, except those an adapter file supplied (SPEC §11), which the plan descriptor
// carries.
#pragma once

#include <cstdint>
#include <vector>

#include "../kernels/fastfood.h"
#include "plan_spec.h"

namespace superlora::engine {

struct FastfoodTableData {
  int64_t size = 0;
  std::vector<float> signs;
  std::vector<int32_t> perm;
  std::vector<float> gaussians;
  double gaussian_sum_sq = 0;  // Σ Gv[i]², in double, in index order (as src/tables.ts users do)
  bool from_file = false;

  kernels::FastfoodTable View() const {
    return {size, signs.data(), perm.data(), gaussians.data(), gaussian_sum_sq};
  }
};

struct PlanTables {
  std::vector<FastfoodTableData> fastfood;  // one per distinct L, in spec.projection_sizes order
  std::vector<int32_t> shuffle;             // σ, empty without a shuffle
  bool shuffle_from_file = false;
};

// Moves the file tables out of `spec` and generates the rest.
PlanTables BuildPlanTables(PlanSpec& spec);

}  // namespace superlora::engine
