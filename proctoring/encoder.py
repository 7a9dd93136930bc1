"""The face encoder: dlib's ResNet (dlib_face_recognition_resnet_model_v1) run with numpy.

The same network, weights and arithmetic as dlib's own forward pass, so the encodings
are dlib's to float rounding (within 1e-6 on the shared photos, against a tolerance of
0.54; tests/unit/proctoring/test_encoder.py): enrolments made with either stay valid.
What differs is the cost. dlib-bin is built without BLAS, so its convolutions run on
dlib's own matrix code (~62-85 ms of CPU a chip here); numpy's OpenBLAS does the same
matrix products in ~12 ms (with one BLAS thread: see faces.limit_native_threads).

The weights are read from dlib's serialised network file (face_recognition_models),
whose layout this module checks as it reads: the file must be the 29-layer metric
network dlib's face recognition example defines (a 7x7/2 convolution and 3x3/2 max
pool, then residual units of two 3x3 convolutions at 32, 64, 128 and 256 filters, the
first unit of each width after the first halving the size, then a global average
and a 256->128 matrix). A file of another shape raises ValueError at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

CHIP_SIDE = 150


class _Reader:
    """dlib's serialisation format: integers as a byte count (high bit: negative) then
    little-endian bytes; strings as a length then bytes; floats as an integer mantissa
    and a power-of-two exponent; bools as '0'/'1'; tensors as a version, four sizes and
    little-endian float32s."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise ValueError("model file truncated")
        head = self.data[self.pos]
        size = head & 0x0F
        if head & 0x70 or size > 8:
            raise ValueError(f"bad integer at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def peek_integer(self) -> int:
        pos = self.pos
        value = self.integer()
        self.pos = pos
        return value

    def text(self) -> str:
        size = self.integer()
        text = self.data[self.pos : self.pos + size]
        self.pos += size
        return text.decode("ascii", "replace")

    def real(self) -> float:
        mantissa = self.integer()
        return float(mantissa * 2.0 ** self.integer())

    def flag(self) -> bool:
        char = self.data[self.pos : self.pos + 1]
        if char not in (b"0", b"1"):
            raise ValueError(f"bad bool at byte {self.pos}")
        self.pos += 1
        return char == b"1"

    def tensor(self) -> np.ndarray:
        self.expect(self.integer(), 2, "tensor version")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if self.pos + 4 * count > len(self.data):
            raise ValueError("model file truncated")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return values.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, ...]:
        self.expect(self.integer(), 1, "alias_tensor version")
        return tuple(self.integer() for _ in range(4))

    def expect(self, got: object, wanted: object, what: str) -> None:
        if got != wanted:
            raise ValueError(f"{what}: {got!r} where {wanted!r} was expected (byte {self.pos})")


@dataclass(frozen=True, slots=True)
class _Layer:
    kind: str  # the layer's version tag, e.g. "con_4", "affine_", "relu_"
    params: np.ndarray | None = None
    shape: tuple[int, ...] = ()  # con: filters, channels, rows, columns; fc: inputs, outputs
    stride: int = 1
    padding: int = 0


def _layer(r: _Reader) -> _Layer:
    kind = r.text()
    if kind == "con_4":
        params = r.tensor().ravel()
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(7))
        shape = r.alias()
        r.alias()  # the biases' shape
        for _ in range(4):  # learning-rate and weight-decay multipliers
            r.real()
        r.expect((stride_y, pad_y), (stride_x, pad_x), "square strides and padding")
        r.expect((shape[0], shape[2], shape[3]), (filters, rows, cols), "filter shape")
        return _Layer(kind, params, shape, stride_y, pad_y)
    if kind == "affine_":
        params = r.tensor().ravel()
        r.alias()  # gamma's shape
        r.alias()  # beta's
        r.expect(r.integer(), 0, "affine mode (per channel)")
        return _Layer(kind, params)
    if kind in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(6))
        r.expect((cols, stride_x, pad_y, pad_x), (rows, stride_y, 0, 0), "square pooling without padding")
        return _Layer(kind, shape=(rows,), stride=stride_y)
    if kind == "fc_2":
        outputs, inputs = r.integer(), r.integer()
        params = r.tensor().ravel()
        r.alias()  # the weights' shape
        r.alias()  # the (absent) biases'
        r.expect(r.integer(), 1, "fc without bias")
        for _ in range(4):
            r.real()
        return _Layer(kind, params, (inputs, outputs))
    if kind in ("relu_", "add_prev_"):
        return _Layer(kind)
    raise ValueError(f"unexpected layer {kind!r} (byte {r.pos})")


def _read_layers(data: bytes) -> tuple[tuple[float, float, float], list[_Layer]]:
    """The input's channel means and the layers, input first.

    dlib writes a network from the loss down: each layer's version, then its subnetwork,
    then its own details. So the file opens with the versions of every wrapper (2 for a
    computing layer, 1 for a tag or skip, which hold nothing), then the input layer, then
    each layer's details on the way back up.
    """
    r = _Reader(data)
    r.expect(r.integer(), 1, "loss layer version")
    r.expect(r.text(), "loss_metric_2", "loss layer")
    r.real()  # the training margin
    r.real()  # and distance threshold
    wrappers = []
    while r.peek_integer() in (1, 2, 3):
        wrappers.append(r.integer())
    r.expect(wrappers.pop() if wrappers else None, 3, "first layer version")
    r.expect(r.text(), "input_rgb_image_sized", "input layer")
    means = (r.real(), r.real(), r.real())
    r.expect((r.integer(), r.integer()), (CHIP_SIDE, CHIP_SIDE), "input size")
    layers = [_layer(r)]
    for _ in range(3):
        r.flag()
    for _ in range(3):  # gradients and the cached output: empty in a saved network
        r.tensor()
    r.integer()  # sample expansion factor
    while wrappers:
        if wrappers.pop() == 1:
            continue
        layers.append(_layer(r))
        for _ in range(3):
            r.flag()
        for _ in range(3):
            r.tensor()
    r.expect(r.pos, len(data), "end of file")
    return means, layers


@dataclass(frozen=True, slots=True)
class _Conv:
    """A convolution with the per-channel affine after it folded in (weights scaled by
    gamma, bias b*gamma+beta); weights as a (rows*cols*channels, filters) matrix."""

    weights: np.ndarray
    bias: np.ndarray
    size: int
    stride: int
    padding: int

    @classmethod
    def fold(cls, con: _Layer, affine: _Layer) -> _Conv:
        assert con.params is not None and affine.params is not None
        filters, channels, rows, cols = con.shape
        n = filters * channels * rows * cols
        w = con.params[:n].reshape(filters, channels, rows, cols)
        bias = con.params[n:] if con.params.size > n else np.zeros(filters, np.float32)
        gamma, beta = affine.params[:filters], affine.params[filters:]
        # Rows ordered (row, column, channel), as _patches lays out a window.
        matrix = w.transpose(2, 3, 1, 0).reshape(rows * cols * channels, filters) * gamma
        return cls(np.ascontiguousarray(matrix, np.float32), (bias * gamma + beta).astype(np.float32),
                   rows, con.stride, con.padding)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: (images, rows, cols, channels) -> the same layout, filters as channels."""
        cols, (n, oh, ow) = _patches(x, self.size, self.stride, self.padding)
        out = cols @ self.weights
        out += self.bias
        return out.reshape(n, oh, ow, -1)


def _patches(x: np.ndarray, size: int, stride: int, padding: int) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Every size x size window of x (zero-padded) as a row, for one matrix product."""
    n, h, w, c = x.shape
    if padding:
        padded = np.zeros((n, h + 2 * padding, w + 2 * padding, c), np.float32)
        padded[:, padding:-padding, padding:-padding] = x
        x, h, w = padded, h + 2 * padding, w + 2 * padding
    oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride
    s = x.strides
    windows = as_strided(x, (n, oh, ow, size, size, c), (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]),
                         writeable=False)
    return np.ascontiguousarray(windows).reshape(n * oh * ow, size * size * c), (n, oh, ow)


def _pool(x: np.ndarray, size: int, stride: int, *, average: bool) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride
    out: np.ndarray | None = None
    for dy in range(size):
        for dx in range(size):
            part = x[:, dy : dy + stride * (oh - 1) + 1 : stride, dx : dx + stride * (ow - 1) + 1 : stride]
            if out is None:
                out = part.copy()
            elif average:
                out += part
            else:
                np.maximum(out, part, out=out)
    assert out is not None
    return out / np.float32(size * size) if average else out


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add_prev: sizes may differ (a halving unit's shortcut may have fewer
    channels, and from 8x8 or 4x4 one more row and column than its convolutions' output);
    the sum takes the larger of each size, missing values counting as zero."""
    if a.shape == b.shape:
        return a + b
    out = np.zeros(tuple(max(i, j) for i, j in zip(a.shape, b.shape)), np.float32)
    for t in (a, b):
        out[:, : t.shape[1], : t.shape[2], : t.shape[3]] += t
    return out


@dataclass(frozen=True, slots=True)
class _Unit:
    first: _Conv
    second: _Conv
    halves: bool  # the shortcut is average-pooled 2x2 to the convolutions' size


class FaceEncoder:
    """128-d encodings of aligned 150x150 RGB face chips (dlib.get_face_chip's), as
    dlib.face_recognition_model_v1.compute_face_descriptor computes them."""

    def __init__(self, means: tuple[float, float, float], layers: list[_Layer]) -> None:
        kinds = [layer.kind for layer in layers]
        if kinds[:4] != ["con_4", "affine_", "relu_", "max_pool_2"] or kinds[-2:] != ["avg_pool_2", "fc_2"]:
            raise ValueError(f"not dlib's face encoder network: {kinds[:4]} ... {kinds[-2:]}")
        self.means = np.asarray(means, np.float32)
        self.stem = _Conv.fold(layers[0], layers[1])
        self.stem_pool = layers[3]
        units = []
        i = 4
        plain = ["con_4", "affine_", "relu_", "con_4", "affine_", "add_prev_", "relu_"]
        halving = plain[:5] + ["avg_pool_2"] + plain[5:]
        while i < len(layers) - 2:
            if kinds[i : i + 7] == plain:
                units.append(_Unit(_Conv.fold(layers[i], layers[i + 1]), _Conv.fold(layers[i + 3], layers[i + 4]), False))
                i += 7
            elif kinds[i : i + 8] == halving and layers[i + 5].shape == (2,) and layers[i + 5].stride == 2:
                units.append(_Unit(_Conv.fold(layers[i], layers[i + 1]), _Conv.fold(layers[i + 3], layers[i + 4]), True))
                i += 8
            else:
                raise ValueError(f"unexpected layers {kinds[i : i + 8]} at {i}")
        fc = layers[-1]
        assert fc.params is not None
        if layers[-2].shape != (0,) or fc.shape != (units[-1].second.weights.shape[1], 128):
            raise ValueError("expected a global average and a matrix to 128 values at the top")
        self.units = tuple(units)
        self.fc = fc.params.reshape(fc.shape)

    @classmethod
    def load(cls, path: str) -> FaceEncoder:
        with open(path, "rb") as f:
            means, layers = _read_layers(f.read())
        return cls(means, layers)

    def __call__(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """The encodings of ``chips`` (each 150x150x3 uint8 RGB), one row each (float64)."""
        x = np.stack([np.asarray(c) for c in chips]).astype(np.float32)
        if x.shape[1:] != (CHIP_SIDE, CHIP_SIDE, 3):
            raise ValueError(f"face chips must be {CHIP_SIDE}x{CHIP_SIDE} RGB, not {x.shape[1:]}")
        # dlib's input layer: (value - channel mean) / 256.
        x -= self.means
        x /= np.float32(256.0)
        x = np.maximum(self.stem(x), 0)
        x = _pool(x, self.stem_pool.shape[0], self.stem_pool.stride, average=False)
        for unit in self.units:
            y = unit.second(np.maximum(unit.first(x), 0))
            shortcut = _pool(x, 2, 2, average=True) if unit.halves else x
            x = np.maximum(_add(y, shortcut), 0)
        pooled = x.mean(axis=(1, 2), dtype=np.float32)
        return (pooled @ self.fc).astype(np.float64)
