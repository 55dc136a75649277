/* Runs a `--params-as-args` neuro3d: the parameters are read from the model
 * file through the header's NEURO3D_PREDICTION_PARAMETER_DATASETS (as a
 * user who swaps weights would), the function is called through its packed
 * entry point, and the probability map is written to HDF5.
 *
 *   params_as_args MODEL.h5 INPUT.h5 OUTPUT.h5 */
#include "neuro3d.h"

#include <hdf5.h>

#include <stdio.h>
#include <stdlib.h>

#define NUM_PARAMS NEURO3D_PREDICTION_NUM_PARAMETERS
#define NUM_ARGS (NEURO3D_PREDICTION_NUM_INPUTS + NUM_PARAMS + 1)

static const char *kDatasets[] = NEURO3D_PREDICTION_PARAMETER_DATASETS;
static const long long kSizes[] = NEURO3D_PREDICTION_PARAMETER_SIZES;
static const long long kOutputShape[] = NEURO3D_PREDICTION_OUTPUT0_SHAPE;

/* The float32 dataset `name` of `file` (of `size` elements), or NULL. */
static float *readDataset(hid_t file, const char *name, long long size) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) {
    fprintf(stderr, "no dataset %s\n", name);
    return NULL;
  }
  hid_t space = H5Dget_space(ds);
  float *data = NULL;
  if (H5Sget_simple_extent_npoints(space) != size) {
    fprintf(stderr, "dataset %s has %lld elements, expected %lld\n", name,
            (long long)H5Sget_simple_extent_npoints(space), size);
  } else {
    data = malloc(sizeof(float) * (size_t)size);
    if (data && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        data) < 0) {
      free(data);
      data = NULL;
    }
  }
  H5Sclose(space);
  H5Dclose(ds);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: params_as_args MODEL.h5 INPUT.h5 OUTPUT.h5\n");
    return 2;
  }
  void *pointers[NUM_ARGS];
  void *args[NUM_ARGS];
  hid_t model = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t input = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
  if (model < 0 || input < 0)
    return 1;
  pointers[0] = readDataset(input, "raw", NEURO3D_PREDICTION_INPUT0_SIZE);
  for (int i = 0; i < NUM_PARAMS; ++i)
    pointers[1 + i] = readDataset(model, kDatasets[i], kSizes[i]);
  pointers[NUM_ARGS - 1] =
      malloc(sizeof(float) * (size_t)NEURO3D_PREDICTION_OUTPUT0_SIZE);
  for (int i = 0; i < NUM_ARGS; ++i) {
    if (!pointers[i])
      return 1;
    args[i] = &pointers[i];
  }
  H5Fclose(input);
  H5Fclose(model);
  if (nm_runtime_check_cpu(NEURO3D_CPU_FEATURES) != NM_OK)
    return 1;
  neuro3d_prediction_packed(args);
  printf("params_as_args: %d parameters from %s\n", NUM_PARAMS, argv[1]);

  hsize_t dims[NEURO3D_PREDICTION_OUTPUT0_NDIM];
  for (int i = 0; i < NEURO3D_PREDICTION_OUTPUT0_NDIM; ++i)
    dims[i] = (hsize_t)kOutputShape[i];
  hid_t out = H5Fcreate(argv[3], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(NEURO3D_PREDICTION_OUTPUT0_NDIM, dims, NULL);
  hid_t ds = H5Dcreate2(out, "prediction", H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
  int failed = ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                                  H5P_DEFAULT, pointers[NUM_ARGS - 1]) < 0;
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(out);
  for (int i = 0; i < NUM_ARGS; ++i)
    free(pointers[i]);
  return failed;
}
