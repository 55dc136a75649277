/* An AOT entry point when memory runs out: NM_ERROR_OUT_OF_MEMORY, never a
 * crash, and the next call works.
 *   1. NEUROMANCER_MAX_TEMP_BYTES below the model's intermediate buffers:
 *      refused before it runs; lifted: NM_OK.
 *   2. The address space capped (setrlimit RLIMIT_AS) a little above what
 *      is mapped, under a limit of 1T: an allocation fails inside the
 *      compiled code; every cap gives NM_OK or NM_ERROR_OUT_OF_MEMORY (1 MB
 *      above the mapped size the latter), on one thread and on four;
 *      afterwards the entry point works again.
 * Exit 0 on success. */
#define _POSIX_C_SOURCE 200809L /* setenv, sysconf */

#include "neuro3d.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define IN_SIZE NEURO3D_PREDICTION_INPUT0_SIZE
#define OUT_SIZE NEURO3D_PREDICTION_OUTPUT0_SIZE

static long long virtualSize(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long long pages = 0;
  if (!f || fscanf(f, "%lld", &pages) != 1)
    pages = 0;
  if (f)
    fclose(f);
  return pages * sysconf(_SC_PAGE_SIZE);
}

static void capAddressSpace(long long bytes) {
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = bytes < 0 ? limit.rlim_max : (rlim_t)bytes;
  setrlimit(RLIMIT_AS, &limit);
}

int main(void) {
  /* Large blocks straight from mmap and back on free, and one arena: glibc
   * would otherwise serve them from memory it already holds (its heap, the
   * 64 MB reservations of thread arenas), inside the cap, so a capped call
   * has to map its buffers anew. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 1);
  float *raw = malloc(sizeof(float) * IN_SIZE);
  float *probs = malloc(sizeof(float) * OUT_SIZE);
  int failures = 0, refusedByCap = 0;
  if (!raw || !probs)
    return 1;
  for (long i = 0; i < IN_SIZE; ++i)
    raw[i] = (float)(i % 100) / 100.0f;
  if (strcmp(nm_status_string(NM_ERROR_OUT_OF_MEMORY), "out of memory")) {
    fprintf(stderr, "nm_status_string(NM_ERROR_OUT_OF_MEMORY) = '%s'\n",
            nm_status_string(NM_ERROR_OUT_OF_MEMORY));
    ++failures;
  }

  setenv("NEUROMANCER_MAX_TEMP_BYTES", "64K", 1);
  int status = neuro3d_prediction(raw, probs);
  if (status != NM_ERROR_OUT_OF_MEMORY) {
    fprintf(stderr, "under a 64K limit: status %d (%s)\n", status,
            nm_status_string(status));
    ++failures;
  }
  unsetenv("NEUROMANCER_MAX_TEMP_BYTES");
  status = neuro3d_prediction(raw, probs);
  if (status != NM_OK) {
    fprintf(stderr, "without a limit: status %d\n", status);
    ++failures;
  }

  setenv("NEUROMANCER_MAX_TEMP_BYTES", "1T", 1);
  for (int threads = 1; threads <= 4; threads += 3) {
    nm_runtime_set_num_threads(threads);
    nm_runtime_release_memory(); /* no cached blocks to reuse */
    for (long long headroom = 1 << 20; headroom <= (1ll << 30); headroom *= 4) {
      capAddressSpace(virtualSize() + headroom);
      status = neuro3d_prediction(raw, probs);
      capAddressSpace(-1);
      nm_runtime_release_memory();
      printf("%d thread(s), address space capped %4lld MB above its size: "
             "%s\n",
             threads, headroom >> 20, nm_status_string(status));
      if (status == NM_ERROR_OUT_OF_MEMORY)
        ++refusedByCap;
      else if (headroom == 1 << 20) {
        fprintf(stderr, "%d thread(s), 1 MB headroom: not out of memory\n",
                threads);
        ++failures;
      } else if (status != NM_OK) {
        fprintf(stderr, "%d thread(s), %lld MB headroom: status %d\n", threads,
                headroom >> 20, status);
        ++failures;
      }
    }
  }
  if (refusedByCap == 0) {
    fprintf(stderr, "no call ran out of memory under a capped address "
                    "space\n");
    ++failures;
  }
  unsetenv("NEUROMANCER_MAX_TEMP_BYTES");
  status = neuro3d_prediction(raw, probs);
  if (status != NM_OK) {
    fprintf(stderr, "after the failures: status %d\n", status);
    ++failures;
  }
  printf("out_of_memory: %d call(s) out of memory under a capped address "
         "space\n",
         refusedByCap);
  free(raw);
  free(probs);
  return failures ? 1 : 0;
}
