// lowRankForward / lowRankBackward / kronForward / kronBackward: the streaming kernels of
// kernels/lowrank.h and kernels/kron.h on caller-owned Float32Arrays, with an optional ISA level,
// so that tests can check every level against an independent implementation. The plan runs these
// kernels itself; nothing in the library calls these bindings.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterKernels(Napi::Env env, Napi::Object exports);

}  // namespace superlora
