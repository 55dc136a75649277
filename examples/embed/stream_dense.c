/*===- stream_dense.c - dense prediction of a whole volume in C ---------===*
 *
 * Streams an HDF5 volume of any size through the dense entry point of
 * `neuromancer compile --dense` (README "C embedding / AOT"), block by
 * block, and writes the dense probability map (labels, z, x, y) float32 to
 * HDF5: what `neuromancer predict RAW.h5 -o OUT.h5 --pad-raw` and
 * predict_dense(raw, {.pad_raw = true}) compute, without the compiler.
 *
 *   neuromancer compile neuro3d.h5 --dense --tile 8,32,32 -o build/neuro3d
 *   cc -std=c99 -Ibuild/neuro3d -I/usr/include/hdf5/serial \
 *       examples/embed/stream_dense.c build/neuro3d/neuro3d.o \
 *       -Lbuild/neuro3d -lneuromancer_runtime \
 *       -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -o stream_dense
 *   LD_LIBRARY_PATH=build/neuro3d ./stream_dense raw.h5 probabilities.h5
 *
 * usage: stream_dense RAW.h5 OUT.h5 [--input-dataset NAME]
 *                     [--output-dataset NAME] [--threads N]
 *
 * Another model: -DSTREAM_HEADER='"tiny.h"'
 * '-DSTREAM(x)=TINY_PREDICTION_DENSE_##x' -DSTREAM_ENTRY=tiny_prediction_dense.
 * An entry point compiled with --as-uint8: -DSTREAM_OUTPUT_UINT8 (the
 * output is then uint8, p * 255 truncated, straight from the entry point).
 *
 * The raw dataset (default "raw") is (z, x, y), float32 used as it is or
 * uint8 divided by 255 (ELEKTRONN2's normalisation); the model reads one
 * channel. The volume is mirrored by the offsets on each side (numpy's
 * 'symmetric'), so the output (default dataset "prediction") covers all of
 * it. Output blocks are the compiled tile; the last block of an axis is
 * moved back to end at the volume's edge and writes only the voxels no
 * earlier block wrote. Memory: one input box, the raw voxels it mirrors
 * from and one output tile; raw and output are read and written as
 * hyperslabs, never whole.
 *
 *===------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#ifndef STREAM_HEADER
#define STREAM_HEADER "neuro3d.h"
#define STREAM(x) NEURO3D_PREDICTION_DENSE_##x
#define STREAM_ENTRY neuro3d_prediction_dense
#endif
#include STREAM_HEADER

#include <hdf5.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if STREAM(SPATIAL_NDIM) != 3 || STREAM(NUM_CHANNELS) != 1
#error "stream_dense.c streams one-channel (z, x, y) volumes"
#endif

static const int64_t kTile[3] = STREAM(TILE);
static const int64_t kBox[3] = STREAM(INPUT_BOX);
static const int64_t kOffsets[3] = STREAM(OFFSETS);
static const int64_t kFov[3] = STREAM(FOV);
#define LABELS ((int64_t)STREAM(NUM_LABELS))

/* The entry point's output element: float32 probabilities, or uint8 for an
 * entry point compiled with --as-uint8. */
#ifdef STREAM_OUTPUT_UINT8
typedef uint8_t Out;
#define OUT_DTYPE "uint8"
#define OUT_FILE_TYPE H5T_STD_U8LE
#define OUT_MEM_TYPE H5T_NATIVE_UINT8
#else
typedef float Out;
#define OUT_DTYPE "float32"
#define OUT_FILE_TYPE H5T_IEEE_F32LE
#define OUT_MEM_TYPE H5T_NATIVE_FLOAT
#endif
#define STREAM_STRING2(x) #x
#define STREAM_STRING(x) STREAM_STRING2(x)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void printTriple(FILE *out, const char *what, const int64_t *v) {
  fprintf(out, "%s (%lld, %lld, %lld)", what, (long long)v[0], (long long)v[1],
          (long long)v[2]);
}

/* numpy's pad(mode='symmetric') index: mirrors at both edges, repeating the
 * edge voxel, folding again where the padding exceeds the axis. */
static int64_t mirrored(int64_t i, int64_t n) {
  int64_t period = 2 * n;
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - 1 - i;
}

typedef struct {
  hid_t file, dset, space;
  int64_t n[3];
  double scale; /* 1 for floats, 1/255 for uint8 */
} Raw;

static int openRaw(const char *path, const char *name, Raw *raw) {
  raw->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (raw->file < 0) {
    fprintf(stderr, "stream_dense: cannot open '%s'\n", path);
    return 1;
  }
  raw->dset = H5Dopen2(raw->file, name, H5P_DEFAULT);
  if (raw->dset < 0) {
    fprintf(stderr, "stream_dense: '%s' has no dataset '%s'\n", path, name);
    return 1;
  }
  raw->space = H5Dget_space(raw->dset);
  hsize_t dims[H5S_MAX_RANK];
  if (H5Sget_simple_extent_dims(raw->space, dims, NULL) != 3) {
    fprintf(stderr, "stream_dense: dataset '%s' is not (z, x, y)\n", name);
    return 1;
  }
  for (int a = 0; a < 3; ++a)
    raw->n[a] = (int64_t)dims[a];
  hid_t type = H5Dget_type(raw->dset);
  H5T_class_t cls = H5Tget_class(type);
  int uint8 = cls == H5T_INTEGER && H5Tget_size(type) == 1 &&
              H5Tget_sign(type) == H5T_SGN_NONE;
  H5Tclose(type);
  if (cls != H5T_FLOAT && !uint8) {
    fprintf(stderr, "stream_dense: dataset '%s' is neither float nor uint8\n",
            name);
    return 1;
  }
  raw->scale = uint8 ? 1.0 / 255 : 1.0;
  return 0;
}

static void closeRaw(Raw *raw) {
  if (raw->space >= 0)
    H5Sclose(raw->space);
  if (raw->dset >= 0)
    H5Dclose(raw->dset);
  if (raw->file >= 0)
    H5Fclose(raw->file);
}

/* The input box of the mirrored volume starting at `lo` (raw coordinates,
 * may lie outside): one hyperslab read of the raw voxels it mirrors from
 * into `scratch` (at most a box), then the mirror in memory. */
static int readBox(const Raw *raw, const int64_t lo[3], float *box,
                   float *scratch) {
  hsize_t start[3], count[3];
  for (int a = 0; a < 3; ++a) {
    int64_t mn = raw->n[a], mx = -1;
    for (int64_t k = 0; k < kBox[a]; ++k) {
      int64_t i = mirrored(lo[a] + k, raw->n[a]);
      mn = i < mn ? i : mn;
      mx = i > mx ? i : mx;
    }
    start[a] = (hsize_t)mn;
    count[a] = (hsize_t)(mx - mn + 1);
  }
  hid_t mem = H5Screate_simple(3, count, NULL);
  int failed = H5Sselect_hyperslab(raw->space, H5S_SELECT_SET, start, NULL,
                                   count, NULL) < 0 ||
               H5Dread(raw->dset, H5T_NATIVE_FLOAT, mem, raw->space,
                       H5P_DEFAULT, scratch) < 0;
  H5Sclose(mem);
  if (failed)
    return 1;
  float scale = (float)raw->scale;
  for (int64_t z = 0; z < kBox[0]; ++z) {
    int64_t sz = mirrored(lo[0] + z, raw->n[0]) - (int64_t)start[0];
    for (int64_t x = 0; x < kBox[1]; ++x) {
      int64_t sx = mirrored(lo[1] + x, raw->n[1]) - (int64_t)start[1];
      const float *row = scratch + (sz * (int64_t)count[1] + sx) * count[2];
      float *out = box + (z * kBox[1] + x) * kBox[2];
      for (int64_t y = 0; y < kBox[2]; ++y)
        out[y] =
            row[mirrored(lo[2] + y, raw->n[2]) - (int64_t)start[2]] * scale;
    }
  }
  return 0;
}

/* The (labels, z, x, y) output (float32 or uint8), chunked by tiles. */
static hid_t createOutput(hid_t file, const char *name, const int64_t n[3],
                          hid_t *space) {
  hsize_t dims[4] = {(hsize_t)LABELS, (hsize_t)n[0], (hsize_t)n[1],
                     (hsize_t)n[2]};
  hsize_t chunk[4] = {1, 1, 1, 1};
  for (int a = 0; a < 3; ++a)
    chunk[a + 1] = (hsize_t)(kTile[a] < n[a] ? kTile[a] : n[a]);
  *space = H5Screate_simple(4, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 4, chunk);
  hid_t dset = H5Dcreate2(file, name, OUT_FILE_TYPE, *space, H5P_DEFAULT, dcpl,
                          H5P_DEFAULT);
  H5Pclose(dcpl);
  return dset;
}

/* Writes the voxels [skip, skip + count) of the tile `prob` (labels, tile)
 * to the output at `at`. */
static int writeBlock(hid_t dset, hid_t space, const Out *prob,
                      const int64_t skip[3], const int64_t count[3],
                      const int64_t at[3]) {
  hsize_t tile[4] = {(hsize_t)LABELS, (hsize_t)kTile[0], (hsize_t)kTile[1],
                     (hsize_t)kTile[2]};
  hsize_t memStart[4] = {0, (hsize_t)skip[0], (hsize_t)skip[1],
                         (hsize_t)skip[2]};
  hsize_t fileStart[4] = {0, (hsize_t)at[0], (hsize_t)at[1], (hsize_t)at[2]};
  hsize_t n[4] = {(hsize_t)LABELS, (hsize_t)count[0], (hsize_t)count[1],
                  (hsize_t)count[2]};
  hid_t mem = H5Screate_simple(4, tile, NULL);
  int failed =
      H5Sselect_hyperslab(mem, H5S_SELECT_SET, memStart, NULL, n, NULL) < 0 ||
      H5Sselect_hyperslab(space, H5S_SELECT_SET, fileStart, NULL, n, NULL) <
          0 ||
      H5Dwrite(dset, OUT_MEM_TYPE, mem, space, H5P_DEFAULT, prob) < 0;
  H5Sclose(mem);
  return failed;
}

/* Every block: read its input box, predict, write the voxels it owns. */
static int stream(const Raw *raw, hid_t dset, hid_t space, long long *calls) {
  size_t boxSize = (size_t)(kBox[0] * kBox[1] * kBox[2]);
  float *box = malloc(sizeof(float) * boxSize);
  float *scratch = malloc(sizeof(float) * boxSize);
  Out *prob = malloc(sizeof(Out) * (size_t)STREAM(OUTPUT0_SIZE));
  int failed = !box || !scratch || !prob;
  int64_t b[3], lo[3], skip[3], count[3], in[3];
  for (b[0] = 0; !failed && b[0] < raw->n[0]; b[0] += kTile[0])
    for (b[1] = 0; !failed && b[1] < raw->n[1]; b[1] += kTile[1])
      for (b[2] = 0; !failed && b[2] < raw->n[2]; b[2] += kTile[2]) {
        for (int a = 0; a < 3; ++a) {
          /* The last block ends at the edge (starts before 0 when the
           * volume is smaller than a tile: the mirror covers it). */
          lo[a] = b[a] + kTile[a] <= raw->n[a] ? b[a] : raw->n[a] - kTile[a];
          skip[a] = b[a] - lo[a];
          count[a] =
              (b[a] + kTile[a] <= raw->n[a] ? kTile[a] : raw->n[a] - b[a]);
          in[a] = lo[a] - kOffsets[a];
        }
        if (readBox(raw, in, box, scratch)) {
          fprintf(stderr, "stream_dense: cannot read the raw volume\n");
          failed = 1;
          break;
        }
        int status = STREAM_ENTRY(box, prob);
        if (status != NM_OK) {
          fprintf(stderr, "stream_dense: %s failed: %s\n",
                  STREAM_STRING(STREAM_ENTRY), nm_status_string(status));
          failed = 1;
          break;
        }
        ++*calls;
        if (writeBlock(dset, space, prob, skip, count, b)) {
          fprintf(stderr, "stream_dense: cannot write the output\n");
          failed = 1;
        }
      }
  free(box);
  free(scratch);
  free(prob);
  return failed;
}

static int predict(const char *rawPath, const char *rawName,
                   const char *outPath, const char *outName) {
  Raw raw = {-1, -1, -1, {0, 0, 0}, 1.0};
  if (openRaw(rawPath, rawName, &raw)) {
    closeRaw(&raw);
    return 1;
  }
  hid_t file = H5Fcreate(outPath, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = -1;
  hid_t dset = file < 0 ? -1 : createOutput(file, outName, raw.n, &space);
  long long calls = 0;
  double start = now();
  int failed = dset < 0;
  if (failed)
    fprintf(stderr, "stream_dense: cannot create '%s' in '%s'\n", outName,
            outPath);
  else
    failed = stream(&raw, dset, space, &calls);
  if (dset >= 0)
    H5Dclose(dset);
  if (space >= 0)
    H5Sclose(space);
  if (file >= 0 && H5Fclose(file) < 0)
    failed = 1;
  closeRaw(&raw);
  if (!failed) {
    printf("stream_dense: %lld blocks of", calls);
    printTriple(stdout, "", kTile);
    printTriple(stdout, " over", raw.n);
    printf(" in %.3f s on %d thread(s)\n", now() - start,
           nm_runtime_get_num_threads());
  }
  return failed;
}

int main(int argc, char **argv) {
  const char *inputDataset = "raw", *outputDataset = "prediction";
  const char *paths[2] = {NULL, NULL};
  int npaths = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--input-dataset") && i + 1 < argc)
      inputDataset = argv[++i];
    else if (!strcmp(argv[i], "--output-dataset") && i + 1 < argc)
      outputDataset = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      nm_runtime_set_num_threads(atoi(argv[++i]));
    else if (argv[i][0] != '-' && npaths < 2)
      paths[npaths++] = argv[i];
    else
      npaths = 3;
  }
  if (npaths != 2) {
    fprintf(stderr, "usage: stream_dense RAW.h5 OUT.h5 [--input-dataset NAME] "
                    "[--output-dataset NAME] [--threads N]\n");
    return 2;
  }
  if (strcmp(STREAM(INPUT0_AXES), "b,f,z,x,y") ||
      strcmp(STREAM(OUTPUT0_AXES), "b,f,z,x,y") ||
      strcmp(STREAM(INPUT0_DTYPE), "float32") ||
      strcmp(STREAM(OUTPUT0_DTYPE), OUT_DTYPE)) {
    fprintf(stderr,
            "stream_dense: the entry point does not map float32 "
            "(b,f,z,x,y) to " OUT_DTYPE " (b,f,z,x,y)%s\n",
            strcmp(STREAM(OUTPUT0_DTYPE), "uint8")
                ? ""
                : "; build with -DSTREAM_OUTPUT_UINT8 for --as-uint8");
    return 1;
  }
  printTriple(stdout, "stream_dense: fov", kFov);
  printTriple(stdout, ", offsets", kOffsets);
  printTriple(stdout, ", tile", kTile);
  printTriple(stdout, ", input box", kBox);
  printf(", %lld labels\n", (long long)LABELS);
  return predict(paths[0], inputDataset, paths[1], outputDataset);
}
