#include "io/checkpoint.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include "io/gguf.h"
#include "io/json.h"

static int cmp_ptr_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

void ckpt_close(dots_ckpt *c) {
    if (!c) return;
    for (int i = 0; i < c->n_shards; i++) st_close(c->shards[i]);
    free(c->shards);
    free(c->index);
    free(c->claimed);
    gguf_close(c->lm_gguf);
    gguf_close(c->mm_gguf);
    free(c->gtensors);
    free(c->gtype);
    free(c->gnames);
    free(c->dir);
    free(c);
}

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* 1 if dir holds a file ending in .gguf. */
static int gguf_dir_has(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        found = l > 5 && strcmp(de->d_name + l - 5, ".gguf") == 0;
    }
    closedir(d);
    return found;
}

/* Collect unique shard file names from the index's weight_map. */
static dots_status shard_names(const char *index_path, char ***names, int *n, json_object **keep, dots_error *e) {
    char *text = NULL;
    size_t len = 0;
    dots_status st = read_file(index_path, 64u << 20, &text, &len, e);
    if (st) return st;
    json_object *root = NULL, *wm;
    st = dots_json_parse(text, len, index_path, 0, DOTS_JSON_OBJECT, &root, e);
    free(text);
    if (st) return st;
    if (!json_object_object_get_ex(root, "weight_map", &wm) || !json_object_is_type(wm, json_type_object)) {
        json_object_put(root);
        return dots_fail(e, DOTS_E_FORMAT, "%s: malformed index: expected a JSON object with a \"weight_map\" object", index_path);
    }
    int cap = 8;
    char **v = calloc((size_t)cap, sizeof *v);
    if (!v) { json_object_put(root); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", index_path); }
    *n = 0;
    json_object_object_foreach(wm, tname, fval) {
        if (!json_object_is_type(fval, json_type_string)) {
            /* format the message before json_object_put frees tname */
            dots_status bad = dots_fail(e, DOTS_E_FORMAT, "%s: weight_map[\"%s\"] is not a file name", index_path, tname);
            free(v);
            json_object_put(root);
            return bad;
        }
        const char *fn = json_object_get_string(fval);
        if (strchr(fn, '/') || strcmp(fn, "..") == 0) {
            dots_status bad = dots_fail(e, DOTS_E_FORMAT, "%s: weight_map[\"%s\"] = \"%s\" is not a plain file name in the folder",
                                        index_path, tname, fn);
            free(v);
            json_object_put(root);
            return bad;
        }
        int seen = 0;
        for (int i = 0; i < *n; i++) if (strcmp(v[i], fn) == 0) { seen = 1; break; }
        if (seen) continue;
        if (*n == cap) {
            char **nv = realloc(v, (size_t)cap * 2 * sizeof *v);
            if (!nv) { free(v); json_object_put(root); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", index_path); }
            v = nv;
            cap *= 2;
        }
        v[(*n)++] = (char *)fn;
    }
    *names = v;
    *keep = root;
    return DOTS_OK;
}

dots_status ckpt_open(const char *dir, dots_ckpt **out, dots_error *e) {
    *out = NULL;
    dots_ckpt *c = calloc(1, sizeof *c);
    if (!c) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    struct stat sb;
    char cj[4096];
    snprintf(cj, sizeof cj, "%s/config.json", dir);
    if ((stat(dir, &sb) == 0 && S_ISREG(sb.st_mode)) || (!file_exists(cj) && S_ISDIR(sb.st_mode) && gguf_dir_has(dir))) {
        free(c);
        return ckpt_open_gguf(dir, NULL, out, e);
    }
    c->dir = strdup(dir);
    if (!c->dir) { free(c); return dots_fail(e, DOTS_E_NOMEM, "out of memory"); }
    dots_status st = config_load(dir, &c->config, e);
    if (st) { ckpt_close(c); return st; }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir) >= (int)sizeof path) {
        ckpt_close(c);
        return dots_fail(e, DOTS_E_ARG, "model folder path is too long (%zu bytes)", strlen(dir));
    }
    json_object *keep = NULL;
    char **names = NULL;
    int nn = 0;
    char single[] = "model.safetensors";
    char *one[1] = {single};
    if (file_exists(path)) {
        st = shard_names(path, &names, &nn, &keep, e);
        if (st) { ckpt_close(c); return st; }
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (!file_exists(path)) {
            ckpt_close(c);
            return dots_fail(e, DOTS_E_IO, "%s: no model.safetensors or model.safetensors.index.json: "
                             "download the full checkpoint folder (weights included)", dir);
        }
        names = one;
        nn = 1;
    }
    c->shards = calloc((size_t)nn, sizeof *c->shards);
    for (int i = 0; c->shards && i < nn; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
            st = dots_fail(e, DOTS_E_FORMAT, "%s: shard name \"%.64s...\" is too long", dir, names[i]);
            break;
        }
        st = st_open(path, &c->shards[i], e);
        if (st) break;
        c->n_shards++;
        c->n += c->shards[i]->n;
    }
    if (names != one) free(names);
    if (keep) json_object_put(keep);
    if (!c->shards) st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    if (st) { ckpt_close(c); return st; }
    c->index = calloc((size_t)c->n + 1, sizeof *c->index);
    c->claimed = calloc((size_t)c->n + 1, 1);
    if (!c->index || !c->claimed) { ckpt_close(c); return dots_fail(e, DOTS_E_NOMEM, "out of memory"); }
    int k = 0;
    for (int s = 0; s < c->n_shards; s++)
        for (int i = 0; i < c->shards[s]->n; i++) c->index[k++] = &c->shards[s]->tensors[i];
    if ((st = ckpt_index(c, e))) { ckpt_close(c); return st; }
    *out = c;
    return DOTS_OK;
}

dots_status ckpt_index(dots_ckpt *c, dots_error *e) {
    qsort(c->index, (size_t)c->n, sizeof *c->index, cmp_ptr_name);
    for (int i = 1; i < c->n; i++)
        if (strcmp(c->index[i]->name, c->index[i - 1]->name) == 0)
            return dots_fail(e, DOTS_E_MODEL, "tensor '%s' is stored twice, in %s and %s: the files are inconsistent",
                             c->index[i]->name, c->index[i - 1]->file, c->index[i]->file);
    return DOTS_OK;
}

static int find_idx(const dots_ckpt *c, const char *name) {
    int lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, r = strcmp(c->index[mid]->name, name);
        if (r == 0) return mid;
        if (r < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

const st_tensor *ckpt_find(const dots_ckpt *c, const char *name) {
    int i = find_idx(c, name);
    return i < 0 ? NULL : c->index[i];
}

/* The name as stored in its file: GGUF tensors are renamed, so messages give both. */
static void stored_name(const dots_ckpt *c, const st_tensor *t, char *buf, size_t cap) {
    if (!c->gtensors) { snprintf(buf, cap, "'%s'", t->name); return; }
    int k = (int)(t - c->gtensors);
    const char *g = k < c->lm_gguf->n ? c->lm_gguf->tensors[k].name : c->mm_gguf->tensors[k - c->lm_gguf->n].name;
    snprintf(buf, cap, "'%s' ('%s' in our names)", g, t->name);
}

dots_status ckpt_require(dots_ckpt *c, const char *name, const char *alt, int ndim, const int64_t *shape,
                         const st_tensor **out, dots_error *e) {
    int i = find_idx(c, name);
    if (i < 0 && alt) i = find_idx(c, alt);
    if (i < 0) {
        char sb[128];
        return dots_fail(e, DOTS_E_MODEL, "%s: tensor '%s'%s%s%s with shape %s is missing from the checkpoint; "
                         "the download may be incomplete or this is not a dots.ocr checkpoint",
                         c->dir, name, alt ? " (or '" : "", alt ? alt : "", alt ? "')" : "",
                         st_shape_str(shape, ndim, sb, sizeof sb));
    }
    const st_tensor *t = c->index[i];
    char sn[600];
    stored_name(c, t, sn, sizeof sn);
    if (t->dtype == DT_COUNT && c->gtensors) /* a GGUF type we cannot compute with */
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: tensor %s has unsupported type %s (supported: F32, F16, BF16, "
                         "Q8_0, Q4_K, Q6_K); requantize it, e.g. dotsocr quantize --type q8_0 or llama-quantize",
                         t->file, sn, gguf_type_name(c->gtype[t - c->gtensors]));
    if (t->dtype != DT_F32 && t->dtype != DT_BF16 && t->dtype != DT_F16 && t->dtype != DT_Q8_0 && t->dtype != DT_Q4_K &&
        t->dtype != DT_Q6_K)
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16, Q8_0, Q4_K or Q6_K",
                         t->file, t->name, dtype_name(t->dtype));
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char a[128], b[128];
        return dots_fail(e, DOTS_E_MODEL, "%s: tensor %s has shape %s but the config implies %s; "
                         "the config (config.json or the GGUF metadata) and the weights do not belong together",
                         t->file, sn, st_shape_str(t->shape, t->ndim, a, sizeof a), st_shape_str(shape, ndim, b, sizeof b));
    }
    c->claimed[i] = 1;
    *out = t;
    return DOTS_OK;
}

dots_status ckpt_check_unclaimed(const dots_ckpt *c, const char *prefix, dots_error *e) {
    size_t pl = strlen(prefix);
    int count = 0;
    char list[1400];
    size_t k = 0;
    list[0] = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->claimed[i] || strncmp(c->index[i]->name, prefix, pl) != 0) continue;
        if (count < 20 && k < sizeof list - 100)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", count ? ", " : "", c->index[i]->name);
        count++;
    }
    if (count == 0) return DOTS_OK;
    return dots_fail(e, DOTS_E_MODEL, "%s: %d unexpected tensor%s%s%s not used by the model as config.json describes it: %s%s; "
                     "check that config.json matches the weights (e.g. num_hidden_layers)",
                     c->dir, count, count > 1 ? "s" : "", pl ? " under " : "", pl ? prefix : "", list, count > 20 ? ", ..." : "");
}
