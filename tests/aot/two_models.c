/* Two AOT objects of one model in one C program: neuro3d.o (prediction)
 * and neuro3d_train.o (prediction_ext and loss, several entry points in one
 * object). Their symbols must not clash, and both predictions must agree.
 * Checks the status codes (NULL pointer) too. Exit 0 on success. */
#include "neuro3d.h"
#include "neuro3d_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define IN_SIZE NEURO3D_PREDICTION_INPUT0_SIZE
#define OUT_SIZE NEURO3D_PREDICTION_OUTPUT0_SIZE

int main(void) {
  float *raw = malloc(sizeof(float) * IN_SIZE);
  float *target = malloc(sizeof(float) * NEURO3D_TRAIN_LOSS_INPUT1_SIZE);
  float *probs = malloc(sizeof(float) * OUT_SIZE);
  float *probsExt =
      malloc(sizeof(float) * NEURO3D_TRAIN_PREDICTION_EXT_OUTPUT2_SIZE);
  float lossExt = -1, errors = -1, loss = -2;
  int failures = 0;
  if (!raw || !target || !probs || !probsExt)
    return 1;
  for (long i = 0; i < IN_SIZE; ++i)
    raw[i] = (float)((i * 7919) % 1000) / 1000.0f;
  for (long i = 0; i < NEURO3D_TRAIN_LOSS_INPUT1_SIZE; ++i)
    target[i] = (float)(i % 2);

  if (NEURO3D_TRAIN_PREDICTION_EXT_OUTPUT2_SIZE != OUT_SIZE ||
      NEURO3D_TRAIN_LOSS_OUTPUT0_SIZE != 1) {
    fprintf(stderr, "unexpected sizes\n");
    return 1;
  }
  /* The runtime's C API. */
  if (nm_runtime_check_cpu(NEURO3D_CPU_FEATURES) != NM_OK ||
      nm_runtime_check_cpu("") != NM_OK ||
      nm_runtime_check_cpu("no-such-feature,avx") != NM_OK ||
      nm_runtime_api_version() != NM_RUNTIME_API_VERSION ||
      nm_runtime_get_num_threads() < 1 ||
      nm_status_string(NM_ERROR_UNSUPPORTED_CPU)[0] == 0) {
    fprintf(stderr, "runtime C API: unexpected answers\n");
    ++failures;
  }
  nm_runtime_set_num_threads(1);
  if (nm_runtime_get_num_threads() != 1) {
    fprintf(stderr, "nm_runtime_set_num_threads(1) did not take\n");
    ++failures;
  }
  nm_runtime_set_num_threads(0);
  printf("%s, %d thread(s)\n", nm_runtime_version(),
         nm_runtime_get_num_threads());
  if (neuro3d_prediction(raw, NULL) != NM_ERROR_NULL_POINTER) {
    fprintf(stderr, "a NULL output was not reported\n");
    ++failures;
  }
  if (neuro3d_prediction(raw, probs) != NM_OK ||
      neuro3d_train_prediction_ext(raw, target, &lossExt, &errors, probsExt) !=
          NM_OK ||
      neuro3d_train_loss(raw, target, &loss) != NM_OK) {
    fprintf(stderr, "a call failed\n");
    return 1;
  }
  double maxDiff = 0, sum = 0;
  for (long i = 0; i < OUT_SIZE; ++i) {
    double d = fabs((double)probs[i] - (double)probsExt[i]);
    if (!(d <= maxDiff))
      maxDiff = d;
    sum += probs[i];
  }
  printf("two objects: max |prediction - prediction_ext| = %g, loss %g "
         "(prediction_ext) %g (loss), errors %g, sum of probabilities %g\n",
         maxDiff, lossExt, loss, errors, sum);
  if (maxDiff > 1e-6 || fabs(lossExt - loss) > 1e-5 || !(loss > 0) ||
      fabs(sum * 2 / OUT_SIZE - 1) > 1e-4) {
    fprintf(stderr, "results disagree\n");
    ++failures;
  }
  free(raw);
  free(target);
  free(probs);
  free(probsExt);
  return failures != 0;
}
