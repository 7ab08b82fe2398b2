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

/* GIT_OPT_SET_CACHE_OBJECT_LIMIT: how large an object of `type` may be and still be cached. */
static inline int cgit2_opts_set_cache_object_limit(git_object_t type, size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, size);
}

/* GIT_OPT_GET_SEARCH_PATH: where libgit2 looks for the config (and ignore) files of one level. */
static inline int cgit2_opts_get_search_path(int level, git_buf *out) {
    return git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, level, out);
}

/* A read-only view of an object backend, for GitProbe's in-memory merges.
 *
 * libgit2 "freshens" an object it is asked to write when a backend already has it: the pack
 * backend then touches the .pack file's mtime, the loose backend the object file's. Objects
 * written while forecasting merges go to an in-memory (mempack) backend, but the repository's
 * own backends must never be touched: this wrapper forwards reads and existence checks and
 * has no write and no freshen, so libgit2 asks `exists` instead. */
#include <git2/sys/odb_backend.h>
#include <git2/sys/mempack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    git_odb_backend parent;
    git_odb_backend *inner;
    /* The pack directory a refresh rescans (NULL: refresh always forwarded), and what it was
     * at the last rescan: its inode and mtime, and when that rescan ran. */
    char *watched;
    int has_seen;
    ino_t seen_inode;
    struct timespec seen_mtime;
    time_t rescanned_at;
} cgit2_readonly_backend;

#define CGIT2_INNER(b) (((cgit2_readonly_backend *)(b))->inner)

static int cgit2_ro_read(void **data, size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *oid) {
    return CGIT2_INNER(b)->read(data, len, type, CGIT2_INNER(b), oid);
}
static int cgit2_ro_read_prefix(git_oid *out, void **data, size_t *len, git_object_t *type, git_odb_backend *b,
                                const git_oid *short_oid, size_t length) {
    return CGIT2_INNER(b)->read_prefix(out, data, len, type, CGIT2_INNER(b), short_oid, length);
}
static int cgit2_ro_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *oid) {
    return CGIT2_INNER(b)->read_header(len, type, CGIT2_INNER(b), oid);
}
static int cgit2_ro_exists(git_odb_backend *b, const git_oid *oid) {
    return CGIT2_INNER(b)->exists(CGIT2_INNER(b), oid);
}
static int cgit2_ro_exists_prefix(git_oid *out, git_odb_backend *b, const git_oid *short_oid, size_t length) {
    return CGIT2_INNER(b)->exists_prefix(out, CGIT2_INNER(b), short_oid, length);
}
/* libgit2 refreshes every backend when an object is missing, and writing an object that is
 * in no backend yet (each blob, tree and merged blob of a sandbox) counts as missing: the
 * pack backend then re-reads objects/pack every time. A pack added, replaced or removed
 * changes the directory's mtime; so the rescan is skipped while the directory has the inode
 * and mtime it had at the last rescan and that mtime was over 2 s older than the rescan
 * (beyond a coarse timestamp tick: a change after the rescan cannot carry the same mtime). */
static int cgit2_ro_refresh(git_odb_backend *b) {
    cgit2_readonly_backend *w = (cgit2_readonly_backend *)b;
    if (!w->inner->refresh) return 0;
    struct stat info;
    int known = w->watched && stat(w->watched, &info) == 0;
    if (known && w->has_seen && info.st_ino == w->seen_inode && info.st_mtim.tv_sec == w->seen_mtime.tv_sec
        && info.st_mtim.tv_nsec == w->seen_mtime.tv_nsec && w->rescanned_at > w->seen_mtime.tv_sec + 2)
        return 0;
    time_t now = time(NULL);
    int rc = w->inner->refresh(w->inner);
    w->has_seen = known && rc == 0;
    if (w->has_seen) {
        w->seen_inode = info.st_ino;
        w->seen_mtime = info.st_mtim;
        w->rescanned_at = now;
    }
    return rc;
}
static void cgit2_ro_free(git_odb_backend *b) {
    CGIT2_INNER(b)->free(CGIT2_INNER(b));
    free(((cgit2_readonly_backend *)b)->watched);
    free(b);
}

/* Wraps `inner` (taking ownership) and adds the wrapper to `odb` at `priority`; `watched`
 * (copied; may be NULL) is the directory whose change a refresh of `inner` looks for. */
static inline int cgit2_odb_add_readonly(git_odb *odb, git_odb_backend *inner, int priority, const char *watched) {
    cgit2_readonly_backend *wrapper = calloc(1, sizeof(cgit2_readonly_backend));
    if (!wrapper) { inner->free(inner); return -1; }
    wrapper->watched = watched ? strdup(watched) : NULL;
    wrapper->parent.version = GIT_ODB_BACKEND_VERSION;
    wrapper->inner = inner;
    wrapper->parent.read = inner->read ? cgit2_ro_read : NULL;
    wrapper->parent.read_prefix = inner->read_prefix ? cgit2_ro_read_prefix : NULL;
    wrapper->parent.read_header = inner->read_header ? cgit2_ro_read_header : NULL;
    wrapper->parent.exists = inner->exists ? cgit2_ro_exists : NULL;
    wrapper->parent.exists_prefix = inner->exists_prefix ? cgit2_ro_exists_prefix : NULL;
    wrapper->parent.refresh = cgit2_ro_refresh;
    wrapper->parent.free = cgit2_ro_free;
    inner->odb = odb;
    int rc = git_odb_add_backend(odb, &wrapper->parent, priority);
    if (rc < 0) cgit2_ro_free(&wrapper->parent);
    return rc;
}

/* The sandbox's in-memory object store, counting the bytes written into it, so the forecast
 * can keep its memory within a budget whatever the sizes of the files it meets. Reads,
 * existence checks and writes go to the mempack backend it wraps; `inner` stays the mempack
 * (git_mempack_reset needs it). */
typedef struct {
    git_odb_backend parent;
    git_odb_backend *inner;
    size_t written;
} cgit2_counting_backend;

#define CGIT2_COUNTED(b) (((cgit2_counting_backend *)(b))->inner)

static int cgit2_cnt_read(void **data, size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *oid) {
    return CGIT2_COUNTED(b)->read(data, len, type, CGIT2_COUNTED(b), oid);
}
static int cgit2_cnt_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *oid) {
    return CGIT2_COUNTED(b)->read_header(len, type, CGIT2_COUNTED(b), oid);
}
static int cgit2_cnt_exists(git_odb_backend *b, const git_oid *oid) {
    return CGIT2_COUNTED(b)->exists(CGIT2_COUNTED(b), oid);
}
static int cgit2_cnt_write(git_odb_backend *b, const git_oid *oid, const void *data, size_t len, git_object_t type) {
    int rc = CGIT2_COUNTED(b)->write(CGIT2_COUNTED(b), oid, data, len, type);
    if (rc == 0) ((cgit2_counting_backend *)b)->written += len;
    return rc;
}
static void cgit2_cnt_free(git_odb_backend *b) {
    CGIT2_COUNTED(b)->free(CGIT2_COUNTED(b));
    free(b);
}

/* A new mempack, wrapped and added to `odb` at `priority`; `*out` is the wrapper. */
static inline int cgit2_odb_add_counted_mempack(git_odb *odb, int priority, git_odb_backend **out) {
    git_odb_backend *mempack = NULL;
    int rc = git_mempack_new(&mempack);
    if (rc < 0) return rc;
    cgit2_counting_backend *wrapper = calloc(1, sizeof(cgit2_counting_backend));
    if (!wrapper) { mempack->free(mempack); return -1; }
    wrapper->parent.version = GIT_ODB_BACKEND_VERSION;
    wrapper->inner = mempack;
    wrapper->parent.read = mempack->read ? cgit2_cnt_read : NULL;
    wrapper->parent.read_header = mempack->read_header ? cgit2_cnt_read_header : NULL;
    wrapper->parent.exists = mempack->exists ? cgit2_cnt_exists : NULL;
    wrapper->parent.write = cgit2_cnt_write;
    wrapper->parent.free = cgit2_cnt_free;
    mempack->odb = odb;
    rc = git_odb_add_backend(odb, &wrapper->parent, priority);
    if (rc < 0) { cgit2_cnt_free(&wrapper->parent); return rc; }
    *out = &wrapper->parent;
    return 0;
}

/* Bytes written into the counted mempack since it was made. */
static inline size_t cgit2_counted_bytes(git_odb_backend *b) {
    return ((cgit2_counting_backend *)b)->written;
}
