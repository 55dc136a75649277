//===- AotHelper.cpp - the JIT side of the AOT tests ----------------------===//
//
//   aot_helper input   OUT.h5 SHAPE SEED      random [0, 1) float32 "raw"
//   aot_helper jit     MODEL.h5 IN.h5 OUT.h5 [--patch Z,X,Y]
//                      loads the model (rebuilt for the patch size), runs
//                      model.predict on "raw" through the JIT and the
//                      compile cache, writes "prediction"
//   aot_helper dense   MODEL.h5 IN.h5 OUT.h5 [uint8]
//                                             predict_dense of the (z, x, y)
//                                             "raw" with pad_raw (and
//                                             as_uint8), writes "prediction"
//                                             (labels, z, x, y)
//   aot_helper flat    MODEL.h5               saves a small model with
//                                             stride 1 (no pooling), fov
//                                             (3, 5, 5)
//   aot_helper geometry MODEL.h5              "fov {3, 8, 8}", "offsets ...",
//                                             "labels N" of the prediction
//                                             node, as the header writes them
//   aot_helper compare A.h5 B.h5 TOL [relative]
//                                             max |A - B| of "prediction"
//                                             (over max |A| if relative);
//                                             exit 1 above TOL
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<int64_t> parseSizes(const std::string &text) {
  std::vector<int64_t> sizes;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    sizes.push_back(std::stoll(item));
  return sizes;
}

void fail(const std::string &message) {
  std::fprintf(stderr, "aot_helper: %s\n", message.c_str());
  std::exit(1);
}

nm::Array readArray(const std::string &path, const char *name) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    fail("cannot open " + path);
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0)
    fail(path + " has no dataset " + name);
  hid_t space = H5Dget_space(ds);
  hsize_t dims[H5S_MAX_RANK];
  int n = H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<int64_t> shape(dims, dims + n);
  nm::Array a(shape, nm::DType::Float32);
  if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.raw()) < 0)
    fail("cannot read " + path);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  return a;
}

void writeArray(const std::string &path, const char *name, const nm::Array &a) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    fail("cannot create " + path);
  std::vector<hsize_t> dims(a.shape().begin(), a.shape().end());
  hid_t space =
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(file, name, H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
  nm::Array f = a.astype(nm::DType::Float32);
  if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         f.raw()) < 0)
    fail("cannot write " + path);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(file);
}

int input(int argc, char **argv) {
  if (argc != 5)
    fail("input OUT.h5 SHAPE SEED");
  nm::Array a(parseSizes(argv[3]), nm::DType::Float32);
  std::mt19937 gen(static_cast<unsigned>(std::atoi(argv[4])));
  std::uniform_real_distribution<float> uniform(0, 1);
  float *p = a.data<float>();
  for (int64_t i = 0; i < a.size(); ++i)
    p[i] = uniform(gen);
  writeArray(argv[2], "raw", a);
  return 0;
}

int jit(int argc, char **argv) {
  if (argc != 5 && argc != 7)
    fail("jit MODEL.h5 IN.h5 OUT.h5 [--patch Z,X,Y]");
  nm::set_log_level(nm::LogLevel::Warning);
  nm::Model *model = &nm::modelload(argv[2]);
  if (argc == 7)
    model =
        &nm::rebuild_model(*model, {.imposed_patch_size = parseSizes(argv[6])});
  nm::Array x = readArray(argv[3], "raw");
  nm::Array y = model->predict({x});
  writeArray(argv[4], "prediction", y);
  std::printf("jit: prediction %s\n", y.shapeString().c_str());
  return 0;
}

int dense(int argc, char **argv) {
  bool asUint8 = argc == 6 && std::string(argv[5]) == "uint8";
  if (argc != 5 && !asUint8)
    fail("dense MODEL.h5 IN.h5 OUT.h5 [uint8]");
  nm::set_log_level(nm::LogLevel::Warning);
  nm::Model &model = nm::modelload(argv[2]);
  nm::Array zxy = readArray(argv[3], "raw");
  nm::Sizes shape = {1};
  shape.insert(shape.end(), zxy.shape().begin(), zxy.shape().end());
  nm::Array raw(shape, nm::DType::Float32);
  std::memcpy(raw.raw(), zxy.raw(), zxy.nbytes());
  nm::Array y =
      model.predict_dense(raw, {.as_uint8 = asUint8, .pad_raw = true});
  writeArray(argv[4], "prediction", y);
  std::printf("predict_dense: prediction %s\n", y.shapeString().c_str());
  return 0;
}

int flat(int argc, char **argv) {
  if (argc != 3)
    fail("flat MODEL.h5");
  using namespace nm;
  set_log_level(LogLevel::Warning);
  set_seed(3);
  Node input = Input({1, 1, 6, 9, 9}, "b,f,z,x,y", {.name = "raw"});
  Node c1 = Conv(input, 3, {2, 3, 3}, {1, 1, 1}, {.name = "c1"});
  Node c2 = Conv(c1, 2, {2, 3, 3}, {1, 1, 1},
                 {.activation_func = "lin", .name = "c2"});
  Node p = Softmax(c2);
  model_manager.getmodel().designate_nodes(
      {.input_node = input, .prediction_node = p});
  model_manager.getmodel().save(argv[2]);
  return 0;
}

std::string initializer(const nm::Sizes &v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "}";
}

int geometry(int argc, char **argv) {
  if (argc != 3)
    fail("geometry MODEL.h5");
  nm::set_log_level(nm::LogLevel::Warning);
  const nm::TaggedShape &s = nm::modelload(argv[2]).prediction_node().shape();
  std::printf("fov %s\noffsets %s\nlabels %lld\n", initializer(s.fov()).c_str(),
              initializer(s.offsets()).c_str(), static_cast<long long>(s['f']));
  return 0;
}

int compare(int argc, char **argv) {
  if (argc != 5 && !(argc == 6 && std::string(argv[5]) == "relative"))
    fail("compare A.h5 B.h5 TOL [relative]");
  nm::Array a = readArray(argv[2], "prediction");
  nm::Array b = readArray(argv[3], "prediction");
  double tol = std::atof(argv[4]);
  if (a.shape() != b.shape())
    fail("shapes differ: " + a.shapeString() + " vs " + b.shapeString());
  double maxDiff = 0;
  const float *pa = a.data<float>(), *pb = b.data<float>();
  for (int64_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(double(pa[i]) - double(pb[i]));
    if (!(d <= maxDiff)) // NaN counts as a difference
      maxDiff = std::isnan(d) ? INFINITY : d;
  }
  if (argc == 6) {
    double scale = 0;
    for (int64_t i = 0; i < a.size(); ++i)
      scale = std::max(scale, std::fabs(double(pa[i])));
    if (scale == 0)
      fail("A is all zeros; a relative difference means nothing");
    maxDiff /= scale;
  }
  std::printf("max %s diff %.3g over %lld values %s (tolerance %g)\n",
              argc == 6 ? "relative" : "abs", maxDiff,
              static_cast<long long>(a.size()), a.shapeString().c_str(), tol);
  return maxDiff <= tol ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "input")
      return input(argc, argv);
    if (cmd == "jit")
      return jit(argc, argv);
    if (cmd == "dense")
      return dense(argc, argv);
    if (cmd == "flat")
      return flat(argc, argv);
    if (cmd == "geometry")
      return geometry(argc, argv);
    if (cmd == "compare")
      return compare(argc, argv);
    fail("usage: aot_helper input|jit|dense|flat|geometry|compare ...");
  } catch (const nm::Error &e) {
    fail(e.what());
  }
  return 1;
}
