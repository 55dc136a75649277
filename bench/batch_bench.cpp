//===- batch_bench.cpp - training batches per second (BatchCreatorImage) --===//
//
// Batches/s of nm::BatchCreatorImage for examples/neuro3d.py's setting:
// patch (1,1,23,185,185), target strides (2,4,4) and fov (15,105,105) ->
// target (1,1,5,21,21) int16; warp 0.5 with sample_aniso and perspective,
// grey augment on channel 0, batch size 1; synchronously and with 1 and 2
// background worker threads. The cubes have neuro_data_zxy's layout and
// sizes: raw (250,350,350) uint8 and labels (150,150,150) int16, random
// content unless a directory with raw_{0,1,2}.h5 / barrier_int16_{0,1,2}.h5
// (the real set, or `neuromancer make-data`'s) is given; cube 2 validates.
//
// With --defects, also with every EM defect augmentation (elastic,
// misalignment, missing and motion-blurred sections) at probability 0.5, 1
// and 2 workers, to see what they cost.
//
// Usage: batch_bench [--batches N] [--data DIR] [--defects]
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"

#include <hdf5.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename T>
void write(const std::string &path, const std::string &key,
           const std::vector<hsize_t> &dims, const std::vector<T> &v,
           hid_t type) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t s = H5Screate_simple(3, dims.data(), nullptr);
  hid_t d = H5Dcreate2(f, key.c_str(), type, s, H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
  H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
}

std::string makeCubes() {
  std::string dir = "/tmp/nm_batch_benchXXXXXX";
  if (!mkdtemp(dir.data()))
    std::exit(1);
  std::mt19937 g(1);
  for (int k = 0; k < 3; ++k) {
    std::vector<uint8_t> raw(250 * 350 * 350);
    for (auto &v : raw)
      v = static_cast<uint8_t>(g());
    write(dir + "/raw_" + std::to_string(k) + ".h5", "raw", {250, 350, 350},
          raw, H5T_NATIVE_UINT8);
    std::vector<int16_t> lab(150 * 150 * 150);
    for (auto &v : lab)
      v = static_cast<int16_t>(g() % 4 == 0);
    write(dir + "/barrier_int16_" + std::to_string(k) + ".h5", "lab",
          {150, 150, 150}, lab, H5T_NATIVE_INT16);
  }
  return dir;
}

/// CPU seconds of the whole process (all threads): robust to other load.
double cpu() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

} // namespace

int main(int argc, char **argv) {
  int batches = 40;
  std::string dir;
  bool defects = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--defects")
      defects = true;
    else if (a == "--batches" && i + 1 < argc)
      batches = std::atoi(argv[++i]);
    else if (a == "--data" && i + 1 < argc)
      dir = argv[++i];
  }
  bool made = dir.empty();
  double t0 = now();
  if (made)
    dir = makeCubes();
  std::printf("cubes in %s (%s, %.1f s)\n", dir.c_str(),
              made ? "random, written now" : "given", now() - t0);

  nm::model_manager.newmodel();
  nm::Node in = nm::Input({1, 1, 23, 185, 185}, "b,f,z,x,y",
                          {.name = "raw", .print_repr = false});
  nm::Node target = nm::Input({1, 1, 5, 21, 21}, "b,f,z,x,y",
                              {.name = "target",
                               .dtype = "int16",
                               .strides = {2, 4, 4},
                               .fov = {15, 105, 105},
                               .print_repr = false});
  nm::BatchCreatorOptions o;
  o.d_path = o.l_path = dir;
  for (int k = 0; k < 3; ++k) {
    o.d_files.push_back({"raw_" + std::to_string(k) + ".h5", "raw"});
    o.l_files.push_back({"barrier_int16_" + std::to_string(k) + ".h5", "lab"});
  }
  o.valid_cubes = {2};
  o.seed = 1;
  t0 = now();
  double c0 = cpu();
  nm::BatchCreatorImage bc(in, target, o);
  std::printf("loading 3 cubes: %.2f s (cpu %.2f s)\n", now() - t0, cpu() - c0);

  nm::GetBatchOptions g{.batch_size = 1, .grey_augment_channels = {0}};
  g.warp = 0.5;
  g.warp_args.sample_aniso = true;
  g.warp_args.perspective = true;
  std::printf("hardware threads: %u\n", std::thread::hardware_concurrency());
  auto measure = [&](const char *what, const nm::GetBatchOptions &opt,
                     int workers) {
    bc.set_background(workers);
    for (int i = 0; i < 3; ++i) // warm-up (and the queue fills)
      bc.getbatch(opt);
    double t0 = now(), c0 = cpu();
    for (int i = 0; i < batches; ++i)
      bc.getbatch(opt);
    double dt = now() - t0, dc = cpu() - c0;
    std::printf("BATCHES %sworkers=%d: %.2f batches/s (%d batches, %.3f s "
                "each; cpu %.3f s per batch)\n",
                what, workers, batches / dt, batches, dt / batches,
                dc / batches);
  };
  for (int workers : {0, 1, 2})
    measure("", g, workers);
  if (defects) {
    nm::GetBatchOptions d = g;
    d.elastic_probability = d.misalignment_probability = 0.5;
    d.missing_section_probability = d.motion_blur_probability = 0.5;
    for (int workers : {1, 2})
      measure("defects ", d, workers);
  }
  std::printf("%s\n", bc.warp_stats().c_str());
  // h5stream: the same batches, each example's boxes read from disk (the
  // files are in the page cache here, so this measures HDF5's overhead).
  o.h5stream = true;
  nm::BatchCreatorImage disk(in, target, o);
  for (int workers : {0, 1}) {
    disk.set_background(workers);
    for (int i = 0; i < 3; ++i)
      disk.getbatch(g);
    t0 = now();
    double c0 = cpu();
    for (int i = 0; i < batches; ++i)
      disk.getbatch(g);
    double dt = now() - t0, dc = cpu() - c0;
    std::printf("BATCHES h5stream workers=%d: %.2f batches/s (%.3f s each; "
                "cpu %.3f s per batch)\n",
                workers, batches / dt, dt / batches, dc / batches);
  }
  if (made) {
    for (int k = 0; k < 3; ++k) {
      std::remove((dir + "/raw_" + std::to_string(k) + ".h5").c_str());
      std::remove(
          (dir + "/barrier_int16_" + std::to_string(k) + ".h5").c_str());
    }
    rmdir(dir.c_str());
  }
  return 0;
}
