#include "fwht.h"

namespace superlora::kernels {
namespace {

// Butterfly stages with half-width h = 1, 2, 4, ...: after the stage with half-width h every
// aligned block of 2h holds [[H_h, H_h], [H_h, -H_h]] applied to it, which is the Sylvester
// recursion, so the result comes out in natural order without a bit-reversal pass.
void FwhtRow(float* row, size_t size) {
  for (size_t h = 1; h < size; h *= 2) {
    for (size_t block = 0; block < size; block += 2 * h) {
      float* top = row + block;
      float* bottom = top + h;
      for (size_t j = 0; j < h; ++j) {
        const float x = top[j];
        const float y = bottom[j];
        top[j] = x + y;
        bottom[j] = x - y;
      }
    }
  }
}

}  // namespace

void FwhtInPlace(float* data, size_t length, size_t size) {
  if (size <= 1) return;  // H_1 is the identity
  for (size_t start = 0; start < length; start += size) FwhtRow(data + start, size);
}

}  // namespace superlora::kernels
