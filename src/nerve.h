/*
** nerve.h - the engine: multilayer perceptrons trained by backpropagation.
**
** Plain C11, no Lua. Every call that can fail returns a nerve_status; the
** engine never prints, exits or aborts. All memory comes from the allocator
** given to nerve_ctx_new (lua_Alloc's signature), so a host controls it.
**
** The numbers follow the classic derivation: a layer computes
** a = o_prev * W + b (W is n_in x n_out, b is the weight of a constant
** input 1), o = g(a); the forward phase keeps every a and o; the backward
** phase turns dE/do into the error terms delta = dE/da and adds
** dE/dW = o_prev^T * delta, dE/db = column sums of delta.
**
** Ownership: objects made by a *_new call belong to the caller and are
** released with the matching *_free (layers are reference counted). Matrix
** views returned by the engine (nerve_mat) point into engine storage; the
** comment of each call says how long they stay valid.
*/
#ifndef NERVE_H
#define NERVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NERVE_BUILD) && defined(__GNUC__)
#define NERVE_API __attribute__((visibility("default")))
#else
#define NERVE_API
#endif

#define NERVE_VERSION "0.1.0"

/* Largest rows or columns of any matrix or layer (keeps size arithmetic
** far from overflow, and bounds what a model file may ask for). */
#define NERVE_MAX_DIM (1 << 24)
/* Largest number of parameters of one network (2^28 floats = 1 GiB). */
#define NERVE_MAX_PARAMS ((size_t)1 << 28)
/* Largest number of layers of one network. */
#define NERVE_MAX_LAYERS 4096

/* ---------------------------------------------------------------- status */

typedef enum nerve_status {
  NERVE_OK = 0,
  NERVE_ENOMEM,     /* the allocator returned NULL */
  NERVE_EARG,       /* an argument is out of its range (size, kind, option) */
  NERVE_ESHAPE,     /* matrix shapes do not fit together */
  NERVE_ESTATE,     /* call out of order (backward without forward, ...) */
  NERVE_ENAN,       /* a NaN or infinity where a finite number is needed */
  NERVE_EFORMAT,    /* bytes are not a nerve model, or are corrupt */
  NERVE_EVERSION,   /* a nerve model of a format version this build cannot read */
  NERVE_ECHECKSUM,  /* the model's checksum does not match its contents */
  NERVE_ETRUNC,     /* the model bytes end early */
  NERVE_ELIMIT,     /* a size beyond NERVE_MAX_* */
  NERVE_EIO         /* a file could not be read or written (see errno) */
} nerve_status;

/* A short English description of s ("not enough memory", ...). */
NERVE_API const char *nerve_strerror(nerve_status s);

/* ------------------------------------------------------------- allocator */

/* Same contract as lua_Alloc: nsize == 0 frees ptr (returns NULL);
** otherwise returns a block of nsize bytes or NULL. The engine only ever
** allocates (ptr == NULL) and frees (nsize == 0), never resizes, and it
** passes the original size as osize when freeing. */
typedef void *(*nerve_alloc)(void *ud, void *ptr, size_t osize, size_t nsize);

/* --------------------------------------------------------------- matrix */

/* A row-major float32 view: element (i, j), 0-based, is
** data[i * stride + j]. It owns nothing. */
typedef struct nerve_mat {
  float *data;
  int rows, cols, stride;
} nerve_mat;

/* A view of the whole contiguous rows x cols block at data. */
NERVE_API nerve_mat nerve_mat_view(float *data, int rows, int cols);

/* 1 if m holds a NaN or an infinity, with its 0-based position in *row and
** *col (either may be NULL); 0 otherwise. Reads rows in order. */
NERVE_API int nerve_mat_nonfinite(const nerve_mat *m, int *row, int *col);

/* ------------------------------------------------------------ generator */

/* xoshiro256** state; owned by whoever needs reproducible draws. */
typedef struct nerve_rng {
  uint64_t s[4];
} nerve_rng;

NERVE_API void nerve_rng_seed(nerve_rng *r, uint64_t seed);
NERVE_API uint64_t nerve_rng_next(nerve_rng *r);
/* Uniform double in [0, 1). */
NERVE_API double nerve_rng_uniform(nerve_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
NERVE_API uint64_t nerve_rng_below(nerve_rng *r, uint64_t n);
/* Fisher-Yates: a[0..n-1] in a uniformly random order (nerve.fit's
** shuffles, in Lua and in nerve_net_train_epochs alike). */
NERVE_API void nerve_rng_shuffle(nerve_rng *r, int32_t *a, int n);

/* -------------------------------------------------------------- context */

/* Holds the allocator, the chosen kernels and a generator. One per user
** (one per lua_State in the binding); contexts share nothing. */
typedef struct nerve_ctx nerve_ctx;

/* Makes a context. The instruction set is the best the CPU supports,
** unless the environment variable NERVE_ISA names a supported one. */
NERVE_API nerve_status nerve_ctx_new(nerve_ctx **out, nerve_alloc f, void *ud);
/* Frees the context; every object made with it must be freed first. */
NERVE_API void nerve_ctx_free(nerve_ctx *ctx);

/* The context's generator (initialisation, shuffling); seeded with 0. */
NERVE_API nerve_rng *nerve_ctx_rng(nerve_ctx *ctx);

/* Instruction sets: "avx512", "avx2", "neon", "scalar". */
NERVE_API const char *nerve_ctx_isa(const nerve_ctx *ctx);
/* NERVE_EARG if name is unknown or this CPU or build lacks it. */
NERVE_API nerve_status nerve_ctx_set_isa(nerve_ctx *ctx, const char *name);
/* 1 if name is a known instruction set this CPU and build can run. */
NERVE_API int nerve_isa_supported(const char *name);

/* Worker threads for large batches (>= 1). */
NERVE_API int nerve_ctx_threads(const nerve_ctx *ctx);
NERVE_API nerve_status nerve_ctx_set_threads(nerve_ctx *ctx, int n);

/* 64-byte aligned memory from the context's allocator; n may be 0 (then a
** unique minimal block). Free with nerve_free. */
NERVE_API void *nerve_malloc(nerve_ctx *ctx, size_t n);
NERVE_API void nerve_free(nerve_ctx *ctx, void *p);

/* --------------------------------------------------------------- layers */

typedef enum nerve_kind {
  NERVE_LINEAR = 0,
  NERVE_SIGMOID,
  NERVE_TANH,
  NERVE_RELU,
  NERVE_LEAKY_RELU, /* alpha * a for a < 0 */
  NERVE_SOFTMAX,    /* over each row */
  NERVE_IDENTITY,
  /* appended (the model format stores kinds: never renumber) */
  NERVE_DROPOUT,  /* inverted dropout, alpha = p, the drop probability */
  NERVE_ELU,      /* a > 0 ? a : alpha (e^a - 1); alpha 1 by default */
  NERVE_SOFTPLUS, /* log(1 + e^a) (PyTorch's beta 1) */
  NERVE_GELU,     /* a Phi(a) = a (1 + erf(a / sqrt 2)) / 2, exact (erf) */
  NERVE_SIGMOID_SYMMETRIC, /* FANN's: tanh(alpha a), alpha the steepness */
  NERVE_KIND_COUNT
} nerve_kind;

/* "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax",
** "identity", "dropout", "elu", "softplus", "gelu", "sigmoid_symmetric";
** NULL for an unknown kind. */
NERVE_API const char *nerve_kind_name(nerve_kind k);
/* The kind named name, or -1. */
NERVE_API int nerve_kind_find(const char *name);

typedef enum nerve_init {
  NERVE_INIT_XAVIER = 0, /* U(-r, r), r = sqrt(6 / (n_in + n_out)) */
  NERVE_INIT_HE,         /* U(-r, r), r = sqrt(6 / n_in) */
  NERVE_INIT_UNIFORM,    /* U(-r, r), r = 1 / sqrt(n_in) (Torch7's nn.Linear) */
  NERVE_INIT_ZERO,
  /* appended */
  NERVE_INIT_NORMAL,        /* N(0, sd^2), sd a parameter (0.01) */
  NERVE_INIT_XAVIER_NORMAL, /* N(0, 2 / (n_in + n_out)) (Glorot normal) */
  NERVE_INIT_HE_NORMAL,     /* N(0, 2 / n_in) (Kaiming normal, fan in) */
  NERVE_INIT_CONSTANT,      /* every weight the parameter (0) */
  NERVE_INIT_ORTHOGONAL     /* gain (1) times a random orthogonal matrix */
} nerve_init;

/* A layer: a linear map with its parameters, or an activation. Layers are
** reference counted so that several networks (or a network and a host)
** may hold one; its parameter storage never moves while it lives. */
typedef struct nerve_layer nerve_layer;

/* A linear layer, 1 <= n_in, n_out <= NERVE_MAX_DIM, weights initialised
** by Xavier from the context's generator and biases zero. Count 1. */
NERVE_API nerve_status nerve_linear_new(nerve_ctx *ctx, int n_in, int n_out,
                                        nerve_layer **out);
/* An activation layer of kind k (not NERVE_LINEAR); alpha is the slope of
** NERVE_LEAKY_RELU, the alpha of NERVE_ELU and the steepness of
** NERVE_SIGMOID_SYMMETRIC (finite), the drop probability p of
** NERVE_DROPOUT (0 <= p < 1), unused otherwise. It takes any width.
** Count 1. */
NERVE_API nerve_status nerve_act_new(nerve_ctx *ctx, nerve_kind k, float alpha,
                                     nerve_layer **out);
NERVE_API void nerve_layer_retain(nerve_layer *l);
/* Drops one reference; the last one frees the layer. NULL is ignored. */
NERVE_API void nerve_layer_release(nerve_layer *l);

NERVE_API nerve_kind nerve_layer_kind(const nerve_layer *l);
/* Input and output width; 0 for activations (they take any width). */
NERVE_API int nerve_layer_n_in(const nerve_layer *l);
NERVE_API int nerve_layer_n_out(const nerve_layer *l);
NERVE_API float nerve_layer_alpha(const nerve_layer *l);

/* Views of a linear layer's storage, valid while the layer lives:
** weight and grad_weight are n_in x n_out, bias and grad_bias 1 x n_out.
** For activations they are empty (data NULL, 0 x 0). */
NERVE_API nerve_mat nerve_layer_weight(nerve_layer *l);
NERVE_API nerve_mat nerve_layer_bias(nerve_layer *l);
NERVE_API nerve_mat nerve_layer_grad_weight(nerve_layer *l);
NERVE_API nerve_mat nerve_layer_grad_bias(nerve_layer *l);

/* Re-initialises the weights with scheme init from r; biases become zero.
** A no-op for activations. */
NERVE_API nerve_status nerve_layer_init(nerve_layer *l, nerve_init init,
                                        nerve_rng *r);
/* The same with the scheme's parameter: sd for NERVE_INIT_NORMAL (finite,
** >= 0), the value for NERVE_INIT_CONSTANT (finite), the gain for
** NERVE_INIT_ORTHOGONAL (finite); ignored by the others. nerve_layer_init
** uses 0.01, 0 and 1. Orthogonal: W (n_in x n_out) has orthonormal
** columns when n_in >= n_out, else orthonormal rows (Gram-Schmidt on a
** Gaussian draw, like PyTorch's QR with the signs of R's diagonal). */
NERVE_API nerve_status nerve_layer_init_with(nerve_layer *l, nerve_init init,
                                             double param, nerve_rng *r);

/* -------------------------------------------------------------- network */

/* A sequence of layers with the batch buffers of the forward and backward
** phases. Where a layer is wide enough for its GEMMs to be packed (a few
** hundred units and a batch of tens of rows, kernels/gemm.h), the network
** also holds packing buffers, sized once per batch shape like the rest: a
** copy of its largest W, one of its largest batch of error terms, and
** about half of L2 per thread; a backward pass grows the ones it needs
** (NERVE_ENOMEM then, with nothing changed). */
typedef struct nerve_net nerve_net;

NERVE_API nerve_status nerve_net_new(nerve_ctx *ctx, nerve_net **out);
/* Frees the network and releases its layers. NULL is ignored. */
NERVE_API void nerve_net_free(nerve_net *net);
NERVE_API nerve_ctx *nerve_net_ctx(const nerve_net *net);

/* Appends l (retaining it). NERVE_ESHAPE if l is linear and its n_in is
** not the width the network currently ends with; NERVE_EARG if l is a
** linear layer already in this network (shared weights across networks
** are fine). Nothing changes on error. */
NERVE_API nerve_status nerve_net_add(nerve_net *net, nerve_layer *l);

NERVE_API int nerve_net_count(const nerve_net *net);
/* The i-th layer, 0-based, borrowed; NULL when out of range. */
NERVE_API nerve_layer *nerve_net_layer(const nerve_net *net, int i);
/* Width the network takes and gives: the first and last linear layer's
** n_in and n_out; 0 when it has no linear layer (any width). */
NERVE_API int nerve_net_n_in(const nerve_net *net);
NERVE_API int nerve_net_n_out(const nerve_net *net);
/* Trainable numbers (weights and biases of every linear layer). */
NERVE_API size_t nerve_net_num_params(const nerve_net *net);

/* Parameter tensors in layer order W1, b1, W2, b2, ...; i is 0-based. */
NERVE_API int nerve_net_param_count(const nerve_net *net);
NERVE_API nerve_mat nerve_net_param(const nerve_net *net, int i);
NERVE_API nerve_mat nerve_net_grad(const nerve_net *net, int i);

/* Training or evaluation mode (a new network is in training mode, as in
** PyTorch). Dropout layers drop only in training mode: each forward then
** draws a fresh mask from the context's generator (kept for backward),
** zeroing each element with probability p and scaling the rest by
** 1 / (1 - p); in evaluation mode they pass their input through. */
NERVE_API void nerve_net_set_training(nerve_net *net, int on);
NERVE_API int nerve_net_training(const nerve_net *net);

/* The arithmetic of a network's matrix products. In NERVE_BF16 every GEMM
** of the forward and backward phases (forward, input gradient, weight
** gradient) rounds its two input operands to bfloat16 (round to nearest
** even; NaN stays NaN, infinities stay infinite, a float beyond bf16's
** range becomes infinite) and sums the exact products in float32.
** Everything else stays float32: the products' results, biases,
** activations, losses, gradients, the optimizer's state and the parameters
** themselves (the master weights). A new network is NERVE_FP32; clones
** keep the precision; the model format does not store it. */
typedef enum nerve_precision { NERVE_FP32, NERVE_BF16 } nerve_precision;

/* NERVE_EARG for an unknown precision (nothing changes). */
NERVE_API nerve_status nerve_net_set_precision(nerve_net *net,
                                               nerve_precision p);
NERVE_API nerve_precision nerve_net_precision(const nerve_net *net);
/* How precision p runs on ctx's kernels: for NERVE_FP32 the table's name
** (as nerve_ctx_isa); for NERVE_BF16 "avx512_bf16" (the avx512 table on a
** CPU with AVX512-BF16: vdpbf16ps, twice float32's rate) or "emulated":
** float32 FMAs on operands rounded to bf16 as the GEMM packs them (or, on
** the scalar table, in the reference loops), as fast as float32. NULL for
** an unknown p. */
NERVE_API const char *nerve_precision_kernels(const nerve_ctx *ctx,
                                              nerve_precision p);

/* Forward phase on the batch x (B x n_in, any stride). *out receives a
** view of the network's output buffer (B x n_out), valid until the next
** forward, backward or train call on net or its freeing. Every layer's
** output is kept for the backward phase. NERVE_ESHAPE on a width
** mismatch, NERVE_EARG for a network without layers. */
NERVE_API nerve_status nerve_net_forward(nerve_net *net, const nerve_mat *x,
                                         nerve_mat *out);

/* A counter that changes whenever the network's batch buffers move (they
** grow with the batch, and are freed with the network); views returned by
** forward and backward stay valid while it holds its value. */
NERVE_API size_t nerve_net_buffer_epoch(const nerve_net *net);

/* Backward phase for the last forward(x): grad_out is dE/d(output)
** (B x n_out). Adds dE/dW and dE/db, summed over rows, to the accumulated
** gradients. If grad_in is not NULL it receives a view of dE/dx (B x n_in,
** a network buffer, valid like forward's output); with NULL the first
** layer's input gradient is not computed. NERVE_ESTATE if no forward with
** a batch of x's shape came before, NERVE_ENOMEM if the packing buffers
** cannot grow. */
NERVE_API nerve_status nerve_net_backward(nerve_net *net, const nerve_mat *x,
                                          const nerve_mat *grad_out,
                                          nerve_mat *grad_in);

NERVE_API void nerve_net_zero_grad(nerve_net *net);
/* p = p - lr * grad(p) for every parameter. */
NERVE_API void nerve_net_update(nerve_net *net, float lr);
/* L2 norm of all accumulated gradients together. */
NERVE_API double nerve_net_grad_norm(const nerve_net *net);

/* A deep copy: new layers with the same parameters (gradients zero). */
NERVE_API nerve_status nerve_net_clone(const nerve_net *net, nerve_net **out);
/* Copies src's parameters into dst, whose layers must have the same kinds
** and shapes (NERVE_ESHAPE otherwise, nothing copied). */
NERVE_API nerve_status nerve_net_copy_params(nerve_net *dst,
                                             const nerve_net *src);

/* ---------------------------------------------------------------- losses */

typedef enum nerve_loss {
  NERVE_MSE = 0,       /* E = 1/(2B) sum (yhat - y)^2 */
  NERVE_CROSS_ENTROPY, /* on logits: E = -1/B sum_b log softmax(z_b)[t_b] */
  NERVE_BCE,           /* on probabilities: -1/B sum (y log p + (1-y) log(1-p)) */
  NERVE_LOSS_COUNT
} nerve_loss;

/* "mse", "cross_entropy", "bce"; NULL for an unknown loss. */
NERVE_API const char *nerve_loss_name(nerve_loss k);

/* Checks that y fits yhat for loss k: the same shape, or for
** NERVE_CROSS_ENTROPY a B x 1 matrix of class indices 1..C (always read as
** indices), or a one-hot B x C. NERVE_ESHAPE, NERVE_ENAN for a non-finite
** target, NERVE_EARG for an index that is not an integer in 1..C. */
NERVE_API nerve_status nerve_loss_check(nerve_loss k, const nerve_mat *yhat,
                                        const nerve_mat *y);
/* E for the batch (after nerve_loss_check's checks). */
NERVE_API nerve_status nerve_loss_forward(nerve_loss k, const nerve_mat *yhat,
                                          const nerve_mat *y, double *e);
/* dE/dyhat into grad (yhat's shape, caller's storage), with the 1/B
** factor: (yhat - y)/B, (softmax(z) - onehot)/B, (p - y)/(p (1 - p) B). */
NERVE_API nerve_status nerve_loss_backward(nerve_loss k, const nerve_mat *yhat,
                                           const nerve_mat *y, nerve_mat *grad);

/* ------------------------------------------------------------ optimizers */

typedef struct nerve_sgd_opts {
  float lr, momentum, weight_decay;
  int nesterov;
} nerve_sgd_opts;

typedef struct nerve_adam_opts {
  float lr, beta1, beta2, eps, weight_decay;
} nerve_adam_opts;

/* An optimizer over the parameters net has now (it retains their layers,
** so it stays valid after net is freed). g = grad + weight_decay * p.
** SGD: v = momentum * v + g; p -= lr * v, or p -= lr * (g + momentum * v)
** with Nesterov. Adam: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
** p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). */
typedef struct nerve_optim nerve_optim;

NERVE_API nerve_status nerve_sgd_new(nerve_net *net, const nerve_sgd_opts *o,
                                     nerve_optim **out);
NERVE_API nerve_status nerve_adam_new(nerve_net *net, const nerve_adam_opts *o,
                                      nerve_optim **out);
NERVE_API void nerve_optim_free(nerve_optim *opt);
/* One update from the accumulated gradients (which it leaves as they are). */
NERVE_API nerve_status nerve_optim_step(nerve_optim *opt);
/* The learning rate, for schedules. */
NERVE_API float nerve_optim_lr(const nerve_optim *opt);
NERVE_API void nerve_optim_set_lr(nerve_optim *opt, float lr);
/* Steps taken so far (Adam's t). */
NERVE_API long nerve_optim_steps(const nerve_optim *opt);

/* More optimizers; the rules are PyTorch's (stated in optim.c's header).
** AdamW takes nerve_adam_opts and decouples the decay: p *= 1 - lr * wd
** before the Adam step, whose g is then the bare gradient.
** RMSprop: v = alpha v + (1-alpha) g^2, p -= lr g / (sqrt(v) + eps), with
** optional momentum (a buffer of those steps) and centering (v minus the
** square of a running mean of g). Adagrad: s += g^2 (s starts at
** initial_accumulator), p -= lr / (1 + (t-1) lr_decay) g / (sqrt(s) + eps).
** RPROP is iRPROP- (Igel and Huesken): per-parameter steps that grow by
** increase while the gradient keeps its sign and shrink by decrease when
** it flips (then that parameter rests one step); only the sign of the
** gradient is used, so it is meant for full-batch training. */
typedef struct nerve_rmsprop_opts {
  float lr, alpha, eps, weight_decay, momentum;
  int centered;
} nerve_rmsprop_opts;

typedef struct nerve_adagrad_opts {
  float lr, lr_decay, weight_decay, initial_accumulator, eps;
} nerve_adagrad_opts;

/* FANN's defaults: increase 1.2, decrease 0.5, delta_min 0, delta_max 50,
** delta_zero 0.1 (the first step size). fann != 0 copies FANN 2.x's code
** where it departs from the published rule: the step also grows when
** g g_prev = 0, the previous step is floored at 0.0001, a parameter whose
** g is 0 (or was zeroed by a flip) moves by +step, and parameters are
** clamped to [-1500, 1500]. */
typedef struct nerve_rprop_opts {
  float increase, decrease, delta_min, delta_max, delta_zero;
  int fann;
} nerve_rprop_opts;

NERVE_API nerve_status nerve_adamw_new(nerve_net *net,
                                       const nerve_adam_opts *o,
                                       nerve_optim **out);
NERVE_API nerve_status nerve_rmsprop_new(nerve_net *net,
                                         const nerve_rmsprop_opts *o,
                                         nerve_optim **out);
NERVE_API nerve_status nerve_adagrad_new(nerve_net *net,
                                         const nerve_adagrad_opts *o,
                                         nerve_optim **out);
NERVE_API nerve_status nerve_rprop_new(nerve_net *net,
                                       const nerve_rprop_opts *o,
                                       nerve_optim **out);
/* "sgd", "adam", "adamw", "rmsprop", "adagrad" or "rprop". RPROP has no
** learning rate: nerve_optim_lr gives 0 and set_lr does nothing. */
NERVE_API const char *nerve_optim_name(const nerve_optim *opt);

/* Gradient clipping inside the step: when max_norm > 0, every step first
** scales the gradients of the optimizer's parameters by
** max_norm / (norm + 1e-6) if that is below 1 (norm: their global L2
** norm), as PyTorch's clip_grad_norm_. 0 turns it off (the default);
** NERVE_EARG for a negative or non-finite max_norm. */
NERVE_API double nerve_optim_clip(const nerve_optim *opt);
NERVE_API nerve_status nerve_optim_set_clip(nerve_optim *opt, double max_norm);

/* The optimizer's whole state (velocities, moments, RPROP's steps...) as
** one float vector of nerve_optim_state_size floats, valid while opt
** lives; with the step count, all a checkpoint needs to resume exactly. */
NERVE_API size_t nerve_optim_state_size(const nerve_optim *opt);
NERVE_API float *nerve_optim_state(nerve_optim *opt);
NERVE_API nerve_status nerve_optim_set_steps(nerve_optim *opt, long t);

/* Clips net's accumulated gradients to global L2 norm max_norm (the rule
** of nerve_optim_set_clip) and returns their norm before clipping. */
NERVE_API double nerve_net_clip_grad_norm(nerve_net *net, double max_norm);

/* -------------------------------------------------------------- training */

/* One mini-batch step: gathers rows idx[0..count-1] (0-based rows of x
** and y; idx NULL means rows first..first+count-1, with first given as
** idx_first) into the network's batch buffer, zeroes the gradients, runs
** forward, loss k, backward (skipping the first layer's input gradient)
** and, if opt is not NULL, one optimizer step. *e receives the batch's
** loss and *grad_norm the L2 norm of the gradient (either may be NULL).
** Checks shapes, row indices, targets and inputs first (NERVE_ENAN for a
** NaN or infinity in a batch row of x or y); on error nothing changed.
** When opt is plain SGD (no momentum, decay or clipping) over exactly net's
** linear layers, grad_norm is NULL and the loss is finite, the step is
** taken inside the backward pass, W -= lr dE/dW as each layer's error terms
** are known: no gradient buffer is written (they keep what they held) and
** the floats differ from a separate step only by rounding. Consecutive
** rows (idx NULL) are read in place, not copied. */
NERVE_API nerve_status nerve_net_train_batch(nerve_net *net, nerve_loss k,
                                             const nerve_mat *x,
                                             const nerve_mat *y,
                                             const int32_t *idx, int idx_first,
                                             int count, nerve_optim *opt,
                                             double *e, double *grad_norm);

/* Why nerve_net_train_epochs returned. */
typedef enum nerve_stop {
  NERVE_STOP_EPOCHS,    /* ran every epoch asked for */
  NERVE_STOP_DIVERGED,  /* an epoch's loss was NaN or infinite */
  NERVE_STOP_CRITERION, /* loss_below or norm_below held after an epoch */
  NERVE_STOP_PAUSED     /* poll asked to pause: the same call again goes on */
} nerve_stop;

/* Whole epochs of mini-batch steps in one call: what nerve.fit runs when
** no Lua code has to see an epoch. Fields above the line are inputs. */
typedef struct nerve_epochs {
  nerve_loss loss;
  const nerve_mat *x, *y;
  int32_t *order;      /* the n rows (0-based) to train on, in this order;
                          NULL: every row of x, first to last */
  int n;
  int x_finite;        /* 1: the caller has checked that the rows of x in
                          order hold no NaN or infinity (a pass over x
                          saved; one there would make the loss diverge) */
  nerve_rng *shuffle;  /* shuffles order before each epoch; NULL: never */
  int batch;           /* rows per step; the last step takes the rest */
  nerve_optim *opt;    /* stepped after every batch (required) */
  int epochs;          /* at most this many */
  double loss_below;   /* stop after an epoch whose mean loss is below;
                          0 (no loss is negative): never */
  double norm_below;   /* stop after an epoch whose last step's gradient
                          norm is below; 0: never */
  nerve_net *snapshot; /* NULL, or a net of the same shape that gets the
                          parameters after every epoch that leaves them
                          finite (to put back after a divergence) */
  double *losses;      /* NULL, or room for epochs values */
  /* ---- outputs */
  int done;            /* epochs run */
  nerve_stop stopped;
  double loss_out;     /* the last epoch's mean loss (each batch's loss
                          times its rows, summed, over n) */
  double grad_norm;    /* L2 norm of the gradient of the last epoch's last
                          step */
  /* ---- pausing: a host that must get control back now and then (Lua's
     interrupt hook) pauses the run between two batches and resumes it
     with the same struct; zero for a run that never pauses */
  int (*poll)(void *ud); /* NULL, or called between batches (never before
                            the first step of a call): nonzero pauses */
  void *poll_ud;
  int pos;             /* in and out: rows of the epoch under way that are
                          trained already (0: no epoch under way) */
  double sum;          /* in and out: their summed loss */
} nerve_epochs;

/* Runs up to e->epochs epochs of nerve_net_train_batch steps over e->order
** (shuffled first when e->shuffle is set), each epoch's loss into
** e->losses. An epoch stops early at a batch whose loss is NaN or +inf;
** training then stops with NERVE_STOP_DIVERGED. Rows, shapes, targets and
** inputs are checked once, before the first step: on such an error
** nothing changed. An optimizer error stops after e->done epochs. When
** e->poll pauses, e->stopped is NERVE_STOP_PAUSED, e->done counts the
** epochs finished in this call and the weights are those after a whole
** number of batches; a call with the same e (e->epochs the epochs still
** to run, counting the one under way) trains exactly the batches an
** unpaused run would have. */
NERVE_API nerve_status nerve_net_train_epochs(nerve_net *net, nerve_epochs *e);

/* --------------------------------------------------------- model format */

/* Serialises net's structure and parameters: magic "NERVEMDL", format
** version, little-endian fields, IEEE-754 float32 parameters and a CRC-32
** of everything before it. *bytes comes from the context's allocator
** (release with nerve_free); *len is its length. */
NERVE_API nerve_status nerve_net_serialize(const nerve_net *net, void **bytes,
                                           size_t *len);
/* Rebuilds a network from len bytes. Rejects foreign, truncated, corrupt
** or oversized input (NERVE_EFORMAT, NERVE_ETRUNC, NERVE_ECHECKSUM,
** NERVE_EVERSION, NERVE_ELIMIT) before allocating anything large. */
NERVE_API nerve_status nerve_net_deserialize(nerve_ctx *ctx, const void *bytes,
                                             size_t len, nerve_net **out);
/* Writes the serialised net to path atomically: a temporary file in the
** same folder, flushed and synced, then renamed over path; a failure
** leaves any old file intact. Through a symbolic link it replaces the
** file the link points to; a path naming a directory, device, FIFO or
** socket is refused (EISDIR, EINVAL). Temporary files a killed save of
** the same file left behind are removed. NERVE_EIO with errno set on
** failure. */
NERVE_API nerve_status nerve_net_save(const nerve_net *net, const char *path);
/* Reads a model file; NERVE_EIO with errno set when it cannot be read. */
NERVE_API nerve_status nerve_net_load(nerve_ctx *ctx, const char *path,
                                      nerve_net **out);

/* ------------------------------------------------------------------ data */

/* Loaders read a file as a stream through zlib (so a gzip file and a plain
** one both work) into owned row-major float32 buffers from the context's
** allocator. A file that cannot be opened or read gives NERVE_EIO (errno
** set); one that is not what the loader expects gives NERVE_EFORMAT, one
** that ends early NERVE_ETRUNC, one beyond the limits below NERVE_ELIMIT;
** then err (if not NULL) says where and what was expected, and out is
** empty. Numbers must be finite. */

/* The most numbers one loader call keeps (4 GiB of float32). */
#define NERVE_DATA_MAX_CELLS ((size_t)1 << 30)
/* The most dimensions of an IDX file. */
#define NERVE_IDX_MAXDIMS 8

typedef struct nerve_data {
  float *x;      /* rows x n_x, row-major, contiguous */
  float *y;      /* rows x n_y, or NULL when n_y is 0 */
  int rows, n_x, n_y;
  int ndims, type;               /* IDX only: dimensions and element type */
  int dims[NERVE_IDX_MAXDIMS];   /* IDX only: dims[0] == rows */
} nerve_data;

typedef struct nerve_data_err {
  long line;      /* 1-based line of a text file, or byte offset (bytes) */
  int bytes;      /* 1 when line is a byte offset (IDX) */
  char what[200]; /* what was found and what was expected */
} nerve_data_err;

typedef struct nerve_csv_opts {
  int header;  /* skip the first line */
  int targets; /* trailing columns that go to y (>= 0) */
  char sep;    /* field separator; 0 means ','. A blank (' ', '\t') makes
               ** runs of blanks one separator */
} nerve_csv_opts;

/* Numeric CSV: every non-blank line has the same number of fields, more
** than o->targets. Empty lines are skipped, fields trimmed. */
NERVE_API nerve_status nerve_data_csv(nerve_ctx *ctx, const char *path,
                                      const nerve_csv_opts *o,
                                      nerve_data *out, nerve_data_err *err);
/* FANN training data: "count n_in n_out" then count samples of n_in
** inputs and n_out outputs, whitespace-separated (as FANN's fscanf reads
** them); anything after the last sample is an error. */
NERVE_API nerve_status nerve_data_fann(nerve_ctx *ctx, const char *path,
                                       nerve_data *out, nerve_data_err *err);
/* IDX (big-endian, types 08 09 0b 0c 0d 0e): x holds one row per item of
** the first dimension with the product of the others as columns (1 for a
** one-dimensional file), raw values; ndims, dims and type are filled. */
NERVE_API nerve_status nerve_data_idx(nerve_ctx *ctx, const char *path,
                                      nerve_data *out, nerve_data_err *err);
/* MNIST: images (IDX, 3 dimensions of bytes) scaled to [0, 1] in x and
** labels (IDX, 1 dimension, digits 0..9, one per image) as classes 1..10
** in y (n_y = 1). *which is 0 when err is about the images, 1 the labels. */
NERVE_API nerve_status nerve_data_mnist(nerve_ctx *ctx, const char *images,
                                        const char *labels, nerve_data *out,
                                        nerve_data_err *err, int *which);
/* Frees a loader's buffers and empties d. */
NERVE_API void nerve_data_free(nerve_ctx *ctx, nerve_data *d);

/* dst row i = src row idx[i] (0-based), count == dst->rows; NERVE_EARG for
** an index out of range (nothing copied), NERVE_ESHAPE. */
NERVE_API nerve_status nerve_data_gather(const nerve_mat *src,
                                         const int32_t *idx, int count,
                                         nerve_mat *dst);
/* Per-column mean and population standard deviation (x->cols each). */
NERVE_API nerve_status nerve_data_stats(const nerve_mat *x, float *mean,
                                        float *sd);
/* x = (x - mean) / sd per column, in place; a column with sd 0 is only
** shifted. NERVE_ENAN for non-finite statistics or a negative sd. */
NERVE_API nerve_status nerve_data_standardize(nerve_mat *x, const float *mean,
                                              const float *sd);
/* out (B x C) = one-hot rows of the class indices 1..C in y (B x 1);
** NERVE_EARG with *bad_row (0-based) for a value that is not one. */
NERVE_API nerve_status nerve_data_one_hot(const nerve_mat *y, nerve_mat *out,
                                          int *bad_row);
/* Each row of x is a width x height image (row-major, width * height ==
** x->cols); out (x's shape) receives it moved dx pixels right and dy down,
** with zeros where nothing moved in. NERVE_EARG when |dx| >= width or
** |dy| >= height, NERVE_ESHAPE. For data augmentation. */
NERVE_API nerve_status nerve_data_shift(const nerve_mat *x, int width,
                                        int height, int dx, int dy,
                                        nerve_mat *out);

/* --------------------------------------------------------------- metrics */

/* Runs net forward over x in chunks of rows (its batch buffers hold one
** chunk afterwards) and compares with y (x->rows x n_out): *sse receives
** the sum of squared errors over every output and row (FANN's MSE is
** *sse / (rows * n_out)) and *bit_fail the outputs whose |error| is at
** least limit (FANN's bit fail, as its fann_update_MSE counts it; FANN's
** default limit is 0.35). NERVE_ESHAPE,
** NERVE_ENAN for a non-finite target. */
NERVE_API nerve_status nerve_net_errors(nerve_net *net, const nerve_mat *x,
                                        const nerve_mat *y, float limit,
                                        double *sse, long *bit_fail);
/* Confusion counts of the largest output against y (class indices 1..C as
** x->rows x 1, or one-hot rows), C = classes, which must be the output
** width (NERVE_ESHAPE otherwise): counts[t * C + p] (0-based true class t,
** predicted p), C * C longs of the caller's. Target errors as
** nerve_loss_check for cross-entropy. */
NERVE_API nerve_status nerve_net_confusion(nerve_net *net, const nerve_mat *x,
                                           const nerve_mat *y, int classes,
                                           long *counts);

/* The model format's helpers, for other files (checkpoints): the CRC-32
** it uses (polynomial 0xEDB88320, as zlib's), and its atomic write of len
** bytes to path (as nerve_net_save writes; NERVE_EIO with errno). */
NERVE_API uint32_t nerve_crc32(const void *bytes, size_t len);
NERVE_API nerve_status nerve_file_write(nerve_ctx *ctx, const char *path,
                                        const void *bytes, size_t len);

#ifdef __cplusplus
}
#endif

#endif
