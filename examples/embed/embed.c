/*===- embed.c - a C program that runs an AOT-compiled neuro3d ----------===*
 *
 * Reads an input volume from HDF5, runs the ahead-of-time compiled
 * prediction of neuro3d (`neuromancer compile`, see README "C embedding /
 * AOT"), writes the probability map to HDF5. Plain C99: no MLIR, no LLVM,
 * no C++; it links the compiled object, libneuromancer_runtime and libhdf5.
 *
 *   neuromancer compile neuro3d.h5 --function prediction \
 *       --input-shape 1,1,23,185,185 -o build/neuro3d
 *   cc -std=c99 -Ibuild/neuro3d -I/usr/include/hdf5/serial \
 *       examples/embed/embed.c build/neuro3d/neuro3d.o \
 *       -Lbuild/neuro3d -lneuromancer_runtime \
 *       -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -o embed
 *   LD_LIBRARY_PATH=build/neuro3d ./embed input.h5 probabilities.h5
 *
 * usage: embed INPUT.h5 OUTPUT.h5 [--input-dataset NAME]
 *              [--output-dataset NAME] [--threads N]
 *
 * The input dataset (default "raw") must hold the compiled input shape
 * (NEURO3D_PREDICTION_INPUT0_SHAPE) up to leading axes of size 1, e.g. a
 * (23, 185, 185) volume for a (1, 1, 23, 185, 185) input; it is read as
 * float32. The output dataset (default "prediction") gets the output shape
 * and an attribute "axes" with the output's axis tags.
 *
 *===------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include "neuro3d.h"

#include <hdf5.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int64_t kInputShape[] = NEURO3D_PREDICTION_INPUT0_SHAPE;
static const int64_t kOutputShape[] = NEURO3D_PREDICTION_OUTPUT0_SHAPE;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Shapes equal after dropping leading 1s. */
static int sameShape(const hsize_t *dims, int ndims, const int64_t *shape,
                     int nshape) {
  while (ndims > 0 && dims[0] == 1 && ndims > nshape) {
    ++dims;
    --ndims;
  }
  while (nshape > 0 && shape[0] == 1 && nshape > ndims) {
    ++shape;
    --nshape;
  }
  if (ndims != nshape)
    return 0;
  for (int i = 0; i < ndims; ++i)
    if ((int64_t)dims[i] != shape[i])
      return 0;
  return 1;
}

static void printShape(FILE *out, const int64_t *shape, int n) {
  fputc('(', out);
  for (int i = 0; i < n; ++i)
    fprintf(out, "%s%lld", i ? ", " : "", (long long)shape[i]);
  fputc(')', out);
}

static float *readInput(const char *path, const char *dataset) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    fprintf(stderr, "embed: cannot open '%s'\n", path);
    return NULL;
  }
  float *data = NULL;
  hid_t dset = H5Dopen2(file, dataset, H5P_DEFAULT);
  if (dset < 0) {
    fprintf(stderr, "embed: '%s' has no dataset '%s'\n", path, dataset);
    H5Fclose(file);
    return NULL;
  }
  hid_t space = H5Dget_space(dset);
  hsize_t dims[H5S_MAX_RANK];
  int ndims = H5Sget_simple_extent_dims(space, dims, NULL);
  if (ndims < 0 ||
      !sameShape(dims, ndims, kInputShape, NEURO3D_PREDICTION_INPUT0_NDIM)) {
    fprintf(stderr, "embed: dataset '%s' has shape (", dataset);
    for (int i = 0; i < ndims; ++i)
      fprintf(stderr, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    fprintf(stderr, "), the compiled model takes ");
    printShape(stderr, kInputShape, NEURO3D_PREDICTION_INPUT0_NDIM);
    fprintf(stderr, " (recompile with --input-shape)\n");
  } else {
    data = malloc(sizeof(float) * (size_t)NEURO3D_PREDICTION_INPUT0_SIZE);
    if (data && H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        data) < 0) {
      fprintf(stderr, "embed: cannot read dataset '%s'\n", dataset);
      free(data);
      data = NULL;
    }
  }
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  return data;
}

static int writeOutput(const char *path, const char *dataset,
                       const float *data) {
  hsize_t dims[NEURO3D_PREDICTION_OUTPUT0_NDIM > 0
                   ? NEURO3D_PREDICTION_OUTPUT0_NDIM
                   : 1];
  int ndims = NEURO3D_PREDICTION_OUTPUT0_NDIM;
  for (int i = 0; i < ndims; ++i)
    dims[i] = (hsize_t)kOutputShape[i];
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) {
    fprintf(stderr, "embed: cannot create '%s'\n", path);
    return 1;
  }
  hid_t space =
      ndims ? H5Screate_simple(ndims, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t dset = H5Dcreate2(file, dataset, H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT);
  int failed = dset < 0 || H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                                    H5P_DEFAULT, data) < 0;
  if (!failed) {
    const char *axes = NEURO3D_PREDICTION_OUTPUT0_AXES;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(axes) + 1);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attr =
        H5Acreate2(dset, "axes", type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    failed = attr < 0 || H5Awrite(attr, type, axes) < 0;
    if (attr >= 0)
      H5Aclose(attr);
    H5Sclose(scalar);
    H5Tclose(type);
  }
  if (dset >= 0)
    H5Dclose(dset);
  H5Sclose(space);
  if (H5Fclose(file) < 0)
    failed = 1;
  if (failed)
    fprintf(stderr, "embed: cannot write dataset '%s' of '%s'\n", dataset,
            path);
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
    fprintf(stderr, "usage: embed INPUT.h5 OUTPUT.h5 [--input-dataset NAME] "
                    "[--output-dataset NAME] [--threads N]\n");
    return 2;
  }

  float *input = readInput(paths[0], inputDataset);
  float *output =
      malloc(sizeof(float) * (size_t)NEURO3D_PREDICTION_OUTPUT0_SIZE);
  if (!input || !output) {
    free(input);
    free(output);
    return 1;
  }
  double start = now();
  int status = neuro3d_prediction(input, output);
  double seconds = now() - start;
  if (status != NM_OK) {
    fprintf(stderr, "embed: neuro3d_prediction failed: %s\n",
            nm_status_string(status));
    free(input);
    free(output);
    return 1;
  }
  printf("neuro3d_prediction: input ");
  printShape(stdout, kInputShape, NEURO3D_PREDICTION_INPUT0_NDIM);
  printf(" -> output ");
  printShape(stdout, kOutputShape, NEURO3D_PREDICTION_OUTPUT0_NDIM);
  printf(" in %.3f s on %d thread(s)\n", seconds, nm_runtime_get_num_threads());
  int failed = writeOutput(paths[1], outputDataset, output);
  free(input);
  free(output);
  return failed;
}
