// measureFill, measureMemcpy, measureFmaPeak, measureAddPeak: the machine-limit probes that
// `superlora bench` runs before its workloads, so that every figure is also a ratio.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterBench(Napi::Env env, Napi::Object exports);

}  // namespace superlora
