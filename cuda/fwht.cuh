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
  int32_t logSize = 0;  // log2 of the segment length L (stages done here: min(L, tile))
  int64_t table = 0;    // gather mode: offset of the segment's tables in the perm / weights arrays
};

// One block of the column pass.
struct FwhtColumnJob {
  int64_t segment = 0;      // first float of the segment
  int32_t logRows = 0;      // log2(L / tile)
  int32_t firstColumn = 0;  // first of the tile / R columns this block transforms
};

// Gather mode of the tile pass: element i of a segment is first loaded as
// weights[table + i] · source[segmentStart + perm[table + i]] (segments start at multiples of
// their length L). This is fastfood's w = Gv ⊙ u[π] (SPEC §7), and its transpose with π⁻¹ and
// Gv ∘ π⁻¹, riding on the load of the next transform.
struct FwhtGather {
  const float* source = nullptr;
  const int32_t* perm = nullptr;
  const float* weights = nullptr;
};

// The largest log2 tile this device's shared memory allows (≤ 15); queries device 0 once.
int FwhtLogTile();

// Launches the tile pass over `jobCount` jobs (device array) on `stream` (a cudaStream_t; nullptr
// is the default stream). gather: nullptr, or device pointers for gather mode (which then reads
// gather->source and writes data; the two must not overlap).
void FwhtTilePass(float* data, const FwhtTileJob* jobs, int64_t jobCount, int logTile,
                  const FwhtGather* gather, void* stream);

// Launches the column pass over `jobCount` jobs (device array).
void FwhtColumnPass(float* data, const FwhtColumnJob* jobs, int64_t jobCount, int logTile,
                    void* stream);

// Transforms `length` floats of device memory in place, as length / size rows of `size`, on
// `stream`. Asynchronous like any launch. Preconditions: size is a power of two that divides
// length. Builds and uploads its job lists on each call (cudaFwht is a test hook).
void FwhtDevice(float* deviceData, size_t length, size_t size, void* stream = nullptr);

// Copies host data to the device, transforms it, copies it back; synchronous. Throws CudaError
// when there is no device or any CUDA call fails.
void FwhtHost(float* hostData, size_t length, size_t size);

// Host side of the job lists: appends the tiles and column jobs that transform `count` consecutive
// segments of length 2^logSize starting at `start` (a multiple of the segment length when the
// tile pass gathers). Segments shorter than a tile are packed several to a tile, the last tile
// holding what is left.
void AppendFwhtJobs(int64_t start, int64_t count, int logSize, int64_t table, int logTile,
                    std::vector<FwhtTileJob>& tileJobs, std::vector<FwhtColumnJob>& columnJobs);

}  // namespace superlora::cuda
