#include "linalg_binding.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "../args.h"
#include "../promise_worker.h"
#include "symmetric_eigen.h"

namespace superlora {
namespace {

// Gram matrices and eigenvectors are n² doubles: 2^15 per side is 8 GiB, past any real target.
constexpr int64_t kMaxSide = 1 << 15;

// How JavaScript prints a non-finite number.
const char* NonFiniteName(double value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

// symmetricEigen(matrix: Float64Array, n) → { values: Float64Array(n), vectors: Float64Array(n²) }.
Napi::Value SymmetricEigen(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Float64Array matrix = args::RequireFloat64Array(info, 0, "matrix");
  const int64_t n = args::RequireIntegerInRange(info, 1, "n", 1, kMaxSide);
  const size_t count = static_cast<size_t>(n * n);
  if (matrix.ElementLength() != count) {
    throw Napi::RangeError::New(
        env, "Expected a Float64Array of n × n values for matrix (n = " + std::to_string(n) +
                 ") but received " + std::to_string(matrix.ElementLength()) + " values");
  }
  const double* data = matrix.Data();
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(data[i])) {
      throw Napi::RangeError::New(env, "Expected finite values in matrix but entry " +
                                           std::to_string(i) + " is " + NonFiniteName(data[i]));
    }
  }
  Napi::Float64Array values = Napi::Float64Array::New(env, static_cast<size_t>(n));
  Napi::Float64Array vectors = Napi::Float64Array::New(env, count);
  args::RequireUnchanged(env, matrix, "matrix");
  if (!linalg::SymmetricEigen(data, n, values.Data(), vectors.Data())) {
    // Not seen on any finite input (the scaling rules out overflow); a RangeError like every other
    // refusal at this boundary.
    throw Napi::RangeError::New(env, "symmetricEigen: the QR iteration did not converge");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("values", values);
  result.Set("vectors", vectors);
  return result;
}

// The [rows, cols] shape of the Float32Array `matrix` at info[0], from info[1] and info[2]:
// positive integers whose product is its length.
struct MatrixShape {
  int64_t rows;
  int64_t cols;
};

MatrixShape RequireMatrixShape(const Napi::CallbackInfo& info, const Napi::Float32Array& matrix) {
  const Napi::Env env = info.Env();
  const int64_t rows = args::RequireIntegerInRange(info, 1, "rows", 1, int64_t{1} << 31);
  const int64_t cols = args::RequireIntegerInRange(info, 2, "cols", 1, int64_t{1} << 31);
  if (static_cast<double>(matrix.ElementLength()) != static_cast<double>(rows) * cols) {
    throw Napi::RangeError::New(env, "Expected " + std::to_string(rows) + " × " +
                                         std::to_string(cols) + " values for matrix but received " +
                                         std::to_string(matrix.ElementLength()));
  }
  return {rows, cols};
}

void RequireGramSide(const Napi::Env& env, int64_t side) {
  if (side > kMaxSide) {
    throw Napi::RangeError::New(env, "Expected a Gram matrix side ≤ " + std::to_string(kMaxSide) +
                                         " but received " + std::to_string(side));
  }
}

// gramMatrix(matrix: Float32Array, rows, cols, byColumns) → Float64Array: MᵀM or M Mᵀ.
Napi::Value GramMatrix(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Float32Array matrix = args::RequireFloat32Array(info, 0, "matrix");
  const MatrixShape shape = RequireMatrixShape(info, matrix);
  const int64_t rows = shape.rows;
  const int64_t cols = shape.cols;
  if (!info[3].IsBoolean()) {
    throw Napi::TypeError::New(
        env, "Expected a boolean for byColumns but received " + args::Describe(info[3]));
  }
  const bool by_columns = info[3].As<Napi::Boolean>().Value();
  const int64_t side = by_columns ? cols : rows;
  RequireGramSide(env, side);
  Napi::Float64Array gram = Napi::Float64Array::New(env, static_cast<size_t>(side * side));
  args::RequireUnchanged(env, matrix, "matrix");
  linalg::GramMatrix(matrix.Data(), rows, cols, by_columns, gram.Data());
  return gram;
}

// The arguments of gramSpectrum / gramSpectrumAsync (matrix: Float32Array, rows, cols,
// values: Float64Array(side), vectors: Float64Array(side²), side = min(rows, cols)), checked: a
// wrong type or size, or a non-finite entry, is a TypeError / RangeError here, on the JS thread.
struct GramSpectrumCall {
  Napi::Float32Array matrix;
  Napi::Float64Array values;
  Napi::Float64Array vectors;
  int64_t rows;
  int64_t cols;
};

GramSpectrumCall RequireGramSpectrumArgs(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  GramSpectrumCall call;
  call.matrix = args::RequireFloat32Array(info, 0, "matrix");
  const MatrixShape shape = RequireMatrixShape(info, call.matrix);
  call.rows = shape.rows;
  call.cols = shape.cols;
  const int64_t side = std::min(call.rows, call.cols);
  RequireGramSide(env, side);
  call.values = args::RequireFloat64Array(info, 3, "values");
  call.vectors = args::RequireFloat64Array(info, 4, "vectors");
  if (call.values.ElementLength() != static_cast<size_t>(side) ||
      call.vectors.ElementLength() != static_cast<size_t>(side * side)) {
    throw Napi::RangeError::New(
        env, "Expected " + std::to_string(side) + " values and " + std::to_string(side * side) +
                 " vectors entries (side min(rows, cols) = " + std::to_string(side) +
                 ") but received " + std::to_string(call.values.ElementLength()) + " and " +
                 std::to_string(call.vectors.ElementLength()));
  }
  args::RequireUnchanged(env, call.matrix, "matrix");
  args::RequireUnchanged(env, call.values, "values");
  const float* in = call.matrix.Data();
  for (int64_t i = 0; i < call.rows * call.cols; ++i) {
    if (!std::isfinite(in[i])) {
      throw Napi::RangeError::New(env, "Expected finite values in matrix but entry " +
                                           std::to_string(i) + " is " + NonFiniteName(in[i]));
    }
  }
  return call;
}

constexpr const char* kNotConverged = "gramSpectrum: the QR iteration did not converge";

// gramSpectrum(matrix, rows, cols, values, vectors): the Gram matrix of M's smaller side and its
// eigen-decomposition into values and vectors, without handing the Gram matrix to JS and back.
Napi::Value GramSpectrum(const Napi::CallbackInfo& info) {
  GramSpectrumCall call = RequireGramSpectrumArgs(info);
  if (!linalg::GramSpectrum(call.matrix.Data(), call.rows, call.cols, call.values.Data(),
                            call.vectors.Data())) {
    // Not seen on any finite input; a RangeError like every other refusal at this boundary.
    throw Napi::RangeError::New(info.Env(), kNotConverged);
  }
  return info.Env().Undefined();
}

// gramSpectrumAsync(...): the same on the libuv pool, so that the targets of a conversion
// decompose in parallel; the arrays are held until the Promise settles.
Napi::Value GramSpectrumAsync(const Napi::CallbackInfo& info) {
  GramSpectrumCall call = RequireGramSpectrumArgs(info);
  const float* in = call.matrix.Data();
  double* values = call.values.Data();
  double* vectors = call.vectors.Data();
  const int64_t rows = call.rows;
  const int64_t cols = call.cols;
  return QueuePromiseWorker(info.Env(), "superlora:gramSpectrum",
                            {call.matrix, call.values, call.vectors}, [=] {
                              if (!linalg::GramSpectrum(in, rows, cols, values, vectors)) {
                                throw std::runtime_error(kNotConverged);
                              }
                            });
}

}  // namespace

void RegisterLinalg(Napi::Env env, Napi::Object exports) {
  exports.Set("symmetricEigen", Napi::Function::New(env, SymmetricEigen, "symmetricEigen"));
  exports.Set("gramMatrix", Napi::Function::New(env, GramMatrix, "gramMatrix"));
  exports.Set("gramSpectrum", Napi::Function::New(env, GramSpectrum, "gramSpectrum"));
  exports.Set("gramSpectrumAsync",
              Napi::Function::New(env, GramSpectrumAsync, "gramSpectrumAsync"));
}

}  // namespace superlora
