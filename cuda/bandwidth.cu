#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "bandwidth.cuh"
#include "check.cuh"
#include "device.cuh"
#include "device_buffer.cuh"

namespace superlora::cuda {
namespace {

// Best seconds of `repeats` runs of `body` on `stream`, timed with events.
template <typename Body>
double BestSeconds(cudaStream_t stream, int repeats, const Body& body) {
  cudaEvent_t start = nullptr, stop = nullptr;
  Check(cudaEventCreate(&start), "cudaEventCreate");
  Check(cudaEventCreate(&stop), "cudaEventCreate");
  double best = 1e30;
  try {
    body();  // warm-up
    Check(cudaStreamSynchronize(stream), "bandwidth warm-up");
    for (int r = 0; r < repeats; ++r) {
      Check(cudaEventRecord(start, stream), "cudaEventRecord");
      body();
      Check(cudaEventRecord(stop, stream), "cudaEventRecord");
      Check(cudaEventSynchronize(stop), "bandwidth run");
      float milliseconds = 0;
      Check(cudaEventElapsedTime(&milliseconds, start, stop), "cudaEventElapsedTime");
      best = std::min(best, static_cast<double>(milliseconds) / 1e3);
    }
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

}  // namespace

BandwidthResult MeasureBandwidth(size_t bytes, int repeats) {
  RequireDevice("cudaMeasureBandwidth");
  size_t free = 0, total = 0;
  Check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  bytes = std::max<size_t>(4096, std::min(bytes, free / 4)) / 4096 * 4096;
  repeats = std::max(1, repeats);
  BandwidthResult result;
  result.bytes = bytes;
  result.repeats = repeats;
  DeviceBuffer<unsigned char> a(bytes);
  DeviceBuffer<unsigned char> b(bytes);
  cudaStream_t stream = nullptr;
  Check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  try {
    const double copy = BestSeconds(stream, repeats, [&] {
      Check(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream),
            "cudaMemcpyAsync(device to device)");
    });
    result.copyBytesPerSecond = 2.0 * static_cast<double>(bytes) / copy;
    const double fill = BestSeconds(stream, repeats, [&] {
      Check(cudaMemsetAsync(a.data(), 0x3f, bytes, stream), "cudaMemsetAsync");
    });
    result.fillBytesPerSecond = static_cast<double>(bytes) / fill;
    // Pageable host memory, as Float32Arrays are: the driver stages it through pinned buffers.
    const size_t hostBytes = std::min<size_t>(bytes, size_t{256} << 20);
    std::vector<unsigned char> host(hostBytes, 1);
    const double up = BestSeconds(stream, repeats, [&] {
      Check(cudaMemcpyAsync(a.data(), host.data(), hostBytes, cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync(host to device)");
    });
    result.hostToDeviceBytesPerSecond = static_cast<double>(hostBytes) / up;
    const double down = BestSeconds(stream, repeats, [&] {
      Check(cudaMemcpyAsync(host.data(), a.data(), hostBytes, cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync(device to host)");
    });
    result.deviceToHostBytesPerSecond = static_cast<double>(hostBytes) / down;
  } catch (...) {
    cudaStreamDestroy(stream);
    throw;
  }
  cudaStreamDestroy(stream);
  return result;
}

}  // namespace superlora::cuda
