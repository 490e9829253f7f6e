"""Random small libjac programs: their representation, a numpy interpreter
(independent of libjac), a generator driven by a seed, and a readable
printout.

A program is a list of nodes in topological order. Node kinds:
  input   one of the program's 1-3 inputs (requires grad)
  const   a constant tensor (requires no grad): second operands, masks
  <op>    any op of include/jac.h, with its attributes

The interpreter (`evaluate`) works for float64 and for complex128 inputs:
every op is written so that it is the analytic continuation of the real op
near the real axis (abs is z*sign(Re z), relu is z*(Re z > 0), max picks by
the real part, integer powers are products), which the complex-step
gradient of reference.py needs.
"""
import math
import random

import numpy as np

UNARY = ("neg", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
         "softplus", "sqrt", "square", "abs")
BINARY = ("add", "sub", "mul", "div")
SCALAR = ("scale", "add_scalar", "pow_scalar")

MAX_NUMEL = 24      # elements of any node
MAX_NDIM = 4
MAX_ABS = 50.0      # |value| of any node at the program's point
MARGIN = 0.2        # distance of relu/abs inputs from 0, of a max from the runner-up
DIV_MARGIN = 0.3    # |denominator|, |base| of a negative or 0/1 power
POS_MARGIN = 0.2    # inputs of log, sqrt and non-integer powers are >= this


class Node:
    __slots__ = ("op", "args", "attrs", "value", "grad")

    def __init__(self, op, args, attrs, value, grad):
        self.op = op
        self.args = list(args)
        self.attrs = dict(attrs)
        self.value = value
        self.grad = grad  # depends on an input

    @property
    def shape(self):
        return tuple(self.value.shape)


class Program:
    def __init__(self, seed, nodes, inputs, ys, xs, batch):
        self.seed = seed
        self.nodes = nodes      # list of Node
        self.inputs = inputs    # node ids of the inputs, in input order
        self.ys = ys            # node ids
        self.xs = xs            # node ids (a subset of inputs, in Jacobian order)
        self.batch = batch      # the intended batch size (None: unbatched program)

    def name(self, k):
        n = self.nodes[k]
        if n.op == "input":
            return f"x{self.inputs.index(k)}"
        if n.op == "const":
            return f"c{k}"
        return f"t{k}"

    def shape(self, k):
        return self.nodes[k].shape

    def input_values(self):
        return [self.nodes[k].value for k in self.inputs]

    # -- which Jacobians and Hessians the shapes allow --------------------
    def modes(self):
        """The (kind, batch_axis) pairs this program's shapes accept."""
        ys = [self.shape(k) for k in self.ys]
        xs = [self.shape(k) for k in self.xs]
        out = []
        if all(len(s) <= 1 for s in ys + xs):
            out.append(("jacobian", None))
        if all(len(s) in (1, 2) for s in ys + xs) and len({s[0] for s in ys + xs}) == 1:
            out.append(("jacobian", 0))
        y0 = ys[0]
        if math.prod(y0) == 1 and all(len(s) <= 1 for s in xs):
            out.append(("hessian", None))
        if len(y0) in (1, 2) and (len(y0) == 1 or y0[1] == 1) and \
                all(len(s) in (1, 2) and s[0] == y0[0] for s in xs):
            out.append(("hessian", 0))
        return out

    # -- printout -----------------------------------------------------------
    def describe(self, k):
        n = self.nodes[k]
        a = [self.name(j) for j in n.args]
        at = n.attrs
        if n.op == "input":
            return f"input({list(n.shape)}, requires_grad) = {fmt_value(n.value)}"
        if n.op == "const":
            return f"const({list(n.shape)}) = {fmt_value(n.value)}"
        if n.op in UNARY or n.op in BINARY or n.op == "matmul":
            return f"{n.op}({', '.join(a)})"
        if n.op in SCALAR:
            return f"{n.op}({a[0]}, {at['s']!r})"
        if n.op in ("sum", "mean"):
            return f"{n.op}({a[0]}, axes={at['axes']}, keepdim={at['keepdim']})"
        if n.op in ("max", "min"):
            return f"{n.op}({a[0]}, axis={at['axis']}, keepdim={at['keepdim']})"
        if n.op in ("softmax", "log_softmax", "cumsum"):
            return f"{n.op}({a[0]}, axis={at['axis']})"
        if n.op == "logsumexp":
            return f"logsumexp({a[0]}, axes={at['axes']}, keepdim={at['keepdim']})"
        if n.op == "gather":
            return f"gather({a[0]}, axis={at['axis']}, idx={at['idx']})"
        if n.op in ("minimum", "maximum", "pow", "atan2"):
            return f"{n.op}({a[0]}, {a[1]})"
        if n.op == "clamp":
            return f"clamp({a[0]}, {at['lo']}, {at['hi']})"
        if n.op == "broadcast_to":
            return f"broadcast_to({a[0]}, {at['shape']})"
        if n.op == "scatter_add":
            return f"scatter_add({a[0]}, axis={at['axis']}, idx={at['idx']}, dim={at['dim']})"
        if n.op == "reshape":
            return f"reshape({a[0]}, {at['shape']})"
        if n.op == "transpose":
            return f"transpose({a[0]}, {at['perm']})"
        if n.op == "slice":
            f = lambda v: "NONE" if v is None else str(v)
            return (f"slice({a[0]}, axis={at['axis']}, start={f(at['start'])}, "
                    f"stop={f(at['stop'])}, step={f(at['step'])})")
        if n.op in ("concat", "stack"):
            return f"{n.op}([{', '.join(a)}], axis={at['axis']})"
        if n.op == "where":
            return f"where({a[0]}, {a[1]}, {a[2]})"
        raise ValueError(n.op)

    def text(self):
        """The program, one node a line with its shape; nodes that neither
        the ys nor the xs depend on are marked (they are built and their
        values checked all the same)."""
        live = self.ancestors()
        lines = [f"program (seed {self.seed}):"]
        for k, n in enumerate(self.nodes):
            note = "" if k in live else "  (unused)"
            lines.append(f"  {self.name(k):>4} = {self.describe(k):<56} # {list(n.shape)}{note}")
        lines.append(f"  ys = ({', '.join(self.name(k) for k in self.ys)},)"
                     f"  xs = ({', '.join(self.name(k) for k in self.xs)},)")
        return "\n".join(lines)

    def ancestors(self):
        seen = set()
        todo = list(self.ys) + list(self.xs)
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            todo.extend(self.nodes[k].args)
        return seen


def fmt_value(v):
    v = np.asarray(v, dtype=np.float64)
    return repr(v.tolist())


# ---------------------------------------------------------------- interpreter
#
# Values carry a leading "point" axis P: one program evaluation runs at P
# points at once (finite differences and complex steps need hundreds). The
# program's own axes (its "logical" shape) follow; every axis argument is
# shifted past P, broadcasting aligns logical shapes as numpy would without
# P, and a constant (P = 1) broadcasts against any P.

def _re(a):
    return a.real if np.iscomplexobj(a) else a


def _sign(a):
    return np.sign(_re(a))


def _relu(a):
    return np.where(_re(a) > 0, a, 0 * a)


def _norm_axis(axis, nd):
    return axis + nd if axis < 0 else axis


def _nd(v):
    """The logical number of dims of a batched value."""
    return v.ndim - 1


def _lift(v, nd):
    """v with unit axes inserted after P up to `nd` logical dims."""
    return v.reshape(v.shape[:1] + (1,) * (nd - _nd(v)) + v.shape[1:])


def _points(vals):
    """The values broadcast to a common P (for concat and stack)."""
    p = max(v.shape[0] for v in vals)
    return [np.broadcast_to(v, (p,) + v.shape[1:]) for v in vals]


def _ipow(a, p):
    """a**p for an integer p by products (exact continuation for complex)."""
    if p == 0:
        return np.ones_like(a)
    r = a
    for _ in range(abs(p) - 1):
        r = r * a
    return 1 / r if p < 0 else r


def _matmul(a, b):
    """numpy's matmul rules on the logical shapes."""
    na, nb = _nd(a), _nd(b)
    a2 = a if na >= 2 else a[:, None, :]
    b2 = b if nb >= 2 else b[..., None]
    nd = max(_nd(a2), _nd(b2))
    r = np.matmul(_lift(a2, nd), _lift(b2, nd))
    if na == 1:
        r = r[..., 0, :]
    if nb == 1:
        r = r[..., 0]
    return r


UNARY_FN = {
    "neg": lambda a: -a,
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": _relu,
    # log(1 + e^a) without overflow, one branch per sign of Re a (both analytic)
    "softplus": lambda a: np.where(_re(a) >= 0, a + np.log1p(np.exp(-a)), np.log1p(np.exp(a))),
    "sqrt": np.sqrt,
    "square": lambda a: a * a,
    "abs": lambda a: a * _sign(a),
}

ELEMENTWISE = {
    # minimum/maximum pick by the real part (operands >= 0.2 apart), pow has
    # a base >= 0.2, atan2 a second operand >= 0.2 (so it is atan(a / b))
    "minimum": lambda a, b: np.where(_re(a) <= _re(b), a, b),
    "maximum": lambda a, b: np.where(_re(a) >= _re(b), a, b),
    "pow": lambda a, b: np.exp(b * np.log(a)),
    "atan2": lambda a, b: np.arctan(a / b),
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def apply(op, vals, at):
    """One op on batched argument values (leading point axis)."""
    if op in UNARY_FN:
        return UNARY_FN[op](vals[0])
    if op in ELEMENTWISE:
        nd = max(_nd(v) for v in vals)
        return ELEMENTWISE[op](_lift(vals[0], nd), _lift(vals[1], nd))
    if op == "matmul":
        return _matmul(vals[0], vals[1])
    if op == "scale":
        return vals[0] * at["s"]
    if op == "add_scalar":
        return vals[0] + at["s"]
    if op == "pow_scalar":
        p = at["s"]
        if float(p).is_integer():
            return _ipow(vals[0], int(p))
        return vals[0] ** p
    a = vals[0]
    nd = _nd(a)
    if op in ("sum", "mean"):
        axes = range(nd) if not at["axes"] else [_norm_axis(x, nd) for x in at["axes"]]
        f = np.sum if op == "sum" else np.mean
        return f(a, axis=tuple(x + 1 for x in axes), keepdims=at["keepdim"])
    if op == "max":
        ax = _norm_axis(at["axis"], nd) + 1
        idx = np.expand_dims(np.argmax(_re(a), axis=ax), ax)
        r = np.take_along_axis(a, idx, axis=ax)
        return r if at["keepdim"] else np.squeeze(r, axis=ax)
    if op == "min":
        ax = _norm_axis(at["axis"], nd) + 1
        idx = np.expand_dims(np.argmin(_re(a), axis=ax), ax)
        r = np.take_along_axis(a, idx, axis=ax)
        return r if at["keepdim"] else np.squeeze(r, axis=ax)
    if op in ("softmax", "log_softmax"):
        ax = _norm_axis(at["axis"], nd) + 1
        z = a - np.max(_re(a), axis=ax, keepdims=True)
        e = np.exp(z)
        s = np.sum(e, axis=ax, keepdims=True)
        return e / s if op == "softmax" else z - np.log(s)
    if op == "logsumexp":
        axes = range(nd) if not at["axes"] else [_norm_axis(x, nd) for x in at["axes"]]
        axes = tuple(x + 1 for x in axes)
        m = np.max(_re(a), axis=axes, keepdims=True)
        r = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        return r if at["keepdim"] else np.squeeze(r, axis=axes)
    if op == "clamp":
        return np.where(_re(a) < at["lo"], at["lo"], np.where(_re(a) > at["hi"], at["hi"], a))
    if op == "broadcast_to":
        return np.broadcast_to(_lift(a, len(at["shape"])), a.shape[:1] + tuple(at["shape"])).copy()
    if op == "scatter_add":
        ax = _norm_axis(at["axis"], nd) + 1
        shape = list(a.shape)
        shape[ax] = at["dim"]
        out = np.zeros(shape, dtype=a.dtype)
        for k, i in enumerate(at["idx"]):
            src = [slice(None)] * a.ndim
            dst = [slice(None)] * a.ndim
            src[ax], dst[ax] = k, i % at["dim"]
            out[tuple(dst)] += a[tuple(src)]
        return out
    if op == "cumsum":
        return np.cumsum(a, axis=_norm_axis(at["axis"], nd) + 1)
    if op == "gather":
        ax = _norm_axis(at["axis"], nd) + 1
        return np.take(a, [i % a.shape[ax] for i in at["idx"]], axis=ax)
    if op == "reshape":
        return np.reshape(a, a.shape[:1] + tuple(at["shape"]))
    if op == "transpose":
        return np.transpose(a, [0] + [_norm_axis(p, nd) + 1 for p in at["perm"]])
    if op == "slice":
        idx = [slice(None)] * (nd + 1)
        idx[_norm_axis(at["axis"], nd) + 1] = slice(at["start"], at["stop"], at["step"])
        return a[tuple(idx)]
    if op == "concat":
        return np.concatenate(_points(vals), axis=_norm_axis(at["axis"], nd) + 1)
    if op == "stack":
        return np.stack(_points(vals), axis=_norm_axis(at["axis"], nd + 1) + 1)
    if op == "where":
        nd = max(_nd(v) for v in vals)
        m, a, b = (_lift(v, nd) for v in vals)
        return np.where(m != 0, a, b)
    raise ValueError(op)


def apply1(op, vals, at):
    """One op on plain (unbatched) values."""
    return apply(op, [np.asarray(v)[None] for v in vals], at)[0]


def evaluate(prog, xvals, dtype=np.float64):
    """Every node's batched value, with input k set to xvals[k] (each with a
    leading point axis; P = 1 broadcasts)."""
    vals = []
    for k, n in enumerate(prog.nodes):
        if n.op == "input":
            v = np.asarray(xvals[prog.inputs.index(k)], dtype=dtype)
        elif n.op == "const":
            v = n.value.astype(dtype)[None]
        else:
            v = apply(n.op, [vals[j] for j in n.args], n.attrs)
        vals.append(v)
    return vals


def evaluate1(prog):
    """Every node's value at the program's own point (float64, unbatched)."""
    return [v[0] for v in evaluate(prog, [v[None] for v in prog.input_values()])]


# ---------------------------------------------------------------- generator

def _factor(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _bcast(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.nodes = []
        self.inputs = []

    # -- small helpers ------------------------------------------------------
    def val(self, lo=-1.5, hi=1.5, shape=()):
        r = self.rng
        return np.array([round(r.uniform(lo, hi), 2) for _ in range(math.prod(shape))],
                        dtype=np.float64).reshape(shape)

    def coin(self, p):
        return self.rng.random() < p

    def neg_axis(self, ax, nd):
        """`ax` (in 0..nd-1) spelled negatively half of the time."""
        return ax - nd if self.coin(0.5) else ax

    def push(self, op, args, attrs=None, value=None):
        """Appends a node if its value is sane; returns its id or None."""
        attrs = attrs or {}
        if value is None:
            value = apply1(op, [self.nodes[a].value for a in args], attrs)
        value = np.asarray(value, dtype=np.float64)
        if value.size > MAX_NUMEL or value.ndim > MAX_NDIM or value.size == 0:
            return None
        if not np.all(np.isfinite(value)) or (value.size and np.max(np.abs(value)) > MAX_ABS):
            return None
        grad = op == "input" or any(self.nodes[a].grad for a in args)
        self.nodes.append(Node(op, args, attrs, value, grad))
        return len(self.nodes) - 1

    def const(self, shape, lo=-1.5, hi=1.5, away=0.0):
        v = self.val(lo, hi, shape)
        if away:
            v = np.where(np.abs(v) < away, np.copysign(away + 0.1, v), v)
        return self.push("const", [], value=v)

    def pick(self):
        """An operand: mostly the newest node (long chains), else one no op
        uses yet (so that more of the program reaches the ys), else any."""
        grads = [k for k, n in enumerate(self.nodes) if n.grad]
        if self.coin(0.6):
            return grads[-1]
        used = {a for n in self.nodes for a in n.args}
        fresh = [k for k in grads if k not in used]
        if fresh and self.coin(0.6):
            return self.rng.choice(fresh)
        return self.rng.choice(grads)

    def shape(self, k):
        return self.nodes[k].shape

    def v(self, k):
        return self.nodes[k].value

    # -- domain fix-ups (a shift by add_scalar) ------------------------------
    def positive(self, a, margin=POS_MARGIN):
        lo = float(np.min(self.v(a)))
        if lo >= margin:
            return a
        s = round(margin - lo + self.rng.uniform(0.05, 0.6), 1)
        return self.push("add_scalar", [a], {"s": s})

    def away_from_zero(self, a, margin=MARGIN):
        v = self.v(a)
        if np.min(np.abs(v)) >= margin:
            return a
        cands = [s / 10 for s in range(-25, 26) if s != 0]
        self.rng.shuffle(cands)
        for s in cands:
            if np.min(np.abs(v + s)) >= margin:
                return self.push("add_scalar", [a], {"s": s})
        return None

    # -- shapes -------------------------------------------------------------
    def bshape(self, s):
        """A random shape that broadcasts with `s`."""
        r = self.rng
        if self.coin(0.12):
            return ()
        dims = list(s)[r.randint(0, len(s)):] if s and self.coin(0.4) else list(s)
        out = []
        for d in dims:
            if d == 1:
                out.append(r.choice([1, 1, 2, 3]))
            else:
                out.append(1 if self.coin(0.3) else d)
        if len(out) == len(s) < MAX_NDIM and self.coin(0.15):
            out.insert(0, r.choice([1, 2]))
        return tuple(out)

    def random_shape(self, n):
        r = self.rng
        if n == 1:
            return r.choice([[], [1], [1, 1], [1, 1, 1]])
        g = r.randint(1, 3)
        dims = [1] * g
        for f in _factor(n):
            dims[r.randrange(g)] *= f
        while len(dims) < MAX_NDIM and self.coin(0.25):
            dims.insert(r.randint(0, len(dims)), 1)
        if self.coin(0.3):
            dims[r.randrange(len(dims))] = -1
        return dims

    # -- ops ------------------------------------------------------------------
    def op_unary(self, a):
        op = self.rng.choice(UNARY)
        v = self.v(a)
        if op == "exp" and np.max(v) > 3:
            return None
        if op == "tan" and np.max(np.abs(v)) > 1.2:
            return None
        if op in ("log", "sqrt"):
            a = self.positive(a)
        elif op in ("relu", "abs"):
            a = self.away_from_zero(a)
        if a is None:
            return None
        return self.push(op, [a])

    def partner(self, s, ok):
        """A node with grad whose shape satisfies ok(shape), or None."""
        cands = [k for k, n in enumerate(self.nodes) if n.grad and ok(n.shape)]
        return self.rng.choice(cands) if cands else None

    def op_binary(self, a):
        op = self.rng.choice(BINARY)
        s = self.shape(a)
        b = None
        if self.coin(0.5):
            b = self.partner(s, lambda t: _bcast(s, t) is not None
                             and math.prod(_bcast(s, t)) <= MAX_NUMEL)
        if b is None:
            b = self.const(self.bshape(s), away=DIV_MARGIN if op == "div" else 0.0)
        if b is None:
            return None
        lhs, rhs = (a, b) if self.coin(0.6) else (b, a)
        if op == "div":
            rhs = self.away_from_zero(rhs, DIV_MARGIN)
            if rhs is None:
                return None
        return self.push(op, [lhs, rhs])

    def op_scalar(self, a):
        r = self.rng
        op = r.choice(SCALAR)
        if op == "scale":
            s = r.choice([-2.0, -1.0, -0.5, 0.5, 1.5, 2.0, 0.0, 1.0, round(r.uniform(-2, 2), 2)])
        elif op == "add_scalar":
            s = r.choice([-1.0, 0.5, 1.0, 0.0, round(r.uniform(-2, 2), 2)])
        else:
            s = r.choice([2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5, 0.0, 1.0, 2.5])
            if not s.is_integer():
                a = self.positive(a)
            elif s <= 1:
                a = self.away_from_zero(a, DIV_MARGIN)
            if a is None:
                return None
        return self.push(op, [a], {"s": s})

    def op_reduce(self, a, prefer_axis=None):
        r = self.rng
        op = r.choice(["sum", "mean"])
        nd = len(self.shape(a))
        if nd == 0 or self.coin(0.2):
            axes = [] if self.coin(0.6) or nd == 0 else [self.neg_axis(x, nd) for x in r.sample(range(nd), nd)]
        elif prefer_axis is not None and self.coin(0.5):
            axes = [self.neg_axis(prefer_axis, nd)]
        else:
            k = r.randint(1, nd)
            chosen = r.sample(range(nd), k)
            if prefer_axis is not None and prefer_axis not in chosen:
                chosen[0] = prefer_axis
            axes = [self.neg_axis(x, nd) for x in chosen]
        return self.push(op, [a], {"axes": axes, "keepdim": self.coin(0.4)})

    def op_max(self, a):
        return self.extreme("max", a)

    def op_min(self, a):
        return self.extreme("min", a)

    def extreme(self, op, a):
        """max or min along an axis where every lane's extreme is MARGIN
        from its runner-up (so no step of the differences swaps them)."""
        s = self.shape(a)
        if not s:
            return None
        v = self.v(a)
        axes = list(range(len(s)))
        self.rng.shuffle(axes)
        for ax in axes:
            if s[ax] > 1:
                srt = np.sort(v, axis=ax)
                ends = (-1, -2) if op == "max" else (1, 0)
                gap = np.take(srt, ends[0], axis=ax) - np.take(srt, ends[1], axis=ax)
                if np.min(gap) < MARGIN:
                    continue
            return self.push(op, [a], {"axis": self.neg_axis(ax, len(s)), "keepdim": self.coin(0.4)})
        return None
        v = self.v(a)
        axes = list(range(len(s)))
        self.rng.shuffle(axes)
        for ax in axes:
            if s[ax] > 1:
                srt = np.sort(v, axis=ax)
                gap = np.take(srt, 1, axis=ax) - np.take(srt, 0, axis=ax)
                if np.min(gap) < MARGIN:
                    continue
            return self.push("min", [a], {"axis": self.neg_axis(ax, len(s)), "keepdim": self.coin(0.4)})
        return None

    def op_binary2(self, a):
        """minimum, maximum, pow or atan2 with broadcasting, their operands
        kept where each is smooth."""
        op = self.rng.choice(["minimum", "maximum", "pow", "atan2"])
        s = self.shape(a)
        b = None
        if self.coin(0.5):
            b = self.partner(s, lambda t: _bcast(s, t) is not None
                             and math.prod(_bcast(s, t)) <= MAX_NUMEL)
        if b is None:
            b = self.const(self.bshape(s))
        if b is None:
            return None
        lhs, rhs = (a, b) if self.coin(0.6) else (b, a)
        if op == "pow":
            lhs = self.positive(lhs)
        elif op == "atan2":
            rhs = self.positive(rhs)
        if lhs is None or rhs is None:
            return None
        if op in ("minimum", "maximum"):
            va, vb = np.broadcast_arrays(self.v(lhs), self.v(rhs))
            if np.min(np.abs(va - vb), initial=np.inf) < MARGIN:
                return None
        return self.push(op, [lhs, rhs])

    def op_clamp(self, a):
        v = self.v(a)
        lo, hi = sorted(round(self.rng.uniform(-1.5, 1.5), 1) for _ in range(2))
        if np.min(np.minimum(np.abs(v - lo), np.abs(v - hi))) < MARGIN:
            return None
        return self.push("clamp", [a], {"lo": lo, "hi": hi})

    def op_broadcast_to(self, a):
        """To a shape that a broadcasts to: size-1 dims widened, and leading
        dims added."""
        r = self.rng
        shape = [d if d != 1 or self.coin(0.5) else r.randint(2, 3) for d in self.shape(a)]
        while len(shape) < MAX_NDIM and self.coin(0.3):
            shape.insert(0, r.randint(1, 3))
        return self.push("broadcast_to", [a], {"shape": shape})

    def op_scatter_add(self, a):
        s = self.shape(a)
        if not s:
            return None
        r = self.rng
        ax = r.randrange(len(s))
        dim = r.randint(1, s[ax] + 2)
        idx = [r.randrange(-dim, dim) for _ in range(s[ax])]
        return self.push("scatter_add", [a], {"axis": self.neg_axis(ax, len(s)), "idx": idx, "dim": dim})

    def op_lane(self, a):
        """softmax, log_softmax or cumsum along an axis (a 0-D operand's only
        axis is -1 or 0 for softmax)."""
        s = self.shape(a)
        if not s:
            return None
        op = self.rng.choice(["softmax", "log_softmax", "cumsum"])
        ax = self.rng.randrange(len(s))
        return self.push(op, [a], {"axis": self.neg_axis(ax, len(s))})

    def op_logsumexp(self, a):
        r = self.rng
        nd = len(self.shape(a))
        if nd == 0 or self.coin(0.3):
            axes = []
        else:
            axes = [self.neg_axis(x, nd) for x in r.sample(range(nd), r.randint(1, nd))]
        return self.push("logsumexp", [a], {"axes": axes, "keepdim": self.coin(0.4)})

    def op_gather(self, a):
        """Rows along an axis, repeated, reversed or dropped; negative
        indices count from the end."""
        s = self.shape(a)
        if not s:
            return None
        r = self.rng
        ax = r.randrange(len(s))
        idx = [r.randrange(-s[ax], s[ax]) for _ in range(r.randint(1, 4))]
        return self.push("gather", [a], {"axis": self.neg_axis(ax, len(s)), "idx": idx})

    def op_reshape(self, a):
        return self.push("reshape", [a], {"shape": self.random_shape(self.v(a).size)})

    def op_transpose(self, a):
        nd = len(self.shape(a))
        perm = list(range(nd))
        self.rng.shuffle(perm)
        perm = [p - nd if self.coin(0.3) else p for p in perm]
        return self.push("transpose", [a], {"perm": perm})

    def op_slice(self, a):
        r = self.rng
        s = self.shape(a)
        if not s:
            return None
        for _ in range(10):
            ax = r.randrange(len(s))
            d = s[ax]
            start = None if self.coin(0.3) else r.randint(-d - 1, d + 1)
            stop = None if self.coin(0.3) else r.randint(-d - 1, d + 1)
            step = r.choice([None, 1, 1, 2, -1, -1, -2, 3])
            if len(range(*slice(start, stop, step).indices(d))) == 0:
                continue
            return self.push("slice", [a], {"axis": self.neg_axis(ax, len(s)), "start": start,
                                            "stop": stop, "step": step})
        return None

    def op_matmul(self, a):
        r = self.rng
        s = self.shape(a)
        if not 1 <= len(s) <= 3:
            return None
        d = lambda: r.randint(1, 3)
        left = self.coin(0.6)
        if left:   # a @ b
            n = s[-1]
            opts = [(n,), (n, d()), (d(), n, d())]
            if len(s) == 3:
                opts += [(s[0], n, d()), (1, n, d())]
        else:      # b @ a
            n = s[0] if len(s) == 1 else s[-2]
            opts = [(n,), (d(), n), (d(), d(), n)]
            if len(s) == 3:
                opts += [(s[0], d(), n), (1, d(), n)]
        bs = r.choice(opts)
        b = None
        if self.coin(0.4):
            b = self.partner(s, lambda t: t == bs)
        if b is None:
            b = self.const(bs)
        if b is None:
            return None
        args = [a, b] if left else [b, a]
        try:
            np.matmul(self.v(args[0]), self.v(args[1]))
        except ValueError:
            return None
        return self.push("matmul", args)

    def op_where(self, a):
        s = self.shape(a)
        ms = self.bshape(s)
        mv = np.array([self.rng.choice([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, -2.0, 0.5])
                       for _ in range(math.prod(ms))]).reshape(ms)
        m = self.push("const", [], value=mv)
        if m is None:
            return None
        b = None
        if self.coin(0.4):
            b = self.partner(s, lambda t: _bcast(s, t, ms) is not None
                             and math.prod(_bcast(s, t, ms)) <= MAX_NUMEL)
        if b is None:
            b = self.const(self.bshape(s))
        if b is None or _bcast(s, self.shape(b), ms) is None:
            return None
        args = [m, a, b] if self.coin(0.5) else [m, b, a]
        return self.push("where", args)

    def op_concat(self, a):
        r = self.rng
        s = self.shape(a)
        if not s:
            return None
        ax = r.randrange(len(s))
        parts = [a]
        for _ in range(r.choice([1, 1, 2])):
            if self.coin(0.3):
                parts.append(a)
                continue
            p = None
            if self.coin(0.4):
                p = self.partner(s, lambda t: len(t) == len(s) and all(
                    t[k] == s[k] for k in range(len(s)) if k != ax))
            if p is None:
                cs = list(s)
                cs[ax] = r.randint(1, 3)
                p = self.const(tuple(cs))
            if p is None:
                return None
            parts.append(p)
        r.shuffle(parts)
        return self.push("concat", parts, {"axis": self.neg_axis(ax, len(s))})

    def op_stack(self, a):
        r = self.rng
        s = self.shape(a)
        if len(s) >= MAX_NDIM:
            return None
        parts = [a]
        for _ in range(r.choice([1, 1, 2])):
            p = a if self.coin(0.3) else None
            if p is None and self.coin(0.5):
                p = self.partner(s, lambda t: t == s)
            if p is None:
                p = self.const(s)
            if p is None:
                return None
            parts.append(p)
        r.shuffle(parts)
        nd = len(s) + 1
        ax = r.randrange(nd)
        return self.push("stack", parts, {"axis": self.neg_axis(ax, nd)})

    OPS = [("unary", 26), ("binary", 18), ("scalar", 9), ("reduce", 9), ("max", 5),
           ("reshape", 7), ("transpose", 5), ("slice", 7), ("matmul", 7), ("where", 4),
           ("concat", 5), ("stack", 5), ("min", 3), ("lane", 6), ("logsumexp", 3),
           ("gather", 5), ("binary2", 6), ("clamp", 2), ("broadcast_to", 3),
           ("scatter_add", 3)]

    def step(self):
        kinds, weights = zip(*self.OPS)
        for _ in range(12):
            kind = self.rng.choices(kinds, weights)[0]
            mark = len(self.nodes)
            a = self.pick()
            k = getattr(self, "op_" + kind)(a)
            if k is not None:
                if kind in ("stack", "concat", "slice") and self.coin(0.5):
                    # sum/mean over the axis just made, the one after it or the
                    # last: a reduction of a value that is not in standard
                    # layout (the status-8 combinations)
                    nd = len(self.shape(k))
                    ax = _norm_axis(self.nodes[k].attrs["axis"], nd)
                    ax = self.rng.choice([ax, min(ax + 1, nd - 1), nd - 1])
                    k2 = self.op_reduce(k, prefer_axis=ax)
                    return k2 if k2 is not None else k
                return k
            del self.nodes[mark:]
        return None

    # -- the whole program --------------------------------------------------------
    def make(self):
        r = self.rng
        batch = r.choice([1, 2, 2, 3, 3, 4]) if self.coin(0.4) else None
        n_in = r.choice([1, 1, 2, 2, 3])
        for _ in range(n_in):
            if batch is None:
                shape = r.choice([(), (), (1,), (2,), (3,), (3,), (4,), (5,)])
            else:
                shape = r.choice([(batch,), (batch, 1), (batch, 2), (batch, 3), (batch, 4)])
            k = self.push("input", [], value=self.val(shape=shape))
            self.inputs.append(k)
        # Richer internal shapes: views of the inputs.
        for k in list(self.inputs):
            if self.coin(0.35) and self.v(k).size > 1:
                self.op_reshape(k)
        for _ in range(r.randint(1, 10)):
            self.step()
        self.gather_unused()
        ys = [self.output(self.second_y() if n else None, batch) for n in range(r.choice([1, 1, 1, 2]))]
        ys = [y for y in ys if y is not None]
        if not ys:
            return None
        if self.coin(0.4):
            h = self.hessian_output(ys[0], batch)
            if h is not None:
                ys[0] = h
        xs = list(self.inputs)
        if len(xs) > 1 and self.coin(0.3):
            xs = r.sample(xs, r.randint(1, len(xs)))
        elif self.coin(0.2):
            r.shuffle(xs)
        if self.coin(0.04):
            xs.insert(r.randint(0, len(xs)), r.choice(xs))   # an x given twice
        return Program(self.seed, self.nodes, self.inputs, ys, xs, batch)

    def second_y(self):
        """Another y: any node with grad (an input itself, now and then),
        rarely the first y again."""
        grads = [k for k, n in enumerate(self.nodes) if n.grad]
        consts = [k for k, n in enumerate(self.nodes) if not n.grad]
        if consts and self.coin(0.05):
            return self.rng.choice(consts)     # a y that needs no grad: zero blocks
        if len(grads) == 1 or self.coin(0.1):
            return grads[-1]
        return self.rng.choice(grads[:-1])

    def gather_unused(self):
        """Most of the time, fold nodes no op uses yet into the newest one
        (through a 0-D sum or mean when the shapes do not broadcast), so
        that more inputs and ops reach the ys."""
        last = [k for k, n in enumerate(self.nodes) if n.grad][-1]
        used = {a for n in self.nodes for a in n.args}
        for k in [k for k, n in enumerate(self.nodes) if n.grad and k not in used and k != last]:
            if not self.coin(0.6):
                continue
            mark = len(self.nodes)
            s, t = self.shape(last), self.shape(k)
            b = _bcast(s, t)
            if b is None or math.prod(b) > MAX_NUMEL or self.coin(0.3):
                k = self.push(self.rng.choice(["sum", "mean"]), [k], {"axes": [], "keepdim": False})
            op = self.rng.choice(["add", "sub", "mul"])
            nk = self.push(op, [last, k] if self.coin(0.5) else [k, last]) if k is not None else None
            if nk is None:
                del self.nodes[mark:]
            else:
                last = nk

    def output(self, y, batch):
        """Node `y` (default: the last with grad) in a shape a Jacobian accepts."""
        if y is None:
            y = [k for k, n in enumerate(self.nodes) if n.grad][-1]
        s = self.shape(y)
        if batch is None:
            if len(s) >= 2:
                y = self.push("reshape", [y], {"shape": [-1] if self.coin(0.6) else [math.prod(s)]})
            return y
        if s and s[0] == batch and len(s) <= 2:
            return y
        n = math.prod(s)
        if s and n % batch == 0:
            shape = [batch] if n == batch and self.coin(0.5) else ([batch, -1] if self.coin(0.6)
                                                                   else [batch, n // batch])
            return self.push("reshape", [y], {"shape": shape})
        t = self.push("sum", [y], {"axes": [], "keepdim": False})
        c = self.const(self.rng.choice([(batch,), (batch, 1), (batch, 2)]))
        return self.push("mul", [t, c]) if t is not None and c is not None else None

    def hessian_output(self, y, batch):
        """A scalar (per-sample scalar) function of y."""
        s = self.shape(y)
        op = self.rng.choice(["sum", "mean"])
        if batch is None:
            if math.prod(s) == 1:
                return y
            return self.push(op, [y], {"axes": [], "keepdim": False})
        if len(s) == 1 or s[1] == 1:
            return y
        return self.push(op, [y], {"axes": [self.rng.choice([1, -1])], "keepdim": self.coin(0.5)})


def generate(seed):
    for attempt in range(20):
        g = Gen(seed * 1000 + attempt if attempt else seed)
        p = g.make()
        if p is not None:
            p.seed = seed
            return p
    raise RuntimeError(f"seed {seed}: no program after 20 attempts")
