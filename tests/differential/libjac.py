"""A thin ctypes view of include/jac.h: exactly the C ABI, no math.

Every call checks its JacStatus and raises JacError (status, function,
jac_last_error()) on anything but JAC_OK, so a caller sees the engine's own
message.
"""
import ctypes
import os

import numpy as np

JAC_OK = 0
JAC_ERR_INVALID_ARGUMENT = 2
JAC_ERR_INDEX = 4
JAC_ERR_INTERNAL = 8
JAC_BATCH_NONE = -(2 ** 63)
JAC_SLICE_NONE = -(2 ** 63)

JAC_INDEX_ALL = 0
JAC_INDEX_INT = 1
JAC_INDEX_SLICE = 2
JAC_INDEX_ELLIPSIS = 3

STATUS_NAMES = {
    0: "JAC_OK",
    1: "JAC_ERR_NULL_ARGUMENT",
    2: "JAC_ERR_INVALID_ARGUMENT",
    3: "JAC_ERR_SHAPE",
    4: "JAC_ERR_INDEX",
    5: "JAC_ERR_BATCH_AXIS",
    6: "JAC_ERR_NOT_DIFFERENTIABLE",
    7: "JAC_ERR_OUT_OF_MEMORY",
    8: "JAC_ERR_INTERNAL",
}


class JacIndex(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int32),
        ("start", ctypes.c_int64),
        ("stop", ctypes.c_int64),
        ("step", ctypes.c_int64),
    ]


class JacError(Exception):
    def __init__(self, status, func, message):
        super().__init__(f"{func} returned {STATUS_NAMES.get(status, status)}: {message}")
        self.status = status
        self.func = func
        self.message = message


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_SZ = ctypes.c_size_t
_I64 = ctypes.c_int64
_PI64 = ctypes.POINTER(ctypes.c_int64)
_PSZ = ctypes.POINTER(ctypes.c_size_t)
_PD = ctypes.POINTER(ctypes.c_double)
_B = ctypes.c_bool

UNARY = ("neg", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
         "softplus", "sqrt", "square", "abs")
BINARY = ("add", "sub", "mul", "div", "matmul", "minimum", "maximum", "pow", "atan2")
WITH_SCALAR = ("scale", "add_scalar", "pow_scalar")

_SIGNATURES = {
    "jac_last_error": (ctypes.c_char_p, []),
    "jac_version": (ctypes.c_char_p, []),
    "jac_tensor_new": (ctypes.c_int32, [_PD, _SZ, _PI64, _SZ, _B, _PP]),
    "jac_tensor_free": (None, [_P]),
    "jac_tensor_shape": (ctypes.c_int32, [_P, _PI64, _SZ, _PSZ]),
    "jac_tensor_numel": (ctypes.c_int32, [_P, _PSZ]),
    "jac_tensor_read": (ctypes.c_int32, [_P, _PD, _SZ]),
    "jac_sum": (ctypes.c_int32, [_P, _PI64, _SZ, _B, _PP]),
    "jac_mean": (ctypes.c_int32, [_P, _PI64, _SZ, _B, _PP]),
    "jac_max": (ctypes.c_int32, [_P, _I64, _B, _PP]),
    "jac_min": (ctypes.c_int32, [_P, _I64, _B, _PP]),
    "jac_softmax": (ctypes.c_int32, [_P, _I64, _PP]),
    "jac_log_softmax": (ctypes.c_int32, [_P, _I64, _PP]),
    "jac_cumsum": (ctypes.c_int32, [_P, _I64, _PP]),
    "jac_logsumexp": (ctypes.c_int32, [_P, _PI64, _SZ, _B, _PP]),
    "jac_gather": (ctypes.c_int32, [_P, _I64, _PI64, _SZ, _PP]),
    "jac_scatter_add": (ctypes.c_int32, [_P, _I64, _PI64, _SZ, _I64, _PP]),
    "jac_clamp": (ctypes.c_int32, [_P, ctypes.c_double, ctypes.c_double, _PP]),
    "jac_broadcast_to": (ctypes.c_int32, [_P, _PI64, _SZ, _PP]),
    "jac_reshape": (ctypes.c_int32, [_P, _PI64, _SZ, _PP]),
    "jac_transpose": (ctypes.c_int32, [_P, _PI64, _SZ, _PP]),
    "jac_slice": (ctypes.c_int32, [_P, _I64, _I64, _I64, _I64, _PP]),
    "jac_concat": (ctypes.c_int32, [_PP, _SZ, _I64, _PP]),
    "jac_stack": (ctypes.c_int32, [_PP, _SZ, _I64, _PP]),
    "jac_where": (ctypes.c_int32, [_P, _P, _P, _PP]),
    "jac_jacobian_new": (ctypes.c_int32, [_PP, _SZ, _PP, _SZ, _I64, _PP]),
    "jac_hessian_new": (ctypes.c_int32, [_P, _PP, _SZ, _I64, _PP]),
    "jac_jacobian_blocks": (ctypes.c_int32, [_P, _PSZ, _PSZ]),
    "jac_jacobian_block_shape": (ctypes.c_int32, [_P, _SZ, _SZ, _PI64, _SZ, _PSZ]),
    "jac_jacobian_read_shape": (ctypes.c_int32,
                                [_P, _SZ, _SZ, ctypes.POINTER(JacIndex), _SZ, _PI64, _SZ, _PSZ]),
    "jac_jacobian_read": (ctypes.c_int32, [_P, _SZ, _SZ, ctypes.POINTER(JacIndex), _SZ, _PD, _SZ]),
    "jac_jacobian_rows_evaluated": (ctypes.c_int32, [_P, _SZ, _PSZ]),
    "jac_jacobian_set_block_rows": (ctypes.c_int32, [_P, _SZ]),
    "jac_jacobian_columns_evaluated": (ctypes.c_int32, [_P, _SZ, _PSZ]),
    "jac_jacobian_set_mode": (ctypes.c_int32, [_P, ctypes.c_int32]),
    "jac_jacobian_free": (None, [_P]),
    "jac_function_new": (ctypes.c_int32, [_PP, _SZ, _PP, _SZ, _PP]),
    "jac_function_free": (None, [_P]),
    "jac_function_sparse_jacobian": (ctypes.c_int32, [_P, _SZ, _SZ, _PP]),
    "jac_function_sparse_hessian": (ctypes.c_int32, [_P, _SZ, _PP]),
    "jac_sparse_free": (None, [_P]),
    "jac_sparse_shape": (ctypes.c_int32, [_P, _PSZ, _PSZ]),
    "jac_sparse_nnz": (ctypes.c_int32, [_P, _PSZ]),
    "jac_sparse_colors": (ctypes.c_int32, [_P, _PSZ]),
    "jac_sparse_pattern": (ctypes.c_int32, [_P, _PI64, _PI64, _SZ]),
    "jac_sparse_eval": (ctypes.c_int32, [_P, ctypes.POINTER(_PD), _PSZ, _PD, _SZ]),
}
for _name in UNARY:
    _SIGNATURES["jac_" + _name] = (ctypes.c_int32, [_P, _PP])
for _name in BINARY:
    _SIGNATURES["jac_" + _name] = (ctypes.c_int32, [_P, _P, _PP])
for _name in WITH_SCALAR:
    _SIGNATURES["jac_" + _name] = (ctypes.c_int32, [_P, ctypes.c_double, _PP])


def _i64s(values):
    values = list(values)
    return (ctypes.c_int64 * max(len(values), 1))(*values), len(values)


def _handles(hs):
    hs = list(hs)
    return (ctypes.c_void_p * max(len(hs), 1))(*hs), len(hs)


class Lib:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.dll = ctypes.CDLL(self.path)
        for name, (res, args) in _SIGNATURES.items():
            f = getattr(self.dll, name)
            f.restype = res
            f.argtypes = args

    def version(self):
        return self.dll.jac_version().decode()

    def _check(self, func, status):
        if status != JAC_OK:
            msg = self.dll.jac_last_error()
            raise JacError(status, func, msg.decode(errors="replace") if msg else "")

    def _out(self, func, *args):
        out = ctypes.c_void_p()
        self._check(func, getattr(self.dll, func)(*args, ctypes.byref(out)))
        if not out.value:
            raise JacError(JAC_OK, func, "returned JAC_OK but wrote a NULL handle")
        return out.value

    # -- tensors ---------------------------------------------------------
    def tensor(self, value, requires_grad):
        a = np.array(value, dtype=np.float64, order="C")  # (ascontiguousarray makes 0-D 1-D)
        shape, nd = _i64s(a.shape)
        data = a.ctypes.data_as(_PD) if a.size else None
        return self._out("jac_tensor_new", data, a.size, shape if nd else None, nd, requires_grad)

    def free(self, t):
        self.dll.jac_tensor_free(t)

    def shape(self, t):
        buf = (ctypes.c_int64 * 8)()
        nd = ctypes.c_size_t()
        self._check("jac_tensor_shape", self.dll.jac_tensor_shape(t, buf, 8, ctypes.byref(nd)))
        return tuple(buf[k] for k in range(nd.value))

    def read(self, t):
        shape = self.shape(t)
        out = np.full(shape, np.nan)
        self._check("jac_tensor_read",
                    self.dll.jac_tensor_read(t, out.ctypes.data_as(_PD) if out.size else None, out.size))
        return out

    # -- ops ---------------------------------------------------------------
    def unary(self, name, a):
        return self._out("jac_" + name, a)

    def binary(self, name, a, b):
        return self._out("jac_" + name, a, b)

    def with_scalar(self, name, a, s):
        return self._out("jac_" + name, a, float(s))

    def reduce(self, name, a, axes, keepdim):
        buf, n = _i64s(axes)
        return self._out("jac_" + name, a, buf if n else None, n, keepdim)

    def max(self, a, axis, keepdim):
        return self._out("jac_max", a, axis, keepdim)

    def min(self, a, axis, keepdim):
        return self._out("jac_min", a, axis, keepdim)

    def lane(self, name, a, axis):
        """softmax, log_softmax or cumsum along `axis`."""
        return self._out("jac_" + name, a, axis)

    def logsumexp(self, a, axes, keepdim):
        buf, n = _i64s(axes)
        return self._out("jac_logsumexp", a, buf if n else None, n, keepdim)

    def gather(self, a, axis, idx):
        buf, n = _i64s(idx)
        return self._out("jac_gather", a, axis, buf, n)

    def scatter_add(self, a, axis, idx, dim):
        buf, n = _i64s(idx)
        return self._out("jac_scatter_add", a, axis, buf, n, dim)

    def clamp(self, a, lo, hi):
        return self._out("jac_clamp", a, lo, hi)

    def broadcast_to(self, a, shape):
        buf, n = _i64s(shape)
        return self._out("jac_broadcast_to", a, buf if n else None, n)

    def reshape(self, a, shape):
        buf, n = _i64s(shape)
        return self._out("jac_reshape", a, buf if n else None, n)

    def transpose(self, a, perm):
        buf, n = _i64s(perm)
        return self._out("jac_transpose", a, buf if n else None, n)

    def slice(self, a, axis, start, stop, step):
        none = JAC_SLICE_NONE
        return self._out("jac_slice", a, axis,
                         none if start is None else start,
                         none if stop is None else stop,
                         none if step is None else step)

    def join(self, name, ts, axis):
        buf, n = _handles(ts)
        return self._out("jac_" + name, buf, n, axis)

    def where(self, mask, a, b):
        return self._out("jac_where", mask, a, b)

    # -- Jacobians ---------------------------------------------------------
    def jacobian(self, ys, xs, batch_axis):
        ybuf, ny = _handles(ys)
        xbuf, nx = _handles(xs)
        return self._out("jac_jacobian_new", ybuf, ny, xbuf, nx,
                         JAC_BATCH_NONE if batch_axis is None else batch_axis)

    def hessian(self, y, xs, batch_axis):
        xbuf, nx = _handles(xs)
        return self._out("jac_hessian_new", y, xbuf, nx,
                         JAC_BATCH_NONE if batch_axis is None else batch_axis)

    def jac_free(self, j):
        self.dll.jac_jacobian_free(j)

    def blocks(self, j):
        r, c = ctypes.c_size_t(), ctypes.c_size_t()
        self._check("jac_jacobian_blocks", self.dll.jac_jacobian_blocks(j, ctypes.byref(r), ctypes.byref(c)))
        return r.value, c.value

    def block_shape(self, j, bi, bj):
        buf = (ctypes.c_int64 * 8)()
        nd = ctypes.c_size_t()
        self._check("jac_jacobian_block_shape",
                    self.dll.jac_jacobian_block_shape(j, bi, bj, buf, 8, ctypes.byref(nd)))
        return tuple(buf[k] for k in range(nd.value))

    @staticmethod
    def index_array(items):
        arr = (JacIndex * max(len(items), 1))()
        for k, (kind, start, stop, step) in enumerate(items):
            arr[k].kind, arr[k].start, arr[k].stop, arr[k].step = kind, start, stop, step
        return arr, len(items)

    def read_shape_status(self, j, bi, bj, items):
        """(status, shape or None): the status is returned, not raised."""
        arr, n = self.index_array(items)
        buf = (ctypes.c_int64 * 8)()
        nd = ctypes.c_size_t()
        st = self.dll.jac_jacobian_read_shape(j, bi, bj, arr if n else None, n, buf, 8, ctypes.byref(nd))
        if st != JAC_OK:
            return st, None
        return st, tuple(buf[k] for k in range(nd.value))

    def read_shape(self, j, bi, bj, items):
        st, shape = self.read_shape_status(j, bi, bj, items)
        self._check("jac_jacobian_read_shape", st)
        return shape

    def read_block_status(self, j, bi, bj, items, out):
        """Reads into the float64 array `out` (its size is out_len); returns the status."""
        arr, n = self.index_array(items)
        return self.dll.jac_jacobian_read(j, bi, bj, arr if n else None, n,
                                          out.ctypes.data_as(_PD) if out.size else None, out.size)

    def read_block(self, j, bi, bj, items):
        shape = self.read_shape(j, bi, bj, items)
        out = np.full(shape, np.nan)
        self._check("jac_jacobian_read", self.read_block_status(j, bi, bj, items, out))
        return out

    def rows_evaluated(self, j, bi):
        out = ctypes.c_size_t()
        self._check("jac_jacobian_rows_evaluated", self.dll.jac_jacobian_rows_evaluated(j, bi, ctypes.byref(out)))
        return out.value

    def set_block_rows(self, j, rows):
        self._check("jac_jacobian_set_block_rows", self.dll.jac_jacobian_set_block_rows(j, rows))

    def columns_evaluated(self, j, bj):
        out = ctypes.c_size_t()
        self._check("jac_jacobian_columns_evaluated",
                    self.dll.jac_jacobian_columns_evaluated(j, bj, ctypes.byref(out)))
        return out.value

    def set_mode(self, j, mode):
        self._check("jac_jacobian_set_mode", self.dll.jac_jacobian_set_mode(j, mode))

    def last_error(self):
        msg = self.dll.jac_last_error()
        return msg.decode(errors="replace") if msg else ""

    # -- recorded functions and their sparse derivatives -----------------------
    def function(self, inputs, outputs):
        ibuf, ni = _handles(inputs)
        obuf, no = _handles(outputs)
        return self._out("jac_function_new", ibuf, ni, obuf, no)

    def function_free(self, f):
        self.dll.jac_function_free(f)

    def sparse_jacobian(self, f, output, input):
        return self._out("jac_function_sparse_jacobian", f, output, input)

    def sparse_hessian(self, f, output):
        return self._out("jac_function_sparse_hessian", f, output)

    def sparse_free(self, s):
        self.dll.jac_sparse_free(s)

    def sparse_shape(self, s):
        r, c = ctypes.c_size_t(), ctypes.c_size_t()
        self._check("jac_sparse_shape", self.dll.jac_sparse_shape(s, ctypes.byref(r), ctypes.byref(c)))
        return r.value, c.value

    def sparse_colors(self, s):
        out = ctypes.c_size_t()
        self._check("jac_sparse_colors", self.dll.jac_sparse_colors(s, ctypes.byref(out)))
        return out.value

    def sparse_pattern(self, s):
        nnz = ctypes.c_size_t()
        self._check("jac_sparse_nnz", self.dll.jac_sparse_nnz(s, ctypes.byref(nnz)))
        n = nnz.value
        rows = np.zeros(max(n, 1), dtype=np.int64)
        cols = np.zeros(max(n, 1), dtype=np.int64)
        self._check("jac_sparse_pattern", self.dll.jac_sparse_pattern(
            s, rows.ctypes.data_as(_PI64) if n else None, cols.ctypes.data_as(_PI64) if n else None, n))
        return rows[:n], cols[:n]

    def sparse_eval(self, s, inputs, nnz):
        """The values in pattern order at `inputs` (float64 arrays, one per
        function input)."""
        arrays = [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in inputs]
        ptrs = (_PD * max(len(arrays), 1))(*[a.ctypes.data_as(_PD) for a in arrays])
        lens = (ctypes.c_size_t * max(len(arrays), 1))(*[a.size for a in arrays])
        values = np.full(max(nnz, 1), np.nan)
        self._check("jac_sparse_eval", self.dll.jac_sparse_eval(
            s, ptrs, lens, values.ctypes.data_as(_PD) if nnz else None, nnz))
        return values[:nnz]
