/*
 * Per-call latency of metadata operations, for bench/fuse/run.ts. Times every call with CLOCK_MONOTONIC and prints
 * "median_us min_us" so that the (JS) harness adds nothing to what is measured.
 *
 *   latency fstat FILE N    fstat() on an open fd: one GETATTR per call when the attribute TTL is 0
 *   latency open FILE N     open(O_RDONLY) + close()
 *   latency stat PATH N     stat() of a path
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s fstat|open|stat PATH N\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1], *path = argv[2];
  int n = atoi(argv[3]);
  double *t = malloc(sizeof(double) * n);
  struct stat st;
  int fd = open(path, O_RDONLY);
  if (fd < 0) { perror(path); return 1; }
  for (int i = 0; i < n; i++) {
    double t0 = now_us();
    if (!strcmp(mode, "fstat")) {
      if (fstat(fd, &st) < 0) { perror("fstat"); return 1; }
    } else if (!strcmp(mode, "open")) {
      int f = open(path, O_RDONLY);
      if (f < 0) { perror("open"); return 1; }
      close(f);
    } else if (!strcmp(mode, "stat")) {
      if (stat(path, &st) < 0) { perror("stat"); return 1; }
    } else {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
    t[i] = now_us() - t0;
  }
  qsort(t, n, sizeof(double), cmp);
  printf("%.2f %.2f\n", t[n / 2], t[0]);
  return 0;
}
