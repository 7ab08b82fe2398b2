#include <git2.h>
#include <git2/sys/repository.h>

/* git_libgit2_opts is variadic and Swift cannot call C variadic functions,
   so the options GitProbe sets go through these fixed-arity wrappers. */
static inline int cgit2_opts_set_int(int option, int value) {
    return git_libgit2_opts(option, value);
}

static inline int cgit2_opts_set_size(int option, size_t value) {
    return git_libgit2_opts(option, value);
}

/* GIT_OPT_GET_SEARCH_PATH: where libgit2 looks for the config (and ignore) files of one level. */
static inline int cgit2_opts_get_search_path(int level, git_buf *out) {
    return git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, level, out);
}
