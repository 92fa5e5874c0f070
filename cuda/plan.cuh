// CudaPlan: a native plan (native/engine/plan_spec.h) executed on the first CUDA device (SPEC
// §3–§8), the GPU twin of engine::PlanExecutor. Plain C++ interface (no CUDA types) so that
// native/cuda_plan_binding.cc, compiled by the host compiler, can hold one; cuda/plan.cu holds the
// rest.
//
// Everything stays on the device between calls: the parameters, ΔW_all, its upstream gradient, the
// parameter gradient, the fixed tables of SPEC §9 (generated on the host by
// engine::BuildPlanTables, exactly as the CPU engine does, and uploaded once), the job lists of
// every kernel and all scratch. Two ways to call it:
// - host arrays: Forward / Backward copy the inputs in, run, copy the outputs back (synchronous);
// - device-resident steps: SetParams, RunForward, ReadDelta; SetDeltaGradient, RunBackward,
//   ReadParamsGradient. A loop that keeps its parameters in the plan uploads them only when they
//   change, and reads back only what it needs.
//
// Kernel launches per call do not depend on the number of groups or targets: every kernel runs
// all groups (of every bucket) at once, its grid spanning (group, work item) through job lists
// built here. With R = 1 when the splits have a rank (not "full"), S = M − 1 dense-core steps (0
// for the identity core or without R), Y = S for a dense core and R for the identity core, X = 1
// when K > 1, F = 1 for K = 1 with a full split, I = 1 for the identity core with M ≥ 2 and R,
// P = 1 with a projection, C = 1 when some fastfood size L exceeds the shared-memory FWHT tile
// (2^15 floats on sm_80 / sm_90; the input transform's size L1 then does too, being at least
// min(L, 2 tiles)), E = 1 when every projected group meets ΔW_all directly (its L is past the
// tile and its values land as one run of ΔW_all: no shuffle, adjacent targets), and U = 1 when some
// group needs a gathered copy of dL/dΔW_all (a projected group that does not meet ΔW_all directly,
// or, with K > 1, a group that does not land as one run):
//   forward  = Y + X·R + 1 + P·(3 + 2C) − E
//              (Y: the splits' Y_k; X·R: T_k = A_0·Y_k; 1: ΔW_all, written once per value;
//               P: the L1-point FWHT's tile pass, the L-point one's gather + tile pass, normalise +
//               scatter; C: their column passes; E: the L-point column pass has normalised and
//               written every group's ΔW_all, so no EmitKernel)
//   backward = Y + X·R + U + P·(3 + 2C) + X + F + 2R + I + 2S
//              (U: the upstream gather; the other groups read dL/dΔW_all in place, or, under a
//               projection, the L-point FWHT's tile pass reads it; P: the L-point FWHT's
//               tile pass, the L1-point one's fold + tile pass, B ⊙; C: their column passes; X:
//               dT_k; F: d full; 2R: dA_0 and dY; I: dA_m, m ≥ 1; 2S: the dense steps' dA and dX)
// e.g. LoRA (M = 2, K = 1, identity core): forward 2, backward 4; with a projection 5 and 8 (past
// the tile 6 and 9 for groups that meet ΔW_all directly, else 7 and 10); LoRTA (M = 3, K = 1, dense
// core): forward 3, backward 8; LoKr (K = 2, ["full", r], a group per weight): forward 3,
// backward 6. LaunchCount() reports the last call's. Every reduction runs in a fixed order (one
// warp or thread per output, or per kLowRankChunk outputs): no atomics, and equal inputs give
// bit-identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../native/engine/plan_spec.h"

namespace superlora::cuda {

// One kernel launch of the last forward or backward; `milliseconds` is −1 unless profiling was on.
struct KernelTime {
  const char* name;
  float milliseconds;
};

class CudaPlan {
 public:
  // Builds the tables on the host, uploads them and allocates all device memory. Throws
  // CudaError when there is no device or memory is short.
  explicit CudaPlan(engine::PlanSpec spec);
  ~CudaPlan();
  CudaPlan(const CudaPlan&) = delete;
  CudaPlan& operator=(const CudaPlan&) = delete;

  int64_t DeltaSize() const;
  int64_t NumParams() const;
  size_t DeviceBytes() const;
  int LaunchCount() const;  // kernel launches of the last Run* call
  // The kernels of the last Run* call in launch order, timed with events recorded between them
  // while profiling is on (off by default: the events cost a little).
  std::vector<KernelTime> LastKernels() const;
  void SetProfiling(bool enabled);
  int LogTile() const;  // the FWHT tile of this device, log2
  // The forward's values per thread (4, or 8 with SUPERLORA_CUDA_VALUES_PER_THREAD=8 when the
  // plan was built).
  int ValuesPerThread() const;

  // out (DeltaSize floats) = ΔW_all for params (NumParams floats): SetParams, RunForward,
  // ReadDelta.
  void Forward(const float* params, float* out);
  // d_params (NumParams floats, all overwritten) = dL/dparams for d_out = dL/dΔW_all.
  void Backward(const float* params, const float* d_out, float* d_params);

  void SetParams(const float* params);             // host → device parameters
  void RunForward();                               // device ΔW_all from the device parameters
  void ReadDelta(float* out) const;                // device ΔW_all → host
  void SetDeltaGradient(const float* d_out);       // host → device dL/dΔW_all
  void RunBackward();                              // device dL/dparams
  void ReadParamsGradient(float* d_params) const;  // device dL/dparams → host

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace superlora::cuda
