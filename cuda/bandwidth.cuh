// The device's own memory limits, measured in the same run as a benchmark (DESIGN.md: every
// figure is also a ratio): device-to-device copy, fill, and the pageable host ↔ device copies that
// the CUDA engine's host-array calls make. Plain C++ interface.
#pragma once

#include <cstddef>

namespace superlora::cuda {

struct BandwidthResult {
  size_t bytes = 0;                       // size of each transfer
  int repeats = 0;                        // timed repeats (best taken)
  double copyBytesPerSecond = 0;          // device → device, counting the read and the write
  double fillBytesPerSecond = 0;          // cudaMemset, bytes written
  double hostToDeviceBytesPerSecond = 0;  // from pageable host memory
  double deviceToHostBytesPerSecond = 0;  // to pageable host memory
};

// Measures on device 0 with buffers of `bytes` (lowered to a quarter of the free memory).
// Throws CudaError when there is no device or a CUDA call fails.
BandwidthResult MeasureBandwidth(size_t bytes, int repeats);

}  // namespace superlora::cuda
