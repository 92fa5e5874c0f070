// Batched in-place Walsh–Hadamard transforms on the GPU; the same maths as native/kernels/fwht.h
// (which is its reference in the tests). Plain C++ interface (no CUDA types) so that native/ can
// call it without CUDA headers.
//
// Two passes do any transform, whatever the number of rows or segments:
// - the tile pass: one block per tile of up to 2^logTile floats held in shared memory (2^15 on
//   GPUs with ≥ 128 KiB of shared memory per block, e.g. sm_80/sm_90; 2^14 or less elsewhere). A
//   tile holds whole segments (all their stages) or the first logTile stages of a longer one;
// - the column pass (only for segments longer than a tile): a segment seen as R = L / tile rows of
//   a tile each; one block per group of tile / R columns transforms along the rows, which finishes
//   the remaining log2(R) stages in one pass (R ≤ tile, i.e. L ≤ 2^30 with 2^15 tiles).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace superlora::cuda {

// One block of the tile pass.
struct FwhtTileJob {
  int64_t start = 0;    // first float of the tile in the buffer
  int32_t count = 0;    // floats in the tile (whole segments, or a tile of a longer segment)
  int32_t logSize = 0;  // log2 of the segment length (stages done here: min(segment, tile))
  // Gather mode only (FwhtGather): where the job's segments and their sources lie.
  int64_t segments = 0;   // first float of the first of the consecutive segments this job is in
  int64_t table = 0;      // offset of the segments' tables in the perm / weights arrays
  int64_t sources = 0;    // first float of the matching source segments (2^logSource each)
  int32_t logSource = 0;  // log2 of a source segment
  int32_t folds = 1;      // table entries summed per element (see FwhtGather)
  // Load mode (a pass given a load array, no gather): element i of the tile is first read as
  // load[loadStart + i] for i < loadCount and as 0 past it (a segment's zero padding).
  int64_t loadStart = -1;  // −1: read from the buffer, load array or not
  int64_t loadCount = 0;
};

// One block of the column pass.
struct FwhtColumnJob {
  int64_t segment = 0;      // first float of the segment
  int32_t logRows = 0;      // log2(L / tile)
  int32_t firstColumn = 0;  // first of the tile / R columns this block transforms
  // Emit mode (a pass given an emit array): value e < emitCount of the segment goes to
  // emit[emitStart + e] times emitFactor instead of back to the segment; later values are dropped.
  int64_t emitStart = -1;  // −1: back to the segment, emit array or not
  int64_t emitCount = 0;
  float emitFactor = 1.0f;
};

// Gather mode of the tile pass: element i of segment s (counted from job.segments, segments of
// size S = 2^logSize) is first loaded as
//   Σ_{f < folds} weights[e_f] · source[sources + s · 2^logSource + (perm[e_f] mod 2^logSource)]
// with e_f = table + i + f · S. Fastfood (SPEC §7) uses it both ways:
// - forward, folds = 1: w = Gv ⊙ u[π] where u = H_L x repeats the small transform ũ = H_{L1} x of
//   the zero-padded input in every block of L1 (a power of two ≥ m), so u[π[i]] = ũ[π[i] mod L1];
// - backward, folds = L / L1, with π⁻¹ and Gv ∘ π⁻¹: the transpose of that repetition sums the
//   L / L1 blocks of the scattered gradient, t̃[j] = Σ_f Gv[π⁻¹[j + f·L1]] · t[π⁻¹[j + f·L1]].
// It rides on the load of the next transform; source and data must not overlap.
struct FwhtGather {
  const float* source = nullptr;
  const int32_t* perm = nullptr;
  const float* weights = nullptr;
};

// Where a gathering tile pass reads (for AppendFwhtJobs; ignored by a plain pass).
struct FwhtSource {
  int64_t table = 0;  // tables of the first segment
  int64_t start = 0;  // first source segment
  int logSource = 0;  // log2 of a source segment
  int32_t folds = 1;
};

// The largest log2 tile this device's shared memory allows (≤ 15); queries device 0 once.
int FwhtLogTile();

// Launches the tile pass over `jobCount` jobs (device array) on `stream` (a cudaStream_t; nullptr
// is the default stream). gather: nullptr, or device pointers for gather mode (which then reads
// gather->source and writes data; the two must not overlap). load: nullptr, or device memory that
// jobs with a loadStart read their tiles from (FwhtTileJob).
void FwhtTilePass(float* data, const FwhtTileJob* jobs, int64_t jobCount, int logTile,
                  const FwhtGather* gather, const float* load, void* stream);

// Launches the column pass over `jobCount` jobs (device array); with `emit` (device memory, may be
// nullptr), jobs with an emitStart write their values there (FwhtColumnJob).
void FwhtColumnPass(float* data, const FwhtColumnJob* jobs, int64_t jobCount, int logTile,
                    float* emit, void* stream);

// Transforms `length` floats of device memory in place, as length / size rows of `size`, on
// `stream`. Asynchronous like any launch. Preconditions: size is a power of two that divides
// length. Builds and uploads its job lists on each call (cudaFwht is a test hook).
void FwhtDevice(float* deviceData, size_t length, size_t size, void* stream = nullptr);

// Copies host data to the device, transforms it, copies it back; synchronous. Throws CudaError
// when there is no device or any CUDA call fails.
void FwhtHost(float* hostData, size_t length, size_t size);

// Host side of the job lists: appends the tiles and column jobs that transform `count` consecutive
// segments of length 2^logSize starting at `start`, whose tile jobs gather from `source` when the
// pass runs in gather mode. Segments shorter than a tile are packed several to a tile, the last
// tile holding what is left.
void AppendFwhtJobs(int64_t start, int64_t count, int logSize, const FwhtSource& source,
                    int logTile, std::vector<FwhtTileJob>& tileJobs,
                    std::vector<FwhtColumnJob>& columnJobs);

}  // namespace superlora::cuda
