// Batched in-place Walsh–Hadamard transform on the GPU; the same maths as
// native/kernels/fwht.h (which is its reference in the tests). Plain C++ interface so that
// native/ can call it without CUDA headers.
#pragma once

#include <cstddef>

namespace superlora::cuda {

// Rows up to this size are transformed entirely in shared memory by one block (16 KiB of
// floats); larger rows run the first stages per tile and the remaining ones as global passes.
inline constexpr size_t kFwhtTile = 4096;

// Transforms `length` floats of device memory in place, as length / size rows of `size`, on
// `stream` (a cudaStream_t; nullptr is the default stream). Asynchronous like any launch.
// Preconditions: size is a power of two that divides length.
void FwhtDevice(float* deviceData, size_t length, size_t size, void* stream = nullptr);

// Copies host data to the device, transforms it, copies it back; synchronous. Throws CudaError
// when there is no device or any CUDA call fails.
void FwhtHost(float* hostData, size_t length, size_t size);

}  // namespace superlora::cuda
