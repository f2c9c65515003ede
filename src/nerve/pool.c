/*
** pool.c - the context's persistent worker threads. A parallel region is
** a task split into NERVE_PARTS fixed parts; the caller and the workers
** claim parts from a counter until none is left. Which part computes what
** never depends on the thread count or on who claims it, so results are
** bitwise identical for any count. A worker the scheduler has not run yet
** (a loaded machine) costs nothing: the caller takes its part instead.
**
** Workers spin a little after each region (training steps come back to
** back, and waking a sleeping thread costs tens of microseconds), then
** sleep on a condition variable, so an idle pool costs no CPU.
*/
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

/* Pause instructions (about 25 ns each on Zen 4) a worker spins before it
** sleeps: some 100 us, longer than the serial gaps of a training step (the
** loss, the optimizer's small layers), whose wake-ups cost a step about 4%
** at batch 256 on two threads with 512; short enough that an idle pool
** soon costs no CPU. The caller never waits for a sleeping worker: it
** claims the parts itself. */
#define SPIN 4096
/* Pauses the caller waits for a worker inside its part before yielding
** the core to it (it may have been preempted). */
#define WAIT 512

struct nerve_pool {
  int nthreads; /* workers + the caller */
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint gen;  /* bumped to start a region */
  atomic_int next;  /* the next part to claim */
  atomic_int done;  /* parts finished in the current region */
  atomic_int quit;
  nerve_task fn;
  void *arg;
  int parts;
};

typedef struct worker_arg {
  nerve_pool *p;
  int t;
} worker_arg;

/* Claims and runs parts until none is left. parts is NERVE_PARTS in every
** region, so a late claim from a region already over (counter past the
** end, or reset for the next region) is either refused or valid. */
static void run_share(nerve_pool *p) {
  for (;;) {
    int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_acq_rel);
    if (i >= NERVE_PARTS) return;
    p->fn(p->arg, i);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
  }
}

static void *worker(void *u) {
  worker_arg *wa = u;
  nerve_pool *p = wa->p;
  unsigned seen = 0;
  for (;;) {
    unsigned g = seen;
    for (int i = 0; i < SPIN; i++) {
      g = atomic_load_explicit(&p->gen, memory_order_acquire);
      if (g != seen || atomic_load_explicit(&p->quit, memory_order_relaxed))
        break;
      RELAX();
    }
    if (g == seen) {
      pthread_mutex_lock(&p->mu);
      while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->quit))
        pthread_cond_wait(&p->cv, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = g;
    run_share(p);
  }
}

void nerve__pool_run(nerve_ctx *ctx, int parts, nerve_task fn, void *arg) {
  nerve_pool *p = ctx->pool;
  if (!p || parts != NERVE_PARTS) {
    for (int i = 0; i < parts; i++) fn(arg, i);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  p->parts = parts;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_store_explicit(&p->next, 0, memory_order_release);
  /* the mutex orders the fields above before the new generation for a
  ** worker that sleeps; a spinning one sees them through gen's release */
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  run_share(p);
  for (unsigned i = 0;
       atomic_load_explicit(&p->done, memory_order_acquire) < parts; i++) {
    /* a worker was preempted inside its part: give the core back to it */
    if (i >= WAIT) sched_yield();
    else RELAX();
  }
}

static void pool_free(nerve_ctx *ctx, nerve_pool *p, int started) {
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < started; i++) pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  nerve_free(ctx, p);
}

void nerve__pool_free(nerve_ctx *ctx) {
  if (ctx->pool) pool_free(ctx, ctx->pool, ctx->pool->nthreads - 1);
  ctx->pool = NULL;
}

/* A pool of n threads in one block: the struct, the thread ids, the
** workers' arguments. More threads than parts would only ever wait. */
nerve_status nerve__pool_new(nerve_ctx *ctx, int n) {
  if (n > NERVE_PARTS) n = NERVE_PARTS;
  if (n < 2) return NERVE_OK;
  size_t w = (size_t)n - 1;
  nerve_pool *p = nerve_malloc(ctx, sizeof *p + w * (sizeof(pthread_t) +
                                                       sizeof(worker_arg)));
  if (!p) return NERVE_ENOMEM;
  memset(p, 0, sizeof *p);
  p->nthreads = n;
  p->th = (pthread_t *)(p + 1);
  worker_arg *wa = (worker_arg *)(p->th + w);
  atomic_init(&p->gen, 0);
  atomic_init(&p->next, NERVE_PARTS);
  atomic_init(&p->done, 0);
  atomic_init(&p->quit, 0);
  if (pthread_mutex_init(&p->mu, NULL)) {
    nerve_free(ctx, p);
    return NERVE_ENOMEM;
  }
  if (pthread_cond_init(&p->cv, NULL)) {
    pthread_mutex_destroy(&p->mu);
    nerve_free(ctx, p);
    return NERVE_ENOMEM;
  }
  for (size_t i = 0; i < w; i++) {
    wa[i].p = p;
    wa[i].t = (int)i + 1;
    if (pthread_create(&p->th[i], NULL, worker, &wa[i])) {
      pool_free(ctx, p, (int)i);
      return NERVE_ENOMEM;
    }
  }
  ctx->pool = p;
  return NERVE_OK;
}
