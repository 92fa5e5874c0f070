#include <cuda_runtime.h>

#include "check.cuh"
#include "device.cuh"

namespace superlora::cuda {
namespace {

std::string VersionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

DeviceQuery Query() {
  DeviceQuery query;
  query.runtimeVersion = CUDART_VERSION;
  // cudaDriverGetVersion succeeds with 0 when libcuda cannot be loaded, which tells "no driver"
  // apart from "driver too old" below.
  if (cudaDriverGetVersion(&query.driverVersion) != cudaSuccess) query.driverVersion = 0;

  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (query.driverVersion == 0) {
      query.error = "no CUDA driver (the NVIDIA driver library libcuda could not be loaded): ";
    } else if (query.driverVersion < query.runtimeVersion) {
      query.error = "the CUDA driver supports CUDA " + VersionText(query.driverVersion) +
                    " but this binary needs CUDA " + VersionText(query.runtimeVersion) +
                    " (update the NVIDIA driver): ";
    } else {
      query.error = "cudaGetDeviceCount failed: ";
    }
    query.error += DescribeStatus(status);
    // Clear the error so that it does not resurface from an unrelated later call.
    cudaGetLastError();
    return query;
  }
  if (count == 0) {
    query.error = "no CUDA device found";
    return query;
  }
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    const cudaError_t propertyStatus = cudaGetDeviceProperties(&properties, index);
    if (propertyStatus != cudaSuccess) {
      query.error = "cudaGetDeviceProperties(" + std::to_string(index) +
                    ") failed: " + DescribeStatus(propertyStatus);
      cudaGetLastError();
      continue;
    }
    DeviceInfo info;
    info.index = index;
    info.name = properties.name;
    info.computeCapabilityMajor = properties.major;
    info.computeCapabilityMinor = properties.minor;
    info.totalMemory = properties.totalGlobalMem;
    info.multiProcessorCount = properties.multiProcessorCount;
    query.devices.push_back(info);
  }
  if (!query.devices.empty()) query.error.clear();
  return query;
}

}  // namespace

const DeviceQuery& QueryDevices() {
  static const DeviceQuery query = Query();
  return query;
}

void RequireDevice(const char* forWhat) {
  const DeviceQuery& query = QueryDevices();
  if (query.devices.empty()) {
    throw CudaError(std::string(forWhat) +
                    " needs a CUDA device, but none is usable: " + query.error);
  }
}

}  // namespace superlora::cuda
