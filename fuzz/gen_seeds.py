#!/usr/bin/env python3
"""Writes the generated seeds of fuzz/corpus (gen-*) and the dictionary fuzz/dict.

Each seed is a program in the byte format of fuzz/jac_fuzz.c (documented in
fuzz/README.md): one per op family and API call, plus the inputs that
reproduce the known engine bugs. Plain python3, no dependencies.

    python3 fuzz/gen_seeds.py fuzz/corpus fuzz/dict

The tables below mirror the pickers of jac_fuzz.c; check_tables() compares
them with the C source so the two cannot drift apart silently.
"""

import math
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
SIZE_MAX = (1 << 64) - 1
NONE = INT64_MIN  # JAC_SLICE_NONE and JAC_BATCH_NONE

SPECIAL_I64 = [
    0, 1, 2, 3, 4, 5, 7, 8, 16, 100, 1000, 4096, 65536, -1, -2, -3, -4, -7, -8, -100,
    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 2147483647, 2147483648,
    4294967295, 4294967296, -2147483648, -4294967296, 1 << 40,
    10**15, -(1 << 40), -(10**15),
    1 << 62, 1152921504606846975,
    1152921504606846976, 1 << 59, 3 << 40,
    1000000000, 9223372036854775800, 6, 9, 10, 31, 32, 33, 255, 256, 10000,
]
SPECIAL_SIZE = [0, 1, 2, 3, 4, 5, 8, 16, 17, 100, 1024, 100000, SIZE_MAX, SIZE_MAX - 1,
                1 << 32, 1 << 40, 1 << 62, SIZE_MAX // 8, SIZE_MAX // 8 + 1, 1 << 63]
SPECIAL_F64 = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, math.nan, -math.nan, math.inf, -math.inf,
               1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
               -2.2250738585072014e-308, 5e-324, 1e308, -1e308, 1e-308, 709.0, 710.0, -745.0,
               1e16, 1.5707963267948966, 3.0, 0.1, 1e-300, 1e300, -0.5, 37.0, -37.0, 1e154, 100.0]

# Opcodes: the index in OPS[] of jac_fuzz.c.
OP = dict(tensor_new=0, tensor_free=2, tensor_query=3, tensor_read=4, unary=5, binary=6,
          scalar=7, reduce=8, axis=9, reshape=10, transpose=11, slice=12, join=13, where=14,
          grad=15, jacobian_new=16, hessian_new=17, jac_blocks=18, jac_block_shape=19,
          jac_read_shape=20, jac_read=21, jac_rows=22, jac_set_block_rows=23, jac_free=24,
          misc=25)
N_OPS = 26
# The function calls: opcode bytes from FUNCTION_BASE on (FUNCTION_CALLS[] of
# jac_fuzz.c; each call has several bytes, this names the first).
FUNCTION_BASE = 234
FUNCTION_CALLS = (["function_new"] * 4 + ["function_free"] * 2 + ["function_query"] * 2
                  + ["function_eval"] * 4 + ["function_vjp"] * 2 + ["function_jvp", "function_hvp"]
                  + ["function_jacobian"] * 3
                  + ["function_hessian"] * 3)
FOP = {name: FUNCTION_BASE + FUNCTION_CALLS.index(name) for name in FUNCTION_CALLS}
UNARY = ["neg", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus",
         "sqrt", "square", "abs", "erf"]
BINARY = ["add", "sub", "mul", "div", "matmul", "minimum", "maximum", "pow", "atan2", "less",
          "less_equal", "greater", "greater_equal", "equal"]
SCALAR = ["scale", "add_scalar", "pow_scalar", "clamp"]
# The ops along one axis (opcode 9), by (f >> 1) % 7 of their flag byte.
AXIS_OPS = ["max", "min", "softmax", "log_softmax", "cumsum", "gather", "scatter_add"]
ALL, INT, SLICE, ELLIPSIS = 0, 1, 2, 3
NT, NJ, NF, MAXL = 16, 4, 4, 4
NULL_SLOT = 0xFF
MIXED = 0xFE      # a tensor slot: a live Jacobian; a Jacobian or function slot: a live tensor
MIXED_FN = 0xFC   # a tensor or Jacobian slot: a live function; a function slot: a live Jacobian
# Sparse handles: a tensor, Jacobian or function slot 0xFB is a live JacSparse;
# a sparse slot 0xFE a live tensor, 0xFC a live Jacobian, 0xFB a live function.
MIXED_SPARSE = 0xFB
NS = 4
SPARSE_POINT_BIT = 0x80   # of the point byte of function_jacobian / _hessian
SPARSE_QUERY_BYTE = 0xC0  # a function_query which byte from here on: op_sparse(which % 8)


def check_tables():
    src = open(os.path.join(HERE, "jac_fuzz.c")).read()

    def count(decl):
        body = re.search(re.escape(decl) + r"\[\] = \{(.*?)\};", src, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        return len([x for x in body.split(",") if x.strip()])

    for decl, table in [("static const int64_t SPECIAL_I64", SPECIAL_I64),
                        ("static const size_t SP", SPECIAL_SIZE),
                        ("static const double SP", SPECIAL_F64)]:
        assert count(decl) == len(table), "%s differs from jac_fuzz.c" % decl
    ops = re.search(r"OPS\[\] = \{(.*?)\};", src, re.S).group(1)
    names = [x.strip() for x in ops.split(",") if x.strip()]
    assert len(names) == N_OPS, "OPS[] of jac_fuzz.c has %d entries" % len(names)
    for name, code in OP.items():
        assert names[code] == "op_" + name, (name, code, names[code])
    base = int(re.search(r"#define FUNCTION_BASE (\d+)", src).group(1))
    assert base == FUNCTION_BASE, "FUNCTION_BASE of jac_fuzz.c is %d" % base
    calls = re.search(r"FUNCTION_CALLS\[\] = \{(.*?)\};", src, re.S).group(1)
    calls = [x.strip() for x in calls.split(",") if x.strip()]
    assert calls == ["op_" + n for n in FUNCTION_CALLS], "FUNCTION_CALLS[] differs from jac_fuzz.c"
    for name, n in [("NT", NT), ("NJ", NJ), ("NF", NF), ("NS", NS), ("MAXL", MAXL),
                    ("SPARSE_POINT_BIT", SPARSE_POINT_BIT), ("SPARSE_QUERY_BYTE", SPARSE_QUERY_BYTE),
                    ("MIX_SPARSE_BYTE", MIXED_SPARSE)]:
        assert int(re.search(r"#define %s (0x[0-9A-Fa-f]+|\d+)" % name, src).group(1), 0) == n, name


def u64(v):
    return struct.pack("<Q", v & SIZE_MAX)


def special_byte(v, table, lo=0xC0, hi=0xFE):
    i = table.index(v)
    for b in range(lo, hi + 1):
        if b % len(table) == i:
            return bytes([b])
    raise ValueError(v)


def dim(v):
    if 0 <= v <= 5:
        return bytes([v])
    return special_byte(v, SPECIAL_I64)


def axis(v):
    if -8 <= v <= 7:
        return bytes([v + 8])
    if v in SPECIAL_I64:
        return special_byte(v, SPECIAL_I64)
    return b"\xff" + u64(v)


def bound(v):
    if v == NONE:
        return b"\x00"
    if -8 <= v <= 7:
        return bytes([0x20 + v + 8])
    if v in SPECIAL_I64:
        return special_byte(v, SPECIAL_I64)
    return b"\xff" + u64(v)


def step(v):
    if v == NONE:
        return b"\x00"
    if v == 1:
        return b"\x18"
    if -4 <= v <= 4:
        for b in range(0x30, 0xC0):
            if b % 9 - 4 == v:
                return bytes([b])
    if v in SPECIAL_I64:
        return special_byte(v, SPECIAL_I64)
    return b"\xff" + u64(v)


def size(v):
    if 0 <= v <= 7:
        return bytes([v])
    if v in SPECIAL_SIZE:
        return special_byte(v, SPECIAL_SIZE)
    return b"\xff" + u64(v)


def f64(v):
    if v == v and -16 <= v * 4 < 16 and v * 4 == int(v * 4) \
            and not (v == 0 and math.copysign(1, v) < 0):
        return bytes([int(v * 4) + 16])
    for i, s in enumerate(SPECIAL_F64):
        same = (s == v and math.copysign(1, s) == math.copysign(1, v)) or (
            s != s and v != v and math.copysign(1, s) == math.copysign(1, v))
        if same:
            return bytes([0x80 + i])
    return b"\xf0" + struct.pack("<d", v)


def position(v):
    """An index of jac_gather / jac_scatter_add that decodes the same for any
    length: bytes 0x80..0xBF are b % 16 - 8, else as an axis."""
    if -8 <= v <= 7:
        return bytes([0x88 + v])
    if v in SPECIAL_I64:
        return special_byte(v, SPECIAL_I64)
    return b"\xff" + u64(v)


def batch(v):
    return {NONE: b"\x00", 0: b"\x03", 1: b"\x05", -1: b"\x06"}.get(v) or b"\xff" + u64(v)


def nulls(mask=0):
    return bytes([0xE0 + mask]) if mask else b"\x00"


def slot(s):
    return bytes([s])


def solve(pred):
    for f in range(256):
        if pred(f):
            return bytes([f])
    raise ValueError("no flag byte")


class P:
    """A program: a list of encoded calls."""

    def __init__(self):
        self.b = b""

    def raw(self, *parts):
        for p in parts:
            self.b += p if isinstance(p, bytes) else bytes([p])
        return self

    def tensor(self, dims, vals=(1.0,), rg=True, lenmode=0, length=None, null=0):
        vals = list(vals)[:8] or [0.0]
        flags = int(rg) | (lenmode << 1) | ((len(vals) - 1) << 4)
        self.raw(OP["tensor_new"], len(dims), *[dim(d) for d in dims], flags,
                 *[f64(v) for v in vals], nulls(null))
        if lenmode == 7:
            self.raw(size(length))
        return self

    def full(self, dims, value=1.0, rg=True, null=0):
        """jac_tensor_full: opcode 0 with bit 7 of its flags (one value)."""
        return self.raw(OP["tensor_new"], len(dims), *[dim(d) for d in dims], int(rg) | 0x80, f64(value),
                        nulls(null))

    def clone(self, t, null=0):
        """jac_tensor_clone: opcode 3 with an even query byte >= 0xE0."""
        return self.raw(OP["tensor_query"], 0xE0, slot(t), nulls(null))

    def read_element(self, t, index, ranked=False, null=0):
        """jac_tensor_read_element: opcode 3 with an odd query byte >= 0xE1;
        ranked: the count byte that means t's rank (index must have that
        many positions), else one that gives len(index)."""
        count = 0x00 if ranked else 0xC0 + len(index)
        return self.raw(OP["tensor_query"], 0xE1, slot(t), count, *[position(i) for i in index], nulls(null))

    def free(self, s):
        return self.raw(OP["tensor_free"], s)

    def query(self, which, t, cap=8, null=0):
        self.raw(OP["tensor_query"], which, slot(t), nulls(null))
        if which == 1:
            self.raw(size(cap))
        return self

    def read(self, t, lenmode=0, length=0, null=0):
        self.raw(OP["tensor_read"], slot(t), nulls(null), lenmode)
        if lenmode == 7:
            self.raw(size(length))
        return self

    def unary(self, name, a, null=0):
        return self.raw(OP["unary"], UNARY.index(name), slot(a), nulls(null))

    def binary(self, name, a, b, null=0):
        return self.raw(OP["binary"], BINARY.index(name), slot(a), slot(b), nulls(null))

    def scalar(self, name, a, s, null=0, hi=None):
        """`s` is the scalar; clamp takes `s` as lo and `hi`."""
        extra = [f64(hi)] if name == "clamp" else []
        return self.raw(OP["scalar"], SCALAR.index(name), slot(a), f64(s), *extra, nulls(null))

    def reduce(self, a, axes=(), mean=False, keepdim=False, null=0, lse=False):
        """jac_sum, jac_mean, or (lse: a flag byte >= 0xA0, bit 0 clear) jac_logsumexp."""
        assert not (mean and lse)
        f = int(mean) | (int(keepdim) << 1) | ((len(axes) + (40 if lse else 0)) << 2)
        return self.raw(OP["reduce"], f, slot(a), *[axis(x) for x in axes], nulls(null))

    def logsumexp(self, a, axes=(), keepdim=False, null=0):
        return self.reduce(a, axes, keepdim=keepdim, null=null, lse=True)

    def along(self, name, a, ax, keepdim=False, idx=(), dim_=0, count=None, null=0):
        """An op along one axis. gather/scatter_add take the positions idx
        (each encoded as itself, whatever the axis length), or with count a
        NULL idx of that length; scatter_add its dim_ first."""
        self.raw(OP["axis"], slot(a), axis(ax), (AXIS_OPS.index(name) << 1) | int(keepdim))
        if name == "scatter_add":
            self.raw(dim(dim_))
        if name in ("gather", "scatter_add"):
            if count is not None:
                self.raw(0xF0, size(count))
            else:
                assert len(idx) <= 7
                self.raw(len(idx), *[position(i) for i in idx])
        return self.raw(nulls(null))

    def max(self, a, ax, keepdim=False, null=0):
        return self.along("max", a, ax, keepdim, null=null)

    def reshape(self, a, dims, null=0, broadcast=False):
        """jac_reshape, or (broadcast) jac_broadcast_to: its count byte >= 0x80."""
        enc = []
        for d in dims:
            if d == -1:
                enc.append(b"\x00")
            elif 0 <= d <= 5:
                enc.append(bytes([0x42 + d]))
            elif 0 <= d <= 255:
                enc.append(b"\x30" + bytes([d]))
            else:
                enc.append(special_byte(d, SPECIAL_I64))
        return self.raw(OP["reshape"], slot(a), len(dims) + (0x80 if broadcast else 0), *enc, nulls(null))

    def broadcast_to(self, a, dims, null=0):
        return self.reshape(a, dims, null, broadcast=True)

    def transpose(self, a, perm, null=0):
        return self.raw(OP["transpose"], slot(a), 0xE0 + len(perm), *[axis(p) for p in perm], nulls(null))

    def slice(self, a, ax, start=NONE, stop=NONE, st=NONE, null=0):
        return self.raw(OP["slice"], slot(a), axis(ax), bound(start), bound(stop), step(st), nulls(null))

    def join(self, stack, ts, ax, null=0):
        return self.raw(OP["join"], int(stack) | (len(ts) << 1), *[slot(t) for t in ts], axis(ax), nulls(null))

    def where(self, c, a, b, null=0):
        return self.raw(OP["where"], slot(c), slot(a), slot(b), nulls(null))

    def grad(self, ys, xs, gs=None, create_graph=False, null=0):
        f = solve(lambda f: f % 5 == len(ys) and (f >> 3) % 5 == len(xs) and bool(f & 0x80) == create_graph)
        self.raw(OP["grad"], f, *[slot(y) for y in ys], *[slot(x) for x in xs])
        self.raw(1 if gs is not None else 0, *[slot(g) for g in (gs or [])])
        return self.raw(nulls(null))

    def jvp(self, ys, xs, ts=None, create_graph=False, null=0):
        """jac_jvp: opcode 15 with bit 1 of its second byte set."""
        f = solve(lambda f: f % 5 == len(ys) and (f >> 3) % 5 == len(xs) and bool(f & 0x80) == create_graph)
        self.raw(OP["grad"], f, *[slot(y) for y in ys], *[slot(x) for x in xs])
        self.raw(3 if ts is not None else 2, *[slot(t) for t in (ts or [])])
        return self.raw(nulls(null))

    def jacobian(self, ys, xs, b=NONE, null=0):
        f = solve(lambda f: f % 5 == len(ys) and (f >> 3) % 5 == len(xs) and not f & 0x80)
        return self.raw(OP["jacobian_new"], f, *[slot(y) for y in ys], *[slot(x) for x in xs],
                        batch(b), nulls(null))

    def hessian(self, y, xs, b=NONE, null=0):
        return self.raw(OP["hessian_new"], slot(y), len(xs), *[slot(x) for x in xs], batch(b), nulls(null))

    def blocks(self, j, null=0):
        return self.raw(OP["jac_blocks"], j, nulls(null))

    @staticmethod
    def _blk(i):
        return bytes([i]) if 0 <= i < MAXL else b"\xe0" + size(i)

    @staticmethod
    def _index(items):
        out = bytes([len(items)])
        for it in items:
            kind = it[0]
            if kind == ALL:
                out += b"\x00"
            elif kind == ELLIPSIS:
                out += b"\x03"
            elif kind == INT:
                out += b"\x01" + axis(it[1])
            elif kind == SLICE:
                out += b"\x02" + bound(it[1]) + bound(it[2]) + step(it[3])
            else:  # an invalid kind: 0xF0 + k picks BAD[k % 8]
                out += bytes([0xF0 + it[1]]) + bound(NONE) + bound(NONE) + step(NONE)
        return out

    def block_shape(self, j, i, k, cap=3, null=0):
        return self.raw(OP["jac_block_shape"], j, self._blk(i), self._blk(k), size(cap), nulls(null))

    def read_shape(self, j, i, k, index=(), cap=3, null=0):
        return self.raw(OP["jac_read_shape"], j, self._blk(i), self._blk(k), self._index(index), size(cap), nulls(null))

    def jread(self, j, i, k, index=(), again=True, lenmode=0, length=0, null=0):
        self.raw(OP["jac_read"], j, self._blk(i), self._blk(k), self._index(index), int(again), nulls(null), lenmode)
        if lenmode == 7:
            self.raw(size(length))
        return self

    def rows(self, j, i, null=0):
        return self.raw(OP["jac_rows"], j, self._blk(i), nulls(null))

    def set_block_rows(self, j, rows):
        return self.raw(OP["jac_set_block_rows"], 0, j, size(rows))

    def set_mode(self, j, mode):
        """jac_jacobian_set_mode: opcode 23 with an odd first byte; mode -2..4."""
        return self.raw(OP["jac_set_block_rows"], 1, j, (mode + 2) % 7)

    def columns(self, j, c, null=0):
        """jac_jacobian_columns_evaluated: opcode 22 with bit 3 of its nulls."""
        return self.raw(OP["jac_rows"], j, self._blk(c), nulls(8 | null))

    def jfree(self, j):
        return self.raw(OP["jac_free"], j)

    def version(self):
        return self.raw(OP["misc"], 1)

    # --- functions. A fault list is [(list, kind[, entry[, len]])], list an
    # index into the call's buffer lists (eval: in, out; vjp: in, cot, grads;
    # jacobian/hessian: in), kind 0-7 as bl_fault: 0 array NULL, 1 lengths
    # NULL, 2/3 either misaligned, 4 entry NULL, 5 entry misaligned, 6 entry
    # length, 7 share an earlier entry of the same numel (a read-only list),
    # else a length. entry is read for kinds >= 4, len (a pick_len byte: 5 +1,
    # 6 -1; or a size) for kind 6 and for kind 7 when given: give it to kind 7
    # exactly when the C side finds nothing to share.
    @staticmethod
    def _faults(faults, nlists):
        if not faults:
            return b"\x00"
        assert 1 <= len(faults) <= 3
        out = bytes([0xC0 + len(faults) - 1])
        for f in faults:
            lst, kind = f[0], f[1]
            out += bytes([kind * nlists + lst])
            if kind >= 4:
                out += bytes([f[2]])
            if kind == 6 or (kind == 7 and len(f) > 3):
                out += bytes([f[3]]) if f[3] < 7 else b"\x07" + size(f[3])
        return out

    @staticmethod
    def _point(vals=None, again=False):
        if vals is None:
            return bytes([2 if again else 0])
        vals = list(vals)[:8]
        return bytes([1 | (2 if again else 0) | ((len(vals) - 1) << 2)]) + b"".join(f64(v) for v in vals)

    def fnew(self, ins, outs, null=0):
        f = solve(lambda f: f % 5 == len(ins) and (f >> 3) % 5 == len(outs) and not f & 0x80)
        return self.raw(FOP["function_new"], f, *[slot(t) for t in ins], *[slot(t) for t in outs], nulls(null))

    def ffree(self, f):
        return self.raw(FOP["function_free"], f)

    def fquery(self, which, f, i=0, cap=8, null=0):
        self.raw(FOP["function_query"], which, slot(f), nulls(null))
        if which >= 2:
            self.raw(self._blk(i), size(cap))
        return self

    def feval(self, f, vals=None, again=False, faults=()):
        return self.raw(FOP["function_eval"], slot(f), self._point(vals, again), self._faults(faults, 2))

    def fvjp(self, f, vals=None, cot="null", again=False, faults=()):
        if cot == "null":
            c = b"\x00"
        elif cot == "null-lens":
            c = b"\x01"
        elif cot == "ones":
            c = b"\x02"
        else:
            cv = list(cot)[:8]
            c = bytes([3 | ((len(cv) - 1) << 2)]) + b"".join(f64(v) for v in cv)
        return self.raw(FOP["function_vjp"], slot(f), self._point(vals, again), c, self._faults(faults, 3))

    @staticmethod
    def _point_and(vals, extra):
        """The point byte of a jvp/hvp: its count of values, (b >> 2) % 8 + 1,
        is that of the tangents `extra` too (and of `vals`, when given)."""
        extra = list(extra)[:8]
        n = len(extra)
        if vals is None:
            return bytes([(n - 1) << 2]), b"".join(f64(v) for v in extra)
        vals = (list(vals) * n)[:n]
        return bytes([1 | ((n - 1) << 2)]), b"".join(f64(v) for v in vals + extra)

    def fjvp(self, f, tan, vals=None, faults=()):
        pm, rest = self._point_and(vals, tan)
        return self.raw(FOP["function_jvp"], slot(f), pm, rest, self._faults(faults, 3))

    def fhvp(self, f, output, v, vals=None, faults=()):
        pm, rest = self._point_and(vals, v)
        return self.raw(FOP["function_hvp"], slot(f), pm, self._blk(output), rest, self._faults(faults, 3))

    def fjac(self, f, vals=None, b=NONE, faults=(), null=0):
        return self.raw(FOP["function_jacobian"], slot(f), self._point(vals), self._faults(faults, 1), batch(b), nulls(null))

    def fhess(self, f, output=0, vals=None, b=NONE, faults=(), null=0):
        return self.raw(FOP["function_hessian"], slot(f), self._blk(output), self._point(vals), self._faults(faults, 1),
                        batch(b), nulls(null))

    # --- sparse Jacobians and Hessians: jac_function_jacobian / _hessian with
    # bit 7 of the point byte, and function_query which bytes 0xC0 + k.
    @staticmethod
    def _len(lenmode, length):
        return bytes([lenmode]) + (size(length) if lenmode == 7 else b"")

    def sjac(self, f, output=0, inp=0, vals=None, again=False, null=0):
        pt = self._point(vals, again)
        return self.raw(FOP["function_jacobian"], slot(f), pt[0] | SPARSE_POINT_BIT, pt[1:], self._blk(output),
                        self._blk(inp), nulls(null))

    def shess(self, f, output=0, vals=None, again=False, null=0):
        pt = self._point(vals, again)
        return self.raw(FOP["function_hessian"], slot(f), self._blk(output), pt[0] | SPARSE_POINT_BIT, pt[1:], nulls(null))

    def squery(self, which, sp, null=0):
        """which: 0 jac_sparse_shape, 1 _nnz, 2 _colors."""
        return self.raw(FOP["function_query"], SPARSE_QUERY_BYTE + which, slot(sp), nulls(null))

    def spattern(self, sp, lenmode=0, length=0, null=0):
        return self.raw(FOP["function_query"], SPARSE_QUERY_BYTE + 3, slot(sp), self._len(lenmode, length), nulls(null))

    def seval(self, sp, vals=None, again=False, faults=(), lenmode=0, length=0, null=0):
        return self.raw(FOP["function_query"], SPARSE_QUERY_BYTE + 4, slot(sp), self._point(vals, again),
                        self._faults(faults, 1), self._len(lenmode, length), nulls(null))

    def sfree(self, sp):
        return self.raw(FOP["function_query"], SPARSE_QUERY_BYTE + 6, slot(sp))

    def smix(self, free_ty):
        """A live JacSparse passed to jac_tensor_free (0), jac_jacobian_free (1), jac_function_free (2)."""
        return self.raw(FOP["function_query"], SPARSE_QUERY_BYTE + 7, free_ty)

    def status_name(self, code):
        if -8 <= code <= 55:
            return self.raw(OP["misc"], (code + 8) << 2)
        return self.raw(OP["misc"], 2, struct.pack("<i", code))


BIG = 1 << 40
P15 = 10**15
VALS = (0.5, -1.25, 2.0, 3.0, -0.75, 1.5, -2.0, 0.25)


def seeds():
    s = {}

    # --- tensors: creation, queries, reads, frees
    p = P().tensor([2, 3], VALS).tensor([], (3.0,), rg=False).tensor([BIG, 0, 1], ())
    p.tensor([0], ()).tensor([4], (math.nan, math.inf, -math.inf, -0.0))
    for which in range(4):
        p.query(which, 0).query(which, 1).query(which, 2)
    p.query(1, 0, cap=1).query(1, 0, cap=SIZE_MAX).query(1, 1, cap=0).query(1, 2, cap=0, null=1)
    p.read(0).read(1).read(2).read(4).read(0, lenmode=5).read(0, lenmode=7, length=SIZE_MAX)
    p.read(3, null=1).query(0, NULL_SLOT).read(NULL_SLOT).free(1).free(NULL_SLOT).read(0)
    s["tensor"] = p
    p = P().tensor([-1, 2]).tensor([INT64_MAX, 2, 0], ()).tensor([2, 2], lenmode=5)
    p.tensor([2, 2], lenmode=7, length=SIZE_MAX).tensor([3], null=1).tensor([3], null=2).tensor([3], null=4)
    p.tensor([], null=2).tensor([1 << 62, 4], ()).tensor([2147483648, 2147483648, 0], ())
    p.tensor([1, 1, 1, 1, 1, 1], (7.0,))
    s["tensor-invalid"] = p

    # --- elementwise
    for k, name in enumerate(UNARY):
        p = P().tensor([2, 4], (0.5, -1.0, 0.0, -0.0, math.nan, math.inf, 710.0, -745.0))
        p.tensor([BIG, 0], ()).tensor([], (0.25,))
        p.unary(name, 0).unary(name, 1).unary(name, 2).unary(name, 0, null=1).unary(name, NULL_SLOT)
        s["unary-%s" % name] = p
    p = P().tensor([2, 1, 3], VALS).tensor([4, 1], (1.0, -2.0, 0.0, math.nan)).tensor([3], (0.0, -0.0, 2.0))
    p.tensor([BIG, 0, 1], ()).tensor([1, 0, 7], ()).tensor([5], VALS)
    for name in BINARY[:4]:
        p.binary(name, 0, 1).binary(name, 1, 2).binary(name, 3, 4).binary(name, 0, 5).binary(name, 2, 2)
    s["binary"] = p
    p = P().tensor([2, 3], VALS).tensor([3, 4], VALS).tensor([3], VALS).tensor([2, 2, 3], VALS)
    p.tensor([BIG, 0], ()).tensor([0, 5], ()).tensor([], (2.0,))
    p.binary("matmul", 0, 1).binary("matmul", 2, 1).binary("matmul", 0, 2).binary("matmul", 2, 2)
    p.binary("matmul", 3, 1).binary("matmul", 1, 0).binary("matmul", 4, 5).binary("matmul", 5, 4)
    p.binary("matmul", 6, 2).binary("matmul", 1, 4)
    s["matmul"] = p
    p = P().tensor([3], (1.0, -2.0, 0.0)).tensor([BIG, 0], ())
    for name in SCALAR[:3]:
        for v in (2.0, -0.5, 0.0, math.nan, math.inf, 1e308, 0.5):
            p.scalar(name, 0, v)
        p.scalar(name, 1, 3.0)
    s["scalar"] = p

    # --- reductions
    p = P().tensor([2, 3, 4], VALS).tensor([BIG, 0, 1], ()).tensor([0, 3], ()).tensor([], (5.0,))
    for mean in (False, True):
        for keep in (False, True):
            p.reduce(0, (), mean, keep).reduce(0, (1,), mean, keep).reduce(0, (-1, 0), mean, keep)
            p.reduce(0, (0, 0), mean, keep).reduce(0, (3,), mean, keep).reduce(2, (0,), mean, keep)
            p.reduce(3, (), mean, keep).reduce(3, (0,), mean, keep)
    s["reduce"] = p
    p = P().tensor([2, 3], (1.0, math.nan, -0.0, 0.0, 3.0, 3.0)).tensor([0, 2], ()).tensor([], (1.0,))
    p.max(0, 0).max(0, 1, True).max(0, -1).max(0, 2).max(1, 0).max(1, 1).max(2, 0)
    s["max"] = p

    # --- along one axis: min, softmax, log_softmax, cumsum, gather,
    # scatter_add, and logsumexp (a reduction). Values with ties, -0, NaN,
    # +-inf, 1000 and -1000 (the max shift), empty and huge empty tensors.
    p = P().tensor([2, 3], (1.0, math.nan, -0.0, 0.0, 3.0, 3.0)).tensor([0, 2], ()).tensor([], (1.0,))
    p.tensor([BIG, 0, 1], ()).tensor([2, 2], (-1.0, -1.0, math.inf, -math.inf))
    p.along("min", 0, 0).along("min", 0, 1, True).along("min", 0, -1).along("min", 0, 2).along("min", 1, 0)
    p.along("min", 1, 1).along("min", 2, 0).along("min", 3, 2).along("min", 3, 1).along("min", 4, 1, True)
    p.along("min", 0, 0, null=1).along("min", NULL_SLOT, 0)
    s["axis-min"] = p
    rows = (0.5, -1.25, 2.0, 1000.0, 999.0, -1000.0, -math.inf, 0.0, -math.inf, -math.inf, -math.inf, 1.0,
            math.inf, 2.0, -math.inf, math.inf, math.nan, 3.0, 1e308, -1e308, 0.0, 710.0, 709.0, -745.0)
    for name in ("softmax", "log_softmax"):
        p = P().tensor([8, 3], rows[:8]).tensor([8, 3], rows[8:16]).tensor([8, 3], rows[16:])
        p.tensor([BIG, 0, 1], ()).tensor([0, 3], ()).tensor([], (2.0,))
        for t in range(3):
            p.along(name, t, 1).along(name, t, 0).along(name, t, -1)
        p.along(name, 0, 2).along(name, 0, -3).along(name, 3, 0).along(name, 3, 1).along(name, 3, -1)
        p.along(name, 4, 0).along(name, 4, 1).along(name, 5, 0).along(name, 5, -1).along(name, 0, 1, null=1)
        p.along(name, NULL_SLOT, 0)
        s["axis-" + name.replace("_", "-")] = p
    p = P().tensor([8, 3], rows[:8]).tensor([8, 3], rows[8:16]).tensor([8, 3], rows[16:])
    p.tensor([BIG, 0, 1], ()).tensor([0, 3], ()).tensor([], (2.0,)).tensor([2, 3, 4], VALS)
    for t in range(3):
        p.logsumexp(t, (1,)).logsumexp(t, (0,), True).logsumexp(t, ())
    p.logsumexp(6, (-1, 0)).logsumexp(6, (2, 1), True).logsumexp(6, (0, 0)).logsumexp(6, (3,))
    p.logsumexp(6, (1, -2)).logsumexp(3, ()).logsumexp(3, (0,)).logsumexp(3, (1,), True).logsumexp(3, (1,))
    p.logsumexp(4, (0,)).logsumexp(4, (1,)).logsumexp(4, (), True).logsumexp(5, ()).logsumexp(5, (0,))
    p.logsumexp(6, (1,), null=2).logsumexp(6, (), null=2).logsumexp(6, (), null=1).logsumexp(NULL_SLOT, ())
    s["reduce-logsumexp"] = p
    p = P().tensor([2, 3, 2], VALS).tensor([3, 2], (1e300, 1e300, -1e300, math.inf, math.nan, -math.inf))
    p.tensor([4], (math.inf, -math.inf, 1.0, 2.0)).tensor([BIG, 0, 1], ()).tensor([], (1.0,)).tensor([0, 3], ())
    p.along("cumsum", 0, 0).along("cumsum", 0, 1).along("cumsum", 0, 2).along("cumsum", 0, -1)
    p.along("cumsum", 0, 3).along("cumsum", 0, -4).along("cumsum", 1, 0).along("cumsum", 1, 1)
    p.along("cumsum", 2, 0).along("cumsum", 3, 0).along("cumsum", 3, 1).along("cumsum", 3, 2)
    p.along("cumsum", 4, 0).along("cumsum", 5, 0).along("cumsum", 5, 1).along("cumsum", 0, 0, null=1)
    p.along("cumsum", NULL_SLOT, 0)
    s["axis-cumsum"] = p
    p = P().tensor([3, 2], (1.0, -0.0, math.nan, 2.0, -3.0, math.inf)).tensor([BIG, 0], ())
    p.tensor([], (1.0,)).tensor([1 << 59, 0, 1], ()).tensor([0, 4], ())
    for ax, idx in [(0, [2, 0, -1]), (0, [1, 1, 1, -2]), (0, []), (1, [1]), (-1, [0, -2, 1, 0]), (0, [3]),
                    (0, [-4]), (0, [INT64_MIN]), (0, [0, INT64_MAX]), (2, [0]), (-3, [0]), (1, [2]),
                    (0, [0, 1, 2, 0, 1, 2, -3])]:
        p.along("gather", 0, ax, idx=idx)
    p.along("gather", 0, 0, count=0).along("gather", 0, 0, count=3).along("gather", 0, 0, count=SIZE_MAX)
    p.along("gather", 0, 0, idx=[1], null=2).along("gather", 0, 0, idx=[1], null=1)
    p.along("gather", 0, 5, idx=[1, 2], null=2).along("gather", NULL_SLOT, 0, idx=[0])
    p.along("gather", 1, 0, idx=[BIG - 1, -BIG, 0]).along("gather", 1, 0, idx=[BIG]).along("gather", 1, 1, idx=[])
    p.along("gather", 1, 1, idx=[0]).along("gather", 2, 0, idx=[0]).along("gather", 3, 2, idx=[0, 0, 0, 0])
    p.along("gather", 3, 2, idx=[0]).along("gather", 3, 0, idx=[5, -1]).along("gather", 4, 1, idx=[3, 0, -4])
    p.along("gather", 4, 0, idx=[0])
    s["axis-gather"] = p
    p = P().tensor([3, 2], (1.0, -0.0, math.nan, 2.0, -3.0, math.inf)).tensor([3, 0], ()).tensor([0], ())
    p.tensor([], (1.0,)).tensor([2, 3], (1e300, 1e300, 0.5, 1e300, -1e300, 0.25))
    for ax, idx, d in [(0, [1, -1, 1], 4), (0, [0, 1, 2], 3), (0, [2, 0, 1], 5), (1, [0, 0], 1), (-1, [1, 0], 2),
                       (0, [0, 1], 3), (0, [0, 1, 2], -1), (0, [0, 1, 4], 4), (0, [0, 1, -5], 4), (2, [0], 1),
                       (0, [0, 1, 2], INT64_MIN), (0, [0, 0, 0], 0), (1, [1, 1], 2), (0, [0, 1, 2], 0)]:
        p.along("scatter_add", 0, ax, idx=idx, dim_=d)
    p.along("scatter_add", 1, 0, idx=[0, -1, 0], dim_=BIG).along("scatter_add", 1, 1, idx=[], dim_=3)
    p.along("scatter_add", 1, 1, idx=[], dim_=BIG).along("scatter_add", 2, 0, idx=[], dim_=3)
    p.along("scatter_add", 2, 0, idx=[0], dim_=3).along("scatter_add", 3, 0, idx=[], dim_=1)
    p.along("scatter_add", 4, 0, idx=[1, 1], dim_=2).along("scatter_add", 4, 1, idx=[0, 0, 0], dim_=1)
    p.along("scatter_add", 4, 0, idx=[0, 1], dim_=1 << 62).along("scatter_add", 4, 0, idx=[0, 1], dim_=BIG)
    p.along("scatter_add", 0, 0, count=3, dim_=3).along("scatter_add", 0, 0, count=SIZE_MAX, dim_=3)
    p.along("scatter_add", 0, 0, idx=[0, 1, 2], dim_=3, null=2).along("scatter_add", 0, 0, idx=[0, 1, 2], dim_=3, null=1)
    p.along("scatter_add", 0, 0, idx=[0, 1, 2], dim_=-1, null=1).along("scatter_add", NULL_SLOT, 0, idx=[0], dim_=1)
    s["axis-scatter-add"] = p
    # Handles of the wrong type, and NULLs in every position, for each op.
    p = P().tensor([2, 3], VALS).jacobian([0], [0]).fnew([0], [0])
    for name in AXIS_OPS:
        idx = [0, 1] if name in ("gather", "scatter_add") else ()
        p.along(name, MIXED, 0, idx=idx, dim_=2).along(name, MIXED_FN, 0, idx=idx, dim_=2)
        p.along(name, NULL_SLOT, 0, idx=idx, dim_=2, null=3).along(name, 0, 0, idx=idx, dim_=2, null=3)
    p.logsumexp(MIXED, ()).logsumexp(MIXED_FN, (0,)).logsumexp(NULL_SLOT, (0,), null=3)
    s["axis-invalid"] = p
    # Through all of them: gradients, batched Jacobians and a Hessian of the
    # graph, and functions recorded through it, replayed at other points.
    p = P().tensor([2, 3], (0.5, -1.25, 2.0, 3.0, -0.75, 1.5))          # 0: x
    p.along("gather", 0, 1, idx=[2, 0, 2, -2])                            # 1: [2, 4]
    p.along("scatter_add", 1, 1, idx=[1, 1, 0, 2], dim_=3)                # 2: [2, 3]
    p.along("cumsum", 2, 0).along("softmax", 3, -1)                       # 3, 4
    p.along("log_softmax", 0, 0).along("min", 3, 1, True)                 # 5, 6: [2, 1]
    p.binary("mul", 4, 5).logsumexp(7, ())                                # 7, 8: 0-D
    p.jacobian([4, 6], [0], b=0).jread(0, 0, 0).jread(0, 1, 0)
    p.fnew([0], [2, 4, 6, 7])
    p.feval(0, (1000.0, -1000.0, 0.5)).feval(0, (math.inf, 0.0), again=True).fvjp(0, cot="ones")
    p.fvjp(0, (-0.5, 2.0, 0.25), cot=(1.0, -1.0, 0.5)).fjvp(0, (1.0, 0.5), vals=(0.25, -3.0))
    p.fjac(0, (2.0, -1.0, 0.5), b=0).jread(1, 1, 0).jread(1, 3, 0)
    p.grad([8], [0]).grad([8], [0], create_graph=True).jvp([8, 4], [0], ts=[0])   # 9, 10, 11 12
    for t in range(1, 8):
        p.free(t)
    p.tensor([4], (0.5, -2.0, 1.0, 3.0))                                  # 1: w
    p.along("gather", 1, 0, idx=[3, 0, 3, 1, -2]).along("log_softmax", 2, 0)   # 2, 3: [5]
    p.along("scatter_add", 3, 0, idx=[0, 1, 1, 3, 2], dim_=4)             # 4: [4]
    p.logsumexp(4, ()).along("min", 4, 0)                                 # 5, 6: 0-D
    p.hessian(5, [1]).jread(2, 0, 0).fnew([1], [5, 6, 3])
    p.feval(1, (1.0, 2.0, -1.0, 700.0)).fhess(1, 0, (-1.0, 0.5)).jread(3, 0, 0)
    p.fhvp(1, 0, (1.0, -1.0), vals=(0.5,)).fhvp(1, 1, (1.0,), vals=(2.0, -2.0, 0.0, 1.0))
    s["axis-replay"] = p

    # --- filled tensors, clones (a second handle to one node), element reads,
    # broadcast_to
    p = P().full([2, 3], 1.5).full([], math.nan, rg=False).full([BIG, 0], math.inf).full([-1, 2]).full([2, -3])
    p.full([1 << 62, 4]).full([3], null=2).full([3], null=4).full([], -0.0, null=2).full([4096]).full([3, 0], rg=False)
    p.binary("mul", 0, 0).reduce(5, ()).grad([6], [0]).fnew([0], [6]).feval(0, (2.0,))
    p.grad([6], [2]).fnew([1], [1]).read_element(0, [1, -1])
    s["tensor-full"] = p
    p = P().tensor([3], (1.0, -2.0, 0.5)).clone(0).unary("exp", 1).clone(2)        # 1: clone x, 2: exp, 3: clone
    p.fnew([0, 1], [2]).fnew([1], [3]).grad([3], [0]).grad([2], [1])               # 4, 5
    p.free(0).read(1).binary("mul", 1, 1).grad([0], [1]).clone(1).free(1)         # 0: x*x, 6: grad, 1: freed
    p.fnew([7], [0]).feval(1, (3.0, -1.0)).clone(NULL_SLOT).clone(7, null=1).jacobian([3], [7]).clone(MIXED)
    p.fnew([7], [3]).clone(MIXED_FN).clone(8).free(7).read(1).fnew([1], [2])
    s["tensor-clone"] = p
    p = P().tensor([2, 3], VALS).tensor([], (-0.0,)).tensor([BIG, 0], ()).tensor([4], (math.nan, 1.0, -1.0, 0.5))
    for t, idx in [(0, [1, 2]), (0, [-1, -3]), (0, [0, 0]), (0, [2, 0]), (0, [0, 3]), (0, [-3, 0]), (0, [1]),
                   (0, [0, 1, 2]), (1, []), (1, [0]), (2, [0, 0]), (2, [BIG - 1, 0]), (3, [0]), (3, [-4]),
                   (3, [INT64_MIN]), (3, [INT64_MAX])]:
        p.read_element(t, idx)
    p.read_element(0, [1, 0], ranked=True).read_element(1, [], ranked=True).read_element(3, [-2], ranked=True)
    p.read_element(0, [1, 1], null=2).read_element(1, [], null=2)
    p.read_element(0, [1, 1], null=1).read_element(NULL_SLOT, [0]).jacobian([3], [3]).read_element(MIXED, [0])
    s["tensor-read-element"] = p
    p = P().tensor([3], (1.0, -2.0, 0.5)).tensor([2, 1], (3.0, -1.0)).tensor([], (2.0,)).tensor([BIG, 0, 1], ())
    for a, dims in [(0, [2, 3]), (0, [4, 1, 3]), (1, [2, 5]), (1, [3, 2, 4]), (0, [3]), (2, [2, 2]), (2, []),
                    (0, [4]), (0, []), (1, [2]), (1, [1, 1]), (0, [-1, 3]), (0, [2, -2]), (0, [1 << 62, 4]),
                    (0, [0, 3]), (3, [BIG, 0, 1]), (3, [2, BIG, 0, 4]), (3, [BIG, 0, 3]), (3, [1, 1, 1])]:
        p.broadcast_to(a, dims)                                       # 4..14
    p.broadcast_to(0, [2, 3], null=2).broadcast_to(0, [], null=2).broadcast_to(0, [2, 3], null=1)
    p.broadcast_to(0, [-1], null=1).broadcast_to(NULL_SLOT, [3])
    for t in range(4, 15):
        p.free(t)
    p.broadcast_to(1, [4, 2, 3]).reduce(4, (0, 2)).grad([5], [1])   # 4, 5, 6
    p.fnew([1], [4, 5]).fvjp(0, (0.5, 2.0), cot="ones").fjac(0, (1.0, -1.0)).jread(0, 1, 0)
    p.broadcast_to(0, [3]).fnew([0, 7], [7]).broadcast_to(0, [2, 3]).fnew([0], [8]).feval(1, (-1.0, 2.0, 0.5))
    s["broadcast-to"] = p

    # --- shape ops
    p = P().tensor([2, 3, 2], VALS).tensor([BIG, 0], ())
    p.reshape(0, [3, 4]).reshape(0, [-1]).reshape(0, [2, -1, 3]).reshape(0, [-1, -1]).reshape(0, [5])
    p.reshape(0, [-2, 6]).reshape(1, [0, -1]).reshape(1, [-1, 7]).reshape(1, [BIG, 0]).reshape(1, [0])
    p.reshape(1, [1 << 62, 4, 0]).reshape(0, [12, 1, 1, 1, 1, 1, 1])
    s["reshape"] = p
    p = P().tensor([2, 3, 4], VALS).tensor([BIG, 0, 1], ()).tensor([], (1.0,))
    p.transpose(0, [2, 0, 1]).transpose(0, [-1, 0, 1]).transpose(0, [0, 0, 1]).transpose(0, [0, 1])
    p.transpose(0, [0, 1, 3]).transpose(1, [1, 2, 0]).transpose(2, []).transpose(0, [0, 1, 2])
    s["transpose"] = p
    p = P().tensor([5, 2], VALS).tensor([P15, 0], ()).tensor([0, P15], ())
    for args in [(0, 1, 4, 1), (0, NONE, NONE, -1), (0, -2, NONE, NONE), (1, 0, 1, 2), (0, 4, 0, -2),
                 (0, 0, 5, 0), (2, 0, 1, 1), (-3, 0, 1, 1), (0, INT64_MIN + 1, INT64_MAX, INT64_MAX),
                 (0, INT64_MAX, INT64_MIN + 1, INT64_MIN + 1), (0, 1, 1, 1)]:
        p.slice(0, *args)
    p.slice(1, 0, NONE, NONE, 2).slice(1, 0, NONE, NONE, -1).slice(2, 1, 1, NONE, 3).slice(1, 0, 1, -1, 1)
    s["slice"] = p
    p = P().tensor([2, 3], VALS).tensor([1, 3], VALS).tensor([2, 3], VALS[::-1]).tensor([BIG, 0], ())
    p.tensor([], (1.0,))
    p.join(False, [0, 1], 0).join(False, [0, 2], 1).join(False, [0, 1], 1).join(False, [0], 0)
    p.join(False, [], 0).join(False, [3, 3], 0).join(False, [3, 3], 1).join(False, [4, 4], 0)
    p.join(False, [0, 1, 2], -2).join(False, [0, NULL_SLOT], 0).join(False, [0, 2], 0, null=2)
    p.join(True, [0, 2], 0).join(True, [0, 2], -1).join(True, [0, 2], 2).join(True, [0, 2], 3)
    p.join(True, [0, 1], 0).join(True, [4, 4, 4], 0).join(True, [3, 3], 1).join(True, [], 0)
    s["concat-stack"] = p
    p = P().tensor([2, 3], (1.0, 0.0, math.nan, -0.0, 2.0, 0.0), rg=False).tensor([2, 3], VALS)
    p.tensor([3], (9.0, 8.0, 7.0)).tensor([], (-1.0,)).tensor([BIG, 0], ()).tensor([4], VALS)
    p.where(0, 1, 2).where(0, 2, 3).where(3, 1, 2).where(4, 4, 3).where(0, 1, 5).where(NULL_SLOT, 1, 2)
    s["where"] = p
    # Ops of real programs: minimum/maximum with ties and NaN, pow, atan2,
    # comparisons, clamp with infinite, equal, crossed and NaN bounds.
    p = P().tensor([2, 3], (1.0, -2.0, 0.0, math.nan, 3.0, -0.0)).tensor([3], (1.0, 0.0, -1.0))
    p.tensor([], (0.0,), rg=False).tensor([BIG, 0], ())
    for name in BINARY[5:]:
        p.binary(name, 0, 1).binary(name, 1, 2).binary(name, 0, 0).binary(name, 3, 2)
    for lo, hi in [(-1.0, 1.0), (-math.inf, 0.0), (0.5, 0.5), (1.0, -1.0), (math.nan, 1.0), (0.0, math.inf)]:
        p.scalar("clamp", 0, lo, hi=hi)
    p.scalar("clamp", 3, 0.0, hi=1.0)
    s["branch-and-bound"] = p
    # A branch on a comparison of the input, recorded and replayed elsewhere;
    # the create_graph gradient of where is a mask times the seed: recorded
    # though it requires no grad.
    p = P().tensor([3], (-1.0, -2.0, 3.0)).tensor([], (0.0,), rg=False)
    p.binary("less", 0, 1).unary("neg", 0).binary("mul", 0, 0).where(2, 3, 4)  # 2: mask, 5: branch
    p.where(0, 1, 1).reduce(5, ())                                               # 6: mask x, 7: sum
    p.fnew([0], [5, 7]).feval(0, (2.0, -1.0, 0.5)).fvjp(0, cot="ones").fjac(0, (0.5, -0.5, 1.0))
    p.jread(0, 0, 0).grad([7], [0], create_graph=True).fnew([8], [8]).fnew([0], [2, 6])
    p.fnew([2], [5]).fnew([6], [6])
    s["branch-replay"] = p

    # --- gradients
    p = P().tensor([3], (1.0, -2.0, 3.0)).tensor([3], (0.5, 0.5, 2.0), rg=False).tensor([2, 3], VALS)
    p.binary("mul", 0, 0).reduce(3, ()).unary("sin", 0)           # 3: x*x, 4: sum, 5: sin x
    p.grad([4], [0]).grad([4], [0], create_graph=True).grad([3], [0], gs=[1]).grad([3], [0], gs=[2])
    p.grad([], [0]).grad([4], []).grad([4], [1]).grad([4, 5], [0, 0]).grad([4], [2])
    p.grad([4], [0], null=4).grad([4], [0], null=1).grad([5], [0], gs=[0], create_graph=True)
    s["grad"] = p
    p = P().tensor([2], (1.0, 2.0)).binary("mul", 0, 0).binary("mul", 1, 0).reduce(2, ())
    p.grad([3], [0], create_graph=True).reduce(4, ()).grad([5], [0], create_graph=True)
    p.reduce(6, ()).grad([7], [0])
    s["grad-higher"] = p
    # Forward mode: values, bad tangents (a constant x, a NULL list, a shape
    # unlike the x), forward over reverse and forward over forward, and a
    # tangent passed through (y is x) with create_graph.
    p = P().tensor([3], (1.0, -2.0, 3.0)).tensor([3], (0.5, 0.5, 2.0), rg=False).tensor([2, 3], VALS)
    p.binary("mul", 0, 0).reduce(3, ()).unary("sin", 0)           # 3: x*x, 4: sum, 5: sin x
    p.jvp([3, 4], [0], ts=[1]).jvp([4], [0], ts=[1], create_graph=True).jvp([5], [0, 0], ts=[1, 1])
    p.jvp([4], [1], ts=[1]).jvp([4], [0]).jvp([4], [0], ts=[2]).jvp([4], []).jvp([], [0], ts=[1])
    p.jvp([4], [0], ts=[1], null=4).jvp([4], [0], ts=[1], null=3)
    p.grad([4], [0], create_graph=True).jvp([9], [0], ts=[1]).jvp([6], [0], ts=[1], create_graph=True)
    p.tensor([3], (1.0, 1.0, 1.0)).jvp([0], [0], ts=[12], create_graph=True)
    s["jvp"] = p

    # --- Jacobians
    p = P().tensor([3], (1.0, 2.0, 3.0)).tensor([2], (0.5, -1.0)).binary("mul", 0, 0).unary("sin", 1)
    p.tensor([], (2.0,)).binary("mul", 0, 4)
    p.jacobian([2], [0]).jacobian([2, 3], [0, 1]).jacobian([4], [0])
    p.blocks(0).blocks(1).blocks(1, null=1).block_shape(0, 0, 0).block_shape(1, 1, 0)
    p.block_shape(1, 2, 0).block_shape(0, 0, 0, cap=1).block_shape(2, 0, 0, cap=0).block_shape(0, 0, 0, null=1)
    p.rows(0, 0).rows(1, 1).rows(1, 5).rows(0, 0, null=1)
    p.read_shape(0, 0, 0).read_shape(0, 0, 0, [(INT, 1)]).read_shape(0, 0, 0, [(SLICE, NONE, NONE, -1)])
    p.read_shape(0, 0, 0, [(ELLIPSIS,), (INT, -1)]).read_shape(0, 0, 0, [(ELLIPSIS,), (ELLIPSIS,)])
    p.read_shape(0, 0, 0, [(INT, 3)]).read_shape(0, 0, 0, [(SLICE, 0, 3, 0)]).read_shape(0, 0, 0, [(9, 0)])
    p.read_shape(0, 0, 0, [(ALL,), (ALL,), (ALL,)]).read_shape(0, 0, 0, cap=0)
    p.jread(0, 0, 0).jread(0, 0, 0, [(INT, 1)]).jread(1, 1, 1, [(SLICE, 1, NONE, 1)])
    p.jread(1, 0, 1).jread(2, 0, 0).jread(0, 0, 0, lenmode=5).jread(0, 0, 0, lenmode=7, length=SIZE_MAX)
    p.jread(0, 0, 0, [(ELLIPSIS,), (SLICE, NONE, NONE, 2)]).jread(0, 0, 0, null=1)
    p.rows(0, 0).set_block_rows(0, 0).set_block_rows(0, 1).set_block_rows(1, SIZE_MAX)
    p.jread(1, 0, 0).jread(1, 1, 0).rows(1, 0).rows(1, 1).jfree(0).jfree(0xFF)
    s["jacobian"] = p
    # Directions: a column read in AUTO, a row, FORWARD and REVERSE reads,
    # bad modes and column counts.
    p = P().tensor([3], (1.0, 2.0, 3.0)).tensor([6, 3], VALS * 3).binary("matmul", 1, 0).unary("tanh", 2)
    p.jacobian([3], [0]).columns(0, 0).jread(0, 0, 0, [(ALL,), (INT, 1)]).columns(0, 0).rows(0, 0)
    p.jread(0, 0, 0, [(INT, 4)]).jread(0, 0, 0).columns(0, 0).columns(0, 1).columns(0, 0, null=1)
    p.jacobian([3], [0]).set_mode(1, 2).jread(1, 0, 0, [(INT, 2)]).rows(1, 0).columns(1, 0)
    p.set_mode(1, 1).jread(1, 0, 0, [(ALL,), (INT, 0)]).rows(1, 0).set_mode(1, 3).set_mode(1, -1)
    p.set_mode(1, 0).jread(1, 0, 0).set_mode(NULL_SLOT, 0).columns(NULL_SLOT, 0)
    p.hessian(4, [0]).set_mode(2, 2).jread(2, 0, 0).columns(2, 0)
    s["jacobian-directions"] = p
    p = P().tensor([2, 3], VALS).tensor([2], (1.0, 2.0)).binary("mul", 0, 0).tensor([3, 3], VALS)
    p.tensor([2, 1], (1.0, 2.0))
    for b in (NONE, 0, 1, -1, 7, INT64_MAX):
        p.jacobian([2], [0], b)
    p.jacobian([1], [0], 0).jacobian([2], [3], 0).jacobian([], [0], 0).jacobian([2], [], 0)
    p.jacobian([2], [4], 0).jacobian([2, 1], [0, 4], 0)
    p.jread(0, 0, 0).jread(0, 0, 0, [(INT, 1), (SLICE, 2, 0, -1)]).rows(0, 0)
    s["jacobian-batched"] = p
    p = P().tensor([3], (1.0, 2.0, 3.0)).tensor([2], (0.5, -1.0)).binary("mul", 0, 0).binary("mul", 1, 1)
    p.reduce(2, ()).reduce(3, (), mean=True)
    p.hessian(4, [0]).hessian(5, [0, 1]).hessian(2, [0]).hessian(4, []).hessian(4, [0], 0)
    p.jread(0, 0, 0).jread(1, 1, 0).jread(1, 0, 1, [(INT, -1)]).rows(1, 0).rows(1, 1).blocks(1)
    s["hessian"] = p
    p = P().tensor([2, 3], VALS).tensor([2, 1], (1.0, 2.0)).binary("mul", 0, 1).reduce(2, (1,), keepdim=True)
    p.reduce(2, (1,)).hessian(3, [0], 0).hessian(4, [0, 1], 0).hessian(4, [0], NONE).hessian(4, [0], -1)
    p.jread(0, 0, 0).jread(1, 1, 0).block_shape(1, 0, 1)
    s["hessian-batched"] = p
    p = P().tensor([3]).version()
    for code in list(range(-2, 12)) + [-2147483648, 2147483647, 1000]:
        p.status_name(code)
    s["misc"] = p

    # --- NULL arguments everywhere
    p = P().tensor([2], (1.0, 2.0)).tensor([2], (3.0, 4.0))
    for m in (1, 2, 4):
        p.unary("exp", 0, null=m).binary("add", 0, 1, null=m).reduce(0, (0,), null=m)
        p.reshape(0, [2], null=m).transpose(0, [0], null=m).slice(0, 0, null=m).join(False, [0, 1], 0, null=m)
        p.where(0, 0, 1, null=m).grad([0], [0], null=m).jacobian([0], [0], null=m).hessian(0, [0], null=m)
    p.jacobian([0], [0]).read_shape(0, 0, 0, [(INT, 0)], null=4).jread(0, 0, 0, [(INT, 0)], null=4)
    p.read_shape(0, 0, 0, null=1).read_shape(0, 0, 0, null=2).blocks(0, null=2).rows(0, 0, null=1)
    p.blocks(NULL_SLOT).rows(NULL_SLOT, 0).set_block_rows(NULL_SLOT, 1).jread(NULL_SLOT, 0, 0)
    s["nulls"] = p

    # --- handles of the wrong type (JAC_ERR_INVALID_ARGUMENT once the type tag lands)
    p = P().tensor([2], (1.0, 2.0)).jacobian([0], [0])
    p.unary("neg", MIXED).binary("add", 0, MIXED).query(2, MIXED).read(MIXED).blocks(MIXED)
    p.jread(MIXED, 0, 0).jacobian([MIXED], [0]).grad([0], [MIXED]).free(MIXED).jfree(MIXED)
    p.read(0).jread(0, 0, 0)
    s["handle-mix"] = p

    # --- functions: record, query, evaluate, vjp, Jacobians and Hessians
    p = P().tensor([3], (1.0, 2.0, 3.0)).tensor([2], (0.5, -1.0)).binary("mul", 0, 0).unary("sin", 1)
    p.tensor([], (2.0,), rg=False).binary("mul", 2, 4).reduce(5, ())  # 5: x*x*c, 6: sum
    p.fnew([0, 1], [2, 3, 6])                                        # f0: the recorded point is checked
    for which in range(4):
        p.fquery(which, 0, 0).fquery(which, 0, 2)
    p.fquery(2, 0, 5).fquery(3, 0, 1, cap=0).fquery(3, 0, 2, cap=0).fquery(2, 0, 0, null=1).fquery(2, 0, 0, null=2)
    p.fquery(0, 0, null=1).fquery(1, NULL_SLOT)
    p.feval(0).feval(0, again=True).feval(0, (0.25, -3.0, 1e308, math.nan), again=True)
    p.fvjp(0).fvjp(0, cot="ones").fvjp(0, cot=(2.0, -0.5, 0.0)).fvjp(0, (1.5, -2.0), cot="null-lens", again=True)
    p.fjac(0).jread(0, 0, 0).jread(0, 1, 1).jread(0, 2, 0).rows(0, 2)
    p.fjac(0, (0.5, 1.0, -1.0)).jread(1, 0, 0, [(INT, 1)]).fhess(0, 2).jread(2, 0, 0).jread(2, 1, 1)
    p.fhess(0, 0).fhess(0, 7).fhess(0, 2, b=0).fhess(0, 2, (3.0,), b=5)
    s["function"] = p
    # Forward mode on a function: JVPs, HVPs of a 0-D output, of a non-0-D
    # one (SHAPE), of one past the last (INDEX), with buffer faults.
    p = P().tensor([3], (1.0, -2.0, 3.0)).tensor([3], (0.5, 0.5, 2.0))
    p.binary("mul", 0, 1).unary("sin", 2).reduce(3, ())                 # 2: x*y, 3: sin, 4: sum
    p.fnew([0, 1], [3, 4]).fjvp(0, (1.0, -0.5)).fjvp(0, (0.25,), vals=(2.0, 0.5)).fhvp(0, 1, (1.0, 2.0, -1.0))
    p.fhvp(0, 0, (1.0,)).fhvp(0, 2, (1.0,)).fjvp(NULL_SLOT, (1.0,)).fhvp(MIXED, 1, (1.0,))
    p.fjvp(0, (1.0,), faults=[(1, 0)]).fhvp(0, 1, (1.0,), faults=[(2, 1)]).fjvp(0, (1.0,), faults=[(0, 2)])
    s["function-forward"] = p
    # Frees in any order: the function outlives its tensors, the Jacobians outlive the function.
    p = P().tensor([2], (1.0, -2.0)).unary("exp", 0).binary("mul", 1, 0).fnew([0], [2, 1])
    p.fjac(0).free(0).free(1).free(2).feval(0).fvjp(0).fjac(0, (0.5, 0.5)).jread(0, 0, 0).ffree(0)
    p.jread(1, 1, 0).jread(0, 1, 0).rows(1, 0).jfree(0).jread(1, 0, 0)
    s["function-frees"] = p
    # jac_function_new: every failing check, in the library's order.
    p = P().tensor([2], (1.0, 2.0)).tensor([2], (3.0, 4.0), rg=False).unary("neg", 0).tensor([3], VALS)
    p.transpose(0, [0]).slice(0, 0)                   # 4, 5: the node of t0 again (a leaf)
    p.fnew([], [0]).fnew([0], []).fnew([2], [2]).fnew([1], [2]).fnew([0, 0], [2]).fnew([0, 4], [2])
    p.fnew([0, 5], [2]).fnew([4], [4]).fnew([0, 3], [2, 2, 1, 0]).fnew([NULL_SLOT], [2]).fnew([0], [NULL_SLOT])
    p.fnew([0], [2], null=1).fnew([0], [2], null=2).fnew([0], [2], null=4).fnew([], [], null=3)
    p.fnew([0], [2, 2]).fnew([0, 3], [1])             # repeated outputs; an output that needs no input
    s["function-new"] = p
    # Buffers: NULL arrays and entries, misaligned ones, wrong lengths, shared inputs.
    p = P().tensor([2], (1.0, 2.0)).tensor([2], (3.0, 4.0)).tensor([0], ()).binary("mul", 0, 1)
    p.binary("add", 2, 2).fnew([0, 1, 2], [3, 4])
    for lst in range(2):  # in [2, 2, 0]: in[1] can share in[0]; out [2, 0]
        for kind in range(8):
            p.feval(0, faults=[(lst, kind, 1) if (lst, kind) == (0, 7) else (lst, kind, 1, 5)])
    p.feval(0, faults=[(0, 4, 2)]).feval(0, faults=[(0, 5, 2)]).feval(0, faults=[(1, 4, 1), (1, 5, 1)])
    p.feval(0, (1.0,), faults=[(0, 7, 1)]).feval(0, faults=[(0, 6, 0, SIZE_MAX), (1, 6, 0, 6)])
    for lst in range(3):  # in [2, 2, 0], cot [2, 0], grads [2, 2, 0]
        for kind in range(8):
            p.fvjp(0, cot=(1.0, 2.0), faults=[(lst, kind, 1) if (lst, kind) == (0, 7) else (lst, kind, 1, 6)])
    p.fvjp(0, cot="null-lens", faults=[(1, 6, 0, SIZE_MAX)]).fvjp(0, cot="ones", faults=[(1, 0, 0)])
    p.fvjp(0, cot="null", faults=[(1, 2, 0)]).fvjp(0, cot=(5.0,), faults=[(0, 7, 1)])
    for kind in range(8):
        p.fjac(0, faults=[(0, kind, 0, 5)]).fhess(0, 0, faults=[(0, kind, 1) if kind == 7 else (0, kind, 1, 7)])
    p.fjac(0, null=1).fhess(0, 9, faults=[(0, 0, 0)]).fhess(0, 0, null=1)
    s["function-buffers"] = p
    # Batched Jacobians and Hessians of a function, every batch axis.
    p = P().tensor([2, 3], VALS).tensor([2], (1.0, 2.0)).binary("mul", 0, 0).reduce(2, (1,), keepdim=True)
    p.reduce(2, (1,)).tensor([3], (1.0, 2.0, 3.0)).fnew([0, 1], [2, 3, 4])
    for b in (NONE, 0, 1, -1, 7, INT64_MAX):
        p.fjac(0, b=b).fhess(0, 1, b=b).fhess(0, 2, b=b)
    p.jread(0, 0, 0).jread(0, 2, 1).jread(1, 1, 0, [(INT, 1)]).fnew([5], [5]).fjac(1, b=0).fhess(1, 0, b=0)
    s["function-batched"] = p
    # Handles of the wrong type, both ways.
    p = P().tensor([2], (1.0, 2.0)).jacobian([0], [0]).fnew([0], [0])
    p.feval(MIXED).fvjp(MIXED_FN).fquery(0, MIXED).fquery(3, MIXED_FN).fjac(MIXED).fhess(MIXED_FN)
    p.unary("neg", MIXED_FN).binary("add", 0, MIXED_FN).read(MIXED_FN).fnew([MIXED_FN], [0]).fnew([0], [MIXED])
    p.jread(MIXED_FN, 0, 0).blocks(MIXED_FN).grad([0], [MIXED_FN]).jacobian([MIXED_FN], [0])
    p.free(MIXED_FN).jfree(MIXED_FN).ffree(MIXED).ffree(MIXED_FN).ffree(NULL_SLOT)
    p.feval(0).read(0).jread(0, 0, 0)
    s["function-handle-mix"] = p
    # Aliases: gradients with create_graph that are a leaf passed through.
    p = P().tensor([2], (1.0, 2.0)).tensor([2], (0.5, 0.25))
    p.grad([0], [0], gs=[1], create_graph=True).grad([0], [0, 0], gs=[1], create_graph=True)
    p.fnew([1, 2], [0]).fnew([2, 3], [0]).fnew([0, 2], [2]).feval(0).fvjp(0)
    s["function-aliases"] = p

    # --- sparse Jacobians and Hessians of functions
    # y_i = sin(x_i) * (x_{i+1} - x_i): two entries per row; its sum, 0-D.
    p = P().tensor([5], (0.1, 0.2, 0.3, 0.4, 0.5)).slice(0, 0, 0, 4).slice(0, 0, 1)
    p.unary("sin", 1).binary("sub", 2, 1).binary("mul", 3, 4).reduce(5, ())   # 5: y, 6: sum y
    p.fnew([0], [5, 6])
    p.sjac(0, 0, 0).sjac(0, 1, 0).shess(0, 1).sjac(0, 0, 0, (0.5, -1.0, 2.0), again=True)
    for which in range(3):
        p.squery(which, 0).squery(which, 1)
    p.squery(0, 0, null=1).squery(0, 0, null=2).squery(1, 0, null=1).squery(2, NULL_SLOT)
    p.spattern(0).spattern(2).spattern(0, lenmode=5).spattern(0, lenmode=6).spattern(0, lenmode=7, length=SIZE_MAX)
    for m in (1, 2, 4, 8, 3, 12):
        p.spattern(0, null=m)
    p.seval(0).seval(2).seval(0, (1.0, -0.5, 3.0), again=True).seval(0, (math.inf, math.nan, 0.0))
    p.seval(0, lenmode=5).seval(0, lenmode=6).seval(0, null=1).seval(0, null=2).seval(0, lenmode=6, null=1)
    s["sparse"] = p
    # Every failing check of the two calls, in the library's order.
    p = P().tensor([3], (1.0, 2.0, 3.0)).binary("mul", 0, 0).reduce(1, ()).fnew([0], [1, 2])
    p.sjac(0, 2, 0).sjac(0, 0, 1).sjac(0, 0, SIZE_MAX).sjac(0, SIZE_MAX, 0).sjac(0, 0, 0, null=1)
    p.sjac(0, 5, 5, null=1).sjac(NULL_SLOT).sjac(MIXED).sjac(MIXED_FN, 9, 9, null=1)
    p.shess(0, 0).shess(0, 2).shess(0, SIZE_MAX).shess(0, 1, null=1).shess(0, 0, null=1).shess(NULL_SLOT)
    p.shess(MIXED, 0).shess(MIXED_FN, 0)
    s["sparse-errors"] = p
    # jac_sparse_eval's buffers: every fault of in, nnz, values.
    p = P().tensor([2], (1.0, 2.0)).tensor([2], (3.0, 4.0)).tensor([0], ()).binary("mul", 0, 1)
    p.binary("add", 3, 0).reduce(4, ()).fnew([0, 1, 2], [4, 5]).sjac(0, 0, 1).shess(0, 1)
    for kind in range(8):
        p.seval(0, faults=[(0, kind, 1) if kind == 7 else (0, kind, 1, 5)]).seval(1, faults=[(0, kind, 2, 6)])
    p.seval(0, faults=[(0, 4, 2)]).seval(0, faults=[(0, 5, 2)]).seval(0, faults=[(0, 6, 0, SIZE_MAX), (0, 4, 1)])
    p.seval(1, (2.0,), faults=[(0, 7, 1)], again=True).seval(0, faults=[(0, 1, 0)], lenmode=5, null=1)
    s["sparse-buffers"] = p
    # Ranks above 1 (no dense counterpart), empty and huge-empty inputs,
    # several inputs in a Hessian, a relu (kept where it is 0), matmul.
    p = P().tensor([2, 3], VALS).tensor([3], (1.0, -2.0, 0.5)).tensor([0], ()).tensor([BIG, 0], ())
    p.binary("mul", 0, 1).unary("relu", 4).reduce(5, ()).binary("matmul", 0, 1).reduce(2, ())
    p.binary("mul", 7, 6).binary("add", 9, 8)                               # 10: 0-D of t0, t1, t2
    p.fnew([0, 1, 2, 3], [5, 6, 7, 10])
    p.sjac(0, 0, 0).sjac(0, 0, 1).sjac(0, 2, 1).sjac(0, 1, 2).sjac(0, 0, 3).shess(0, 3).shess(0, 1)
    p.fnew([1, 2], [7, 8]).sjac(1, 0, 0).sjac(1, 1, 1).shess(1, 1).seval(2).seval(3, (-1.0, 2.0))
    p.tensor([3], (1.0, 2.0, 3.0)).unary("relu", 11).binary("mul", 12, 11).reduce(13, ()).fnew([11], [12, 14])
    p.sjac(2, 0, 0, (-1.0, 0.0, 1.0)).shess(2, 1, (-1.0, 0.0, 1.0)).seval(0, (0.0,)).seval(1)
    s["sparse-shapes"] = p
    # Frees in any order: a sparse handle outlives its function and tensors.
    p = P().tensor([3], (1.0, -2.0, 0.5)).unary("exp", 0).binary("mul", 1, 0).reduce(2, ()).fnew([0], [2, 3])
    p.sjac(0, 0, 0).shess(0, 1).free(0).free(1).free(2).free(3).seval(0).seval(1, (0.5,))
    p.ffree(0).seval(0).seval(1).spattern(1).squery(2, 1).sfree(0).seval(0).squery(1, 1).sfree(0).sfree(NULL_SLOT)
    s["sparse-frees"] = p
    # Handles of the wrong type, both ways.
    p = P().tensor([2], (1.0, 2.0)).binary("mul", 0, 0).reduce(1, ()).jacobian([1], [0]).fnew([0], [1, 2])
    p.sjac(0, 0, 0)
    p.unary("neg", MIXED_SPARSE).read(MIXED_SPARSE).jread(MIXED_SPARSE, 0, 0).blocks(MIXED_SPARSE)
    p.feval(MIXED_SPARSE).fquery(0, MIXED_SPARSE).fnew([MIXED_SPARSE], [1]).sjac(MIXED_SPARSE).shess(MIXED_SPARSE, 0)
    p.squery(1, MIXED).squery(0, MIXED_FN).squery(2, MIXED_SPARSE).spattern(MIXED).seval(MIXED_FN)
    p.seval(MIXED_SPARSE).sfree(MIXED).sfree(MIXED_FN).sfree(MIXED_SPARSE).smix(0).smix(1).smix(2)
    p.free(MIXED_SPARSE).jfree(MIXED_SPARSE).ffree(MIXED_SPARSE).seval(0).read(0).jread(0, 0, 0).feval(0)
    s["sparse-handle-mix"] = p

    # --- the known engine bugs (findings until the engine is fixed)
    s["bug-sum-huge-empty-axis"] = P().tensor([BIG, 0, 1], ()).reduce(0, (0,))
    s["bug-mean-huge-empty-axis"] = P().tensor([BIG, 0, 1], ()).reduce(0, (0,), mean=True)
    s["bug-stack-then-sum"] = P().tensor([3, 1], (1.0, 2.0, 3.0)).join(True, [0, 0], -2).reduce(1, (2,))
    s["bug-slice-step-huge-axis"] = P().tensor([P15, 0], ()).slice(0, 0, NONE, NONE, 2)
    s["bug-jacobian-new-huge-rows"] = P().tensor([0, P15], ()).jacobian([0], [0], 0)
    s["bug-jacobian-read-huge-rows"] = P().tensor([0, P15], ()).jacobian([0], [0], 0).jread(0, 0, 0)
    s["bug-hessian-new-huge-rows"] = P().tensor([0], ()).tensor([0, P15], ()).hessian(0, [1], 0)
    # Found by the first fuzzing runs (same families, other entry points).
    s["bug-matmul-huge-batch-empty"] = P().tensor([P15, 0, 0], ()).tensor([0, 0], ()).binary("matmul", 0, 1)
    s["bug-slice-vjp-huge-axis"] = P().tensor([P15, 0], ()).slice(0, 0, 1).grad([1], [0])
    s["bug-grad-broadcast-huge-axis"] = P().tensor([1, 1], (1.0,)).tensor([BIG, 0, 1], ()).binary("add", 0, 1).grad([2], [0])
    s["bug-mean-all-axes-strided-empty"] = P().tensor([1, BIG, 0], ()).max(0, 0, True).reduce(1, (), mean=True)
    return s


DICT = [
    ("int64_min", b"\xff" + u64(INT64_MIN)),
    ("int64_max", b"\xff" + u64(INT64_MAX)),
    ("slice_none_bounds", b"\x00\x00\x00"),
    ("size_max", b"\xff" + u64(SIZE_MAX)),
    ("nan_bits", b"\xf0" + struct.pack("<d", math.nan)),
    ("neg_zero_bits", b"\xf0" + struct.pack("<d", -0.0)),
    ("huge_empty_dims", dim(BIG) + dim(0) + dim(1)),
    ("dims_1e15_0", dim(P15) + dim(0)),
    ("dims_0_1e15", dim(0) + dim(P15)),
    ("new_2x3", P().tensor([2, 3], VALS).b),
    ("new_3", P().tensor([3], (1.0, 2.0, 3.0)).b),
    ("new_huge_empty", P().tensor([BIG, 0, 1], ()).b),
    ("new_scalar", P().tensor([], (2.0,)).b),
    ("jacobian_0_0", P().jacobian([0], [0]).b),
    ("jacobian_batched", P().jacobian([0], [0], 0).b),
    ("hessian_0", P().hessian(0, [0]).b),
    ("read_all", P().jread(0, 0, 0).b),
    ("grad_0_0", P().grad([0], [0]).b),
    ("stack_00", P().join(True, [0, 0], -2).b),
    ("mixed_handle", b"\xfe"),
    ("null_handle", b"\xff"),
    ("mixed_function", b"\xfc"),
    ("function_new_0_0", P().fnew([0], [0]).b),
    ("function_new_01_23", P().fnew([0, 1], [2, 3]).b),
    ("function_eval", P().feval(0).b),
    ("function_eval_at", P().feval(0, (0.5, -1.0)).b),
    ("function_vjp", P().fvjp(0).b),
    ("function_vjp_cot", P().fvjp(0, cot=(2.0,)).b),
    ("function_jacobian", P().fjac(0).b),
    ("function_hessian", P().fhess(0, 0).b),
    ("function_fault", b"\xc0"),
    ("softmax_0", P().along("softmax", 0, -1).b),
    ("log_softmax_0", P().along("log_softmax", 0, -1).b),
    ("cumsum_0", P().along("cumsum", 0, 0).b),
    ("min_0", P().along("min", 0, 0).b),
    ("gather_0", P().along("gather", 0, 0, idx=[0, -1, 0]).b),
    ("scatter_add_0", P().along("scatter_add", 0, 0, idx=[0, 0], dim_=3).b),
    ("logsumexp_0", P().logsumexp(0, (-1,)).b),
    ("full_2x3", P().full([2, 3], 0.5).b),
    ("clone_0", P().clone(0).b),
    ("read_element_00", P().read_element(0, [0, 0], ranked=True).b),
    ("broadcast_to_2x3", P().broadcast_to(0, [2, 3]).b),
    ("mixed_sparse", b"\xfb"),
    ("sparse_jacobian", P().sjac(0).b),
    ("sparse_hessian", P().shess(0, 0).b),
    ("sparse_eval", P().seval(0).b),
    ("sparse_pattern", P().spattern(0).b),
    ("sparse_nnz", P().squery(1, 0).b),
]


def main():
    check_tables()
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    dict_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "dict")
    os.makedirs(corpus, exist_ok=True)
    for name in os.listdir(corpus):
        if name.startswith("gen-"):
            os.remove(os.path.join(corpus, name))
    for name, prog in sorted(seeds().items()):
        with open(os.path.join(corpus, "gen-" + name), "wb") as f:
            f.write(prog.b)
    with open(dict_path, "w") as f:
        f.write("# libFuzzer dictionary for fuzz/jac_fuzz.c, written by fuzz/gen_seeds.py.\n")
        f.write("# Tokens are fragments of the byte format (fuzz/README.md).\n")
        for name, tok in DICT:
            f.write('%s="%s"\n' % (name, "".join("\\x%02x" % c for c in tok)))
    print("gen_seeds: %d seeds in %s, %d tokens in %s" % (len(seeds()), corpus, len(DICT), dict_path))


if __name__ == "__main__":
    main()
