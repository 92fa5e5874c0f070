// Test hooks for native/rng.h, so that jest can pin the C++ tables to src/rng.ts and to the SPEC §9
// known answers: nativeDraws(seed, tag, count), nativeTables(seed, size),
// nativePermutation(seed, tag, length).
#pragma once

#include <napi.h>

namespace superlora {

void RegisterRng(Napi::Env env, Napi::Object exports);

}  // namespace superlora
