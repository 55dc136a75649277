//===- TinyModel.cpp - a small model and volume for the CLI tests ---------===//
//
//   tiny_model MODEL.h5 RAW.h5 [--big z,x,y] [--mask MASK.h5]
//              [--no-prediction]
//
// MODEL.h5: one channel in, 2 classes out, strides (2, 4, 4), fov (3, 8, 8)
// (fixed seed). RAW.h5: "raw" (10, 40, 40) float32 in [0, 1) and "stack"
// (2, 10, 40, 40) float32, so the lit tests of `neuromancer predict` run in
// a second and can name a dataset, omit it, or give the wrong channels.
// --big adds "big", a random uint8 volume of that shape written one section
// at a time (chunked, never whole in memory), for bench/run_dense.sh's
// memory line. --mask writes MASK.h5 with "mask" (10, 40, 40) uint8, 1 at
// raw voxel (2, 6, 6) only, and "short" (10, 40, 39), for --mask.
// --no-prediction saves the model with no designated prediction node (for
// the errors of `neuromancer compile --dense`).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"
#include "tests/predict/H5TestFiles.h"

#include <iostream>
#include <random>
#include <string>

namespace {

/// A (z, x, y) uint8 dataset of random bytes, written section by section.
void writeBig(const std::string &path, const nm::Sizes &shape) {
  using namespace nm;
  h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  hsize_t dims[3] = {hsize_t(shape[0]), hsize_t(shape[1]), hsize_t(shape[2])};
  hsize_t chunk[3] = {1, std::min<hsize_t>(dims[1], 256),
                      std::min<hsize_t>(dims[2], 256)};
  h5::Handle space(H5Screate_simple(3, dims, nullptr), H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl, 3, chunk);
  h5::Handle ds(
      H5Dcreate2(f, "big", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
      H5Dclose);
  std::mt19937 gen(13);
  std::vector<uint8_t> section(dims[1] * dims[2]);
  hsize_t count[3] = {1, dims[1], dims[2]};
  h5::Handle mem(H5Screate_simple(3, count, nullptr), H5Sclose);
  for (hsize_t z = 0; z < dims[0]; ++z) {
    for (uint8_t &v : section)
      v = static_cast<uint8_t>(gen() >> 24);
    hsize_t start[3] = {z, 0, 0};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    H5Dwrite(ds, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, section.data());
  }
}

/// MASK.h5: "mask", foreground at raw voxel (2, 6, 6) only, and "short",
/// one voxel short along y.
void writeMasks(const std::string &path) {
  nm::Array mask({10, 40, 40}, nm::DType::UInt8), small({10, 40, 39});
  for (int64_t i = 0; i < mask.size(); ++i)
    mask.setFlat(i, 0);
  mask.setFlat((2 * 40 + 6) * 40 + 6, 1);
  for (int64_t i = 0; i < small.size(); ++i)
    small.setFlat(i, 1);
  nm::testing::writeH5(path, "mask", mask);
  nm::testing::writeH5(path, "short", small, true);
}

} // namespace

int main(int argc, char **argv) {
  std::string big, maskPath;
  bool ok = argc >= 3, noPrediction = false;
  for (int i = 3; ok && i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--no-prediction") {
      noPrediction = true;
      --i; // a flag without a value
      continue;
    }
    ok = i + 1 < argc && (flag == "--big" || flag == "--mask");
    if (ok)
      (flag == "--big" ? big : maskPath) = argv[i + 1];
  }
  if (!ok) {
    std::cerr << "usage: tiny_model MODEL.h5 RAW.h5 [--big z,x,y] "
                 "[--mask MASK.h5] [--no-prediction]\n";
    return 2;
  }
  using namespace nm;
  set_log_level(LogLevel::Warning);
  set_seed(7);
  Node input = Input({1, 1, 5, 12, 12}, "b,f,z,x,y", {.name = "raw"});
  Node c1 = Conv(input, 3, {2, 3, 3}, {2, 2, 2}, {.name = "c1"});
  Node c2 = Conv(c1, 2, {1, 2, 2}, {1, 2, 2},
                 {.activation_func = "lin", .name = "c2"});
  Node p = Softmax(c2);
  DesignateOptions designate{.input_node = input};
  if (!noPrediction)
    designate.prediction_node = p;
  model_manager.getmodel().designate_nodes(designate);
  model_manager.getmodel().save(argv[1]);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(0, 1);
  Array raw({10, 40, 40}), stack({2, 10, 40, 40});
  for (int64_t i = 0; i < raw.size(); ++i)
    raw.data<float>()[i] = u(gen);
  for (int64_t i = 0; i < stack.size(); ++i)
    stack.data<float>()[i] = u(gen);
  nm::testing::writeH5(argv[2], "raw", raw);
  nm::testing::writeH5(argv[2], "stack", stack, true);
  if (!big.empty()) {
    nm::Sizes shape;
    for (size_t pos = 0; pos <= big.size();) {
      size_t comma = big.find(',', pos);
      shape.push_back(std::stoll(big.substr(pos, comma - pos)));
      pos = comma == std::string::npos ? big.size() + 1 : comma + 1;
    }
    writeBig(argv[2], shape);
  }
  if (!maskPath.empty())
    writeMasks(maskPath);
  return 0;
}
