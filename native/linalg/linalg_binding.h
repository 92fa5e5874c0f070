// The dense linear algebra the adapter conversions need (PEFT export's truncated SVDs):
// symmetricEigen(matrix, n) and gramMatrix(matrix, rows, cols, byColumns). src/linalg/*.ts call
// them when the addon is loaded and keep their own TypeScript versions as the reference.
#pragma once

#include <napi.h>

namespace superlora {

void RegisterLinalg(Napi::Env env, Napi::Object exports);

}  // namespace superlora
