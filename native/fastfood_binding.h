// Test hooks for the fastfood kernels (native/kernels/fastfood.h), with the tables passed in:
// fastfoodForward(signs, perm, gaussians, z, m, n, scale, y, isa?) and
// fastfoodBackward(signs, perm, gaussians, dy, n, m, scale, dz, isa?). The engine calls the
// kernels directly with its own tables; these exist so that tests can compare every
// instruction-set path against a dense evaluation of SPEC §7.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterFastfood(Napi::Env env, Napi::Object exports);

}  // namespace superlora
