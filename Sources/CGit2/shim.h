#include <git2.h>

/* git_libgit2_opts is variadic and Swift cannot call C variadic functions,
   so the options GitProbe sets go through these fixed-arity wrappers. */
static inline int cgit2_opts_set_int(int option, int value) {
    return git_libgit2_opts(option, value);
}

static inline int cgit2_opts_set_size(int option, size_t value) {
    return git_libgit2_opts(option, value);
}
