/* Restricted pickle interpreter for torch state dicts (see torch_pickle.h).
 *
 * Objects live in an arena (a singly linked list freed at the end), so
 * sharing through the memo needs no reference counting and cycles are
 * harmless. Every read is bounds-checked; the memo index is bounded by the
 * pickle length (a real pickle memoizes at most once per opcode), so a
 * hostile index cannot make us allocate gigabytes. */
#include "torch_pickle.h"

#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    O_NONE,
    O_BOOL,
    O_INT,
    O_FLOAT,
    O_STR,
    O_TUPLE,
    O_LIST,
    O_DICT, /* items = key, value, key, value, ... in insertion order */
    O_GLOBAL,
    O_STORAGE,
    O_TENSOR,
} obj_kind;

static const char *const kind_name[] = {"None", "bool",   "int",     "float",
                                        "str",  "tuple",  "list",    "dict",
                                        "global", "storage", "tensor"};

typedef enum {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR_V2,
    G_REBUILD_PARAMETER,
    G_STORAGE,
} global_id;

typedef struct obj {
    obj_kind kind;
    struct obj *arena_next;
    int64_t i;     /* INT, BOOL; STORAGE: numel */
    double f;      /* FLOAT */
    char *s;       /* STR (NUL-terminated copy); STORAGE: key */
    size_t slen;
    struct obj **items; /* TUPLE, LIST, DICT */
    size_t n, cap;
    global_id global; /* GLOBAL */
    vkr_dtype dtype;  /* GLOBAL G_STORAGE, STORAGE, TENSOR */
    /* TENSOR */
    struct obj *storage;
    int64_t offset;
    int ndim;
    int64_t shape[VKR_MAX_DIMS], stride[VKR_MAX_DIMS];
} obj;

typedef struct {
    const uint8_t *p;
    size_t len, pos, op_pos;
    const char *what;
    obj *arena;
    obj **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    obj **memo;
    size_t memo_len;   /* allocated slots */
    size_t memo_count; /* slots filled: MEMOIZE's next index, as len(memo) in Python */
} unpickler;

static const struct {
    const char *name;
    vkr_dtype dtype;
} storage_types[] = {
    {"FloatStorage", VKR_F32}, {"HalfStorage", VKR_F16},  {"BFloat16Storage", VKR_BF16},
    {"DoubleStorage", VKR_F64}, {"LongStorage", VKR_I64}, {"IntStorage", VKR_I32},
    {"ShortStorage", VKR_I16}, {"CharStorage", VKR_I8},  {"ByteStorage", VKR_U8},
    {"BoolStorage", VKR_BOOL},
};

#define FAIL(u, ...) fail_at(u, __VA_ARGS__)

VKR_PRINTF(2, 3) static int fail_at(const unpickler *u, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vkr_fail(VKR_E_DATA, "%s: data.pkl byte %zu: %s", u->what, u->op_pos, msg);
}

static obj *new_obj(unpickler *u, obj_kind kind)
{
    obj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = kind;
    o->arena_next = u->arena;
    u->arena = o;
    return o;
}

static void free_arena(unpickler *u)
{
    for (obj *o = u->arena, *next; o; o = next) {
        next = o->arena_next;
        free(o->s);
        free(o->items);
        free(o);
    }
    u->arena = NULL;
}

static int push(unpickler *u, obj *o)
{
    if (!o)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory while unpickling", u->what);
    if (u->sp == u->scap) {
        size_t cap = u->scap ? 2 * u->scap : 64;
        obj **s = realloc(u->stack, cap * sizeof *s);
        if (!s)
            return vkr_fail(VKR_E_INTERNAL, "%s: out of memory while unpickling", u->what);
        u->stack = s;
        u->scap = cap;
    }
    u->stack[u->sp++] = o;
    return VKR_OK;
}

/* Objects above the innermost mark may be popped; below it they may not. */
static size_t floor_sp(const unpickler *u) { return u->nmarks ? u->marks[u->nmarks - 1] : 0; }

static int pop(unpickler *u, obj **o)
{
    if (u->sp <= floor_sp(u))
        return FAIL(u, "stack underflow");
    *o = u->stack[--u->sp];
    return VKR_OK;
}

static int top(unpickler *u, obj **o)
{
    if (u->sp <= floor_sp(u))
        return FAIL(u, "stack underflow");
    *o = u->stack[u->sp - 1];
    return VKR_OK;
}

static int pop_mark(unpickler *u, size_t *mark)
{
    if (!u->nmarks)
        return FAIL(u, "no MARK on the stack");
    *mark = u->marks[--u->nmarks];
    return VKR_OK;
}

static int add_item(unpickler *u, obj *c, obj *item)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        obj **it = realloc(c->items, cap * sizeof *it);
        if (!it)
            return vkr_fail(VKR_E_INTERNAL, "%s: out of memory while unpickling", u->what);
        c->items = it;
        c->cap = cap;
    }
    c->items[c->n++] = item;
    return VKR_OK;
}

/* Takes `n` bytes of argument, or fails when the pickle ends first. */
static int take(unpickler *u, size_t n, const uint8_t **out)
{
    if (n > u->len - u->pos)
        return FAIL(u, "truncated (opcode needs %zu more bytes)", n);
    *out = u->p + u->pos;
    u->pos += n;
    return VKR_OK;
}

static uint64_t le(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static int push_str(unpickler *u, const uint8_t *b, size_t n)
{
    obj *o = new_obj(u, O_STR);
    if (!o || !(o->s = malloc(n + 1)))
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory while unpickling", u->what);
    memcpy(o->s, b, n);
    o->s[n] = 0;
    o->slen = n;
    return push(u, o);
}

static int push_int(unpickler *u, int64_t v, obj_kind kind)
{
    obj *o = new_obj(u, kind);
    if (o)
        o->i = v;
    return push(u, o);
}

static int resolve_global(unpickler *u, const char *module, const char *name)
{
    obj *g = new_obj(u, O_GLOBAL);
    if (!g)
        return push(u, NULL);
    if (strcmp(module, "collections") == 0 && strcmp(name, "OrderedDict") == 0)
        g->global = G_ORDERED_DICT;
    else if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_tensor_v2") == 0)
        g->global = G_REBUILD_TENSOR_V2;
    else if (strcmp(module, "torch._utils") == 0 && strcmp(name, "_rebuild_parameter") == 0)
        g->global = G_REBUILD_PARAMETER;
    else {
        size_t i, n = sizeof storage_types / sizeof storage_types[0];
        for (i = 0; i < n; i++)
            if (strcmp(module, "torch") == 0 && strcmp(name, storage_types[i].name) == 0)
                break;
        if (i == n)
            return FAIL(u,
                        "global '%s.%s' is not allowed (only tensor state dicts are read; "
                        "allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                        "torch._utils._rebuild_parameter, torch.*Storage)",
                        module, name);
        g->global = G_STORAGE;
        g->dtype = storage_types[i].dtype;
    }
    return push(u, g);
}

/* GLOBAL's argument: "module\nname\n". */
static int read_line(unpickler *u, char *buf, size_t cap)
{
    const uint8_t *nl = memchr(u->p + u->pos, '\n', u->len - u->pos);
    if (!nl)
        return FAIL(u, "GLOBAL: unterminated name");
    size_t n = (size_t)(nl - (u->p + u->pos));
    if (n >= cap || memchr(u->p + u->pos, 0, n))
        return FAIL(u, "GLOBAL: name too long or contains NUL");
    memcpy(buf, u->p + u->pos, n);
    buf[n] = 0;
    u->pos += n + 1;
    return VKR_OK;
}

static int int_tuple(unpickler *u, const obj *t, const char *what, int64_t *out, int *n)
{
    if (t->kind != O_TUPLE)
        return FAIL(u, "_rebuild_tensor_v2: %s is a %s, not a tuple", what, kind_name[t->kind]);
    if (t->n > VKR_MAX_DIMS)
        return FAIL(u, "_rebuild_tensor_v2: %zu dimensions, at most %d supported", t->n,
                    VKR_MAX_DIMS);
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != O_INT || t->items[i]->i < 0)
            return FAIL(u, "_rebuild_tensor_v2: %s[%zu] is not a non-negative int", what, i);
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return VKR_OK;
}

static int reduce(unpickler *u)
{
    obj *args = NULL, *fn = NULL;
    int rc;
    if ((rc = pop(u, &args)) || (rc = pop(u, &fn)))
        return rc;
    if (fn->kind != O_GLOBAL)
        return FAIL(u, "REDUCE on a %s", kind_name[fn->kind]);
    if (args->kind != O_TUPLE)
        return FAIL(u, "REDUCE arguments are a %s, not a tuple", kind_name[args->kind]);
    switch (fn->global) {
    case G_ORDERED_DICT:
        if (args->n != 0)
            return FAIL(u, "OrderedDict() with arguments is not supported");
        return push(u, new_obj(u, O_DICT));
    case G_REBUILD_PARAMETER:
        if (args->n != 3 || args->items[0]->kind != O_TENSOR)
            return FAIL(u, "_rebuild_parameter expects (tensor, requires_grad, hooks)");
        return push(u, args->items[0]);
    case G_REBUILD_TENSOR_V2: {
        /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        if (args->n != 6 && args->n != 7)
            return FAIL(u, "_rebuild_tensor_v2 with %zu arguments (expected 6 or 7)", args->n);
        obj **a = args->items;
        if (a[0]->kind != O_STORAGE)
            return FAIL(u, "_rebuild_tensor_v2: argument 0 is a %s, not a storage",
                        kind_name[a[0]->kind]);
        if (a[1]->kind != O_INT || a[1]->i < 0)
            return FAIL(u, "_rebuild_tensor_v2: storage offset is not a non-negative int");
        obj *t = new_obj(u, O_TENSOR);
        if (!t)
            return push(u, NULL);
        int nstride = 0;
        if ((rc = int_tuple(u, a[2], "size", t->shape, &t->ndim)) ||
            (rc = int_tuple(u, a[3], "stride", t->stride, &nstride)))
            return rc;
        if (nstride != t->ndim)
            return FAIL(u, "_rebuild_tensor_v2: %d sizes but %d strides", t->ndim, nstride);
        t->storage = a[0];
        t->dtype = a[0]->dtype;
        t->offset = a[1]->i;
        return push(u, t);
    }
    case G_STORAGE:
        break;
    }
    return FAIL(u, "REDUCE on a storage type is not allowed");
}

/* BINPERSID: ('storage', storage_type, key, location, numel) -> a storage. */
static int persistent_load(unpickler *u)
{
    obj *pid = NULL;
    int rc = pop(u, &pid);
    if (rc)
        return rc;
    if (pid->kind != O_TUPLE || pid->n != 5)
        return FAIL(u, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    obj **a = pid->items;
    if (a[0]->kind != O_STR || strcmp(a[0]->s, "storage") != 0)
        return FAIL(u, "persistent id kind is not 'storage'");
    if (a[1]->kind != O_GLOBAL || a[1]->global != G_STORAGE)
        return FAIL(u, "persistent id type is not a torch.*Storage");
    if (a[2]->kind != O_STR || a[2]->slen == 0 || strlen(a[2]->s) != a[2]->slen ||
        strchr(a[2]->s, '/'))
        return FAIL(u, "persistent id key is not a plain non-empty string");
    if (a[3]->kind != O_STR)
        return FAIL(u, "persistent id location is not a string");
    if (a[4]->kind != O_INT || a[4]->i < 0)
        return FAIL(u, "persistent id numel is not a non-negative int");
    obj *s = new_obj(u, O_STORAGE);
    if (!s || !(s->s = strdup(a[2]->s)))
        return push(u, NULL);
    s->dtype = a[1]->dtype;
    s->i = a[4]->i;
    return push(u, s);
}

static int memo_put(unpickler *u, uint64_t idx)
{
    obj *o = NULL;
    int rc = top(u, &o);
    if (rc)
        return rc;
    if (idx > u->len)
        return FAIL(u, "memo index %llu out of range", (unsigned long long)idx);
    if (idx >= u->memo_len) {
        size_t n = (size_t)idx + 1 > 2 * u->memo_len ? (size_t)idx + 1 : 2 * u->memo_len;
        obj **m = realloc(u->memo, n * sizeof *m);
        if (!m)
            return vkr_fail(VKR_E_INTERNAL, "%s: out of memory while unpickling", u->what);
        memset(m + u->memo_len, 0, (n - u->memo_len) * sizeof *m);
        u->memo = m;
        u->memo_len = n;
    }
    if (!u->memo[idx])
        u->memo_count++;
    u->memo[idx] = o;
    return VKR_OK;
}

static int memo_get(unpickler *u, uint64_t idx)
{
    if (idx >= u->memo_len || !u->memo[idx])
        return FAIL(u, "memo index %llu was never stored", (unsigned long long)idx);
    return push(u, u->memo[idx]);
}

/* Names of opcodes we refuse, for a readable error. */
static const char *opcode_name(uint8_t op)
{
    switch (op) {
    case 'c': return "GLOBAL";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 'P': return "PERSID";
    case 0x82: case 0x83: case 0x84: return "EXT";
    case 'B': case 'C': case 0x8e: return "BINBYTES";
    case 'S': case 'T': case 'U': return "STRING";
    case 'V': return "UNICODE";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 0x8b: return "LONG4";
    case 'F': return "FLOAT";
    case 'g': case 'p': return "GET/PUT (text)";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

static int make_tuple(unpickler *u, size_t from)
{
    obj *t = new_obj(u, O_TUPLE);
    if (!t)
        return push(u, NULL);
    size_t n = u->sp - from;
    if (n) {
        t->items = malloc(n * sizeof *t->items);
        if (!t->items)
            return push(u, NULL);
        memcpy(t->items, u->stack + from, n * sizeof *t->items);
        t->n = t->cap = n;
    }
    u->sp = from;
    return push(u, t);
}

static int run(unpickler *u, obj **result)
{
    int rc = VKR_OK;
    char module[256], name[256];
    for (;;) {
        const uint8_t *a = NULL; /* initialisers: GCC cannot see that rc guards them */
        u->op_pos = u->pos;
        if ((rc = take(u, 1, &a)))
            return FAIL(u, "pickle ends without STOP");
        uint8_t op = a[0];
        obj *x = NULL, *y = NULL, *c = NULL;
        size_t mark = 0;
        switch (op) {
        case 0x80: /* PROTO */
            if ((rc = take(u, 1, &a)))
                return rc;
            if (a[0] > 5)
                return FAIL(u, "pickle protocol %u is not supported", a[0]);
            break;
        case 0x95: /* FRAME: a length hint only */
            if ((rc = take(u, 8, &a)))
                return rc;
            break;
        case '.': /* STOP */
            if (u->sp != 1 || u->nmarks)
                return FAIL(u, "STOP with %zu objects and %zu marks on the stack", u->sp,
                            u->nmarks);
            *result = u->stack[0];
            return VKR_OK;
        case '(': /* MARK */
            if (u->nmarks == u->mcap) {
                size_t cap = u->mcap ? 2 * u->mcap : 16;
                size_t *m = realloc(u->marks, cap * sizeof *m);
                if (!m)
                    return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", u->what);
                u->marks = m;
                u->mcap = cap;
            }
            u->marks[u->nmarks++] = u->sp;
            break;
        case '}': rc = push(u, new_obj(u, O_DICT)); break;
        case ']': rc = push(u, new_obj(u, O_LIST)); break;
        case ')': rc = push(u, new_obj(u, O_TUPLE)); break;
        case 'N': rc = push(u, new_obj(u, O_NONE)); break;
        case 0x88: rc = push_int(u, 1, O_BOOL); break;
        case 0x89: rc = push_int(u, 0, O_BOOL); break;
        case 't': /* TUPLE */
            if ((rc = pop_mark(u, &mark)))
                return rc;
            rc = make_tuple(u, mark);
            break;
        case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
            if (u->sp - floor_sp(u) < (size_t)(op - 0x84))
                return FAIL(u, "stack underflow");
            rc = make_tuple(u, u->sp - (size_t)(op - 0x84));
            break;
        case 'd': case 'l': /* DICT / LIST from the items above the mark */
            if ((rc = pop_mark(u, &mark)))
                return rc;
            c = new_obj(u, op == 'd' ? O_DICT : O_LIST);
            if (!c)
                return push(u, NULL);
            if (op == 'd' && (u->sp - mark) % 2)
                return FAIL(u, "DICT with an odd number of items");
            for (size_t i = mark; i < u->sp; i++)
                if ((rc = add_item(u, c, u->stack[i])))
                    return rc;
            u->sp = mark;
            rc = push(u, c);
            break;
        case 'J': /* BININT */
            if ((rc = take(u, 4, &a)))
                return rc;
            rc = push_int(u, (int32_t)(uint32_t)le(a, 4), O_INT);
            break;
        case 'K': /* BININT1 */
            if ((rc = take(u, 1, &a)))
                return rc;
            rc = push_int(u, a[0], O_INT);
            break;
        case 'M': /* BININT2 */
            if ((rc = take(u, 2, &a)))
                return rc;
            rc = push_int(u, (int64_t)le(a, 2), O_INT);
            break;
        case 0x8a: { /* LONG1: n-byte little-endian two's complement */
            if ((rc = take(u, 1, &a)))
                return rc;
            size_t n = a[0];
            if (n > 8)
                return FAIL(u, "LONG1 of %zu bytes does not fit in 64 bits", n);
            if ((rc = take(u, n, &a)))
                return rc;
            uint64_t v = n ? le(a, (int)n) : 0;
            if (n && n < 8 && (a[n - 1] & 0x80))
                v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
            int64_t s;
            memcpy(&s, &v, sizeof s);
            rc = push_int(u, s, O_INT);
            break;
        }
        case 'G': { /* BINFLOAT: big-endian double */
            if ((rc = take(u, 8, &a)))
                return rc;
            uint64_t bits = 0;
            for (int i = 0; i < 8; i++)
                bits = bits << 8 | a[i];
            obj *f = new_obj(u, O_FLOAT);
            if (f)
                memcpy(&f->f, &bits, sizeof f->f);
            rc = push(u, f);
            break;
        }
        case 'X': case 0x8c: case 0x8d: { /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
            int nb = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            if ((rc = take(u, (size_t)nb, &a)))
                return rc;
            uint64_t n = le(a, nb);
            if (n > u->len - u->pos)
                return FAIL(u, "string of %llu bytes runs past the end of the pickle",
                            (unsigned long long)n);
            if ((rc = take(u, (size_t)n, &a)))
                return rc;
            rc = push_str(u, a, (size_t)n);
            break;
        }
        case 'c': /* GLOBAL */
            if ((rc = read_line(u, module, sizeof module)) ||
                (rc = read_line(u, name, sizeof name)))
                return rc;
            rc = resolve_global(u, module, name);
            break;
        case 0x93: /* STACK_GLOBAL */
            if ((rc = pop(u, &y)) || (rc = pop(u, &x)))
                return rc;
            if (x->kind != O_STR || y->kind != O_STR || strlen(x->s) != x->slen ||
                strlen(y->s) != y->slen)
                return FAIL(u, "STACK_GLOBAL arguments are not strings");
            rc = resolve_global(u, x->s, y->s);
            break;
        case 'R': rc = reduce(u); break;
        case 'b': /* BUILD: only the OrderedDict state (its _metadata) */
            if ((rc = pop(u, &x)) || (rc = top(u, &c)))
                return rc;
            if (c->kind != O_DICT)
                return FAIL(u, "BUILD on a %s is not allowed", kind_name[c->kind]);
            break;
        case 'Q': rc = persistent_load(u); break;
        case 's': /* SETITEM */
            if ((rc = pop(u, &y)) || (rc = pop(u, &x)) || (rc = top(u, &c)))
                return rc;
            if (c->kind != O_DICT)
                return FAIL(u, "SETITEM on a %s", kind_name[c->kind]);
            if ((rc = add_item(u, c, x)) || (rc = add_item(u, c, y)))
                return rc;
            break;
        case 'u': /* SETITEMS */
            if ((rc = pop_mark(u, &mark)))
                return rc;
            if (mark <= floor_sp(u) || u->stack[mark - 1]->kind != O_DICT)
                return FAIL(u, "SETITEMS without a dict below the mark");
            if ((u->sp - mark) % 2)
                return FAIL(u, "SETITEMS with an odd number of items");
            c = u->stack[mark - 1];
            for (size_t i = mark; i < u->sp; i++)
                if ((rc = add_item(u, c, u->stack[i])))
                    return rc;
            u->sp = mark;
            break;
        case 'a': /* APPEND */
            if ((rc = pop(u, &x)) || (rc = top(u, &c)))
                return rc;
            if (c->kind != O_LIST)
                return FAIL(u, "APPEND on a %s", kind_name[c->kind]);
            rc = add_item(u, c, x);
            break;
        case 'e': /* APPENDS */
            if ((rc = pop_mark(u, &mark)))
                return rc;
            if (mark <= floor_sp(u) || u->stack[mark - 1]->kind != O_LIST)
                return FAIL(u, "APPENDS without a list below the mark");
            c = u->stack[mark - 1];
            for (size_t i = mark; i < u->sp; i++)
                if ((rc = add_item(u, c, u->stack[i])))
                    return rc;
            u->sp = mark;
            break;
        case 'q': /* BINPUT */
            if ((rc = take(u, 1, &a)))
                return rc;
            rc = memo_put(u, a[0]);
            break;
        case 'r': /* LONG_BINPUT */
            if ((rc = take(u, 4, &a)))
                return rc;
            rc = memo_put(u, le(a, 4));
            break;
        case 0x94: /* MEMOIZE */
            rc = memo_put(u, u->memo_count);
            break;
        case 'h': /* BINGET */
            if ((rc = take(u, 1, &a)))
                return rc;
            rc = memo_get(u, a[0]);
            break;
        case 'j': /* LONG_BINGET */
            if ((rc = take(u, 4, &a)))
                return rc;
            rc = memo_get(u, le(a, 4));
            break;
        default:
            return FAIL(u, "opcode 0x%02x (%s) is not allowed in a state dict", op,
                        opcode_name(op));
        }
        if (rc)
            return rc;
    }
}

static int collect(unpickler *u, obj *root, vkr_pickled_tensor **out, int *n_out)
{
    if (root->kind != O_DICT)
        return vkr_fail(VKR_E_DATA, "%s: data.pkl holds a %s, not a state dict", u->what,
                        kind_name[root->kind]);
    /* {"state_dict": {...}} wrappers (training checkpoints) are unwrapped. */
    if (root->n == 2 && root->items[0]->kind == O_STR &&
        strcmp(root->items[0]->s, "state_dict") == 0 && root->items[1]->kind == O_DICT)
        root = root->items[1];
    size_t n = root->n / 2;
    if (n > INT32_MAX)
        return vkr_fail(VKR_E_DATA, "%s: too many tensors", u->what);
    vkr_pickled_tensor *t = calloc(n ? n : 1, sizeof *t);
    if (!t)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", u->what);
    int rc = VKR_OK;
    for (size_t k = 0; k < n; k++) {
        const obj *key = root->items[2 * k], *v = root->items[2 * k + 1];
        if (key->kind != O_STR || strlen(key->s) != key->slen) {
            rc = vkr_fail(VKR_E_DATA, "%s: state dict key %zu is a %s, not a string", u->what, k,
                          kind_name[key->kind]);
            break;
        }
        if (v->kind != O_TENSOR) {
            rc = vkr_fail(VKR_E_DATA, "%s: state dict entry '%s' is a %s, not a tensor", u->what,
                          key->s, kind_name[v->kind]);
            break;
        }
        t[k].name = strdup(key->s);
        t[k].storage_key = strdup(v->storage->s);
        if (!t[k].name || !t[k].storage_key) {
            rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", u->what);
            break;
        }
        t[k].dtype = v->dtype;
        t[k].storage_numel = v->storage->i;
        t[k].offset = v->offset;
        t[k].ndim = v->ndim;
        memcpy(t[k].shape, v->shape, sizeof t[k].shape);
        memcpy(t[k].stride, v->stride, sizeof t[k].stride);
    }
    if (rc) {
        vkr_pickled_tensors_free(t, (int)n); /* calloc'd: unset names are NULL */
        return rc;
    }
    *out = t;
    *n_out = (int)n;
    return VKR_OK;
}

int vkr_torch_unpickle(const uint8_t *pkl, size_t len, const char *what,
                       vkr_pickled_tensor **out, int *n_out)
{
    unpickler u = {.p = pkl, .len = len, .what = what};
    obj *root = NULL;
    *out = NULL;
    *n_out = 0;
    int rc = run(&u, &root);
    if (rc == VKR_OK)
        rc = collect(&u, root, out, n_out);
    free_arena(&u);
    free(u.stack);
    free(u.marks);
    free(u.memo);
    return rc;
}

void vkr_pickled_tensors_free(vkr_pickled_tensor *t, int n)
{
    if (!t)
        return;
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].storage_key);
    }
    free(t);
}
