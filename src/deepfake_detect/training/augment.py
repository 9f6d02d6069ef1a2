"""Robustness augmentations for face crops ([H, W, 3] uint8 RGB), mimicking what real uploads go through.

Sampling is separate from applying: `RobustAugment.sample(rng)` draws an `AugmentParams`, and
`apply_params` applies it deterministically, so one draw can be reused on every frame of a face track
(`augment_sequence`): a per-frame draw would add flicker that a temporal model could learn as a cue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

# albumentations' Sharpen ranges (`sharpen_kernel`), used by SBI's frequency transform and by `p_sharpen`
SHARPEN_ALPHA = (0.2, 0.5)
SHARPEN_LIGHTNESS = (0.5, 1.0)


@dataclass(frozen=True)
class AugmentParams:
    """One draw of augmentation parameters; None / neutral values mean the step is skipped."""

    flip: bool = False
    brightness: float = 1.0  # multiplicative factors, 1.0 = unchanged
    contrast: float = 1.0
    saturation: float = 1.0
    blur_sigma: float | None = None  # Gaussian blur sigma in pixels
    downscale: float | None = None  # shrink to this fraction, then back to the original size
    sharpen: tuple[float, float] | None = None  # (alpha, lightness) of `sharpen_kernel`
    noise_sigma: float | None = None  # additive Gaussian noise std in uint8 units ...
    noise_seed: int = 0  # ... drawn from this seed, so every frame gets the same noise
    erase: tuple[float, float, float, float, int] | None = None  # (x0, y0, x1, y1) as fractions, grey level
    dim: tuple[float, float] | None = None  # (gamma, gain): low light, 255 * gain * (x / 255) ** gamma
    jpeg_quality: int | None = None  # re-encode as JPEG at this quality (applied last)


@dataclass(frozen=True)
class RobustAugment:
    """Each augmentation is enabled independently with probability `p`; ranges are (low, high)."""

    p: float = 0.5
    jitter: float = 0.2  # brightness / contrast / saturation factors in [1 - jitter, 1 + jitter]
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    downscale: tuple[float, float] = (0.4, 0.9)
    noise_sigma: tuple[float, float] = (2.0, 8.0)
    jpeg_quality: tuple[int, int] = (30, 95)
    # JPEG's own probability (None: p). 1.0 re-encodes every crop after blending, so a real and its SBI copy
    # both carry fresh block artefacts: from a lossy cache, SBI's blend wipes the cache's own artefacts
    # inside the face only, a cue no genuine fake has (docs/training.md, runs K-M).
    p_jpeg: float | None = None
    # Sharpening of the whole crop (real and SBI copy alike), after blur / downscale, as a phone camera or
    # an upload pipeline does. Off by default (0: no extra draw, so a recipe without it keeps its stream).
    # Why: the bundled model never saw it, and mild sharpening (alpha 0.2) costs it 0.32 of TIMIT validation
    # AUC; two draws trained with p_sharpen 0.5 lose 0.05 and 0.08 (docs/training.md, runs W and W2).
    p_sharpen: float = 0.0
    sharpen_alpha: tuple[float, float] = SHARPEN_ALPHA
    sharpen_lightness: tuple[float, float] = SHARPEN_LIGHTNESS
    # A rectangle of the crop painted one grey (random erasing; the DFDC winner dropped face parts the same
    # way), before JPEG: a real and its SBI copy lose the same part, so the blend must be found elsewhere on
    # the face, as behind a hand or a microphone. Off by default (0: no draw): with 0.5 (run AH of
    # docs/training.md) SBI copies fell to 0.70 and `dev/` to 0.56, against 0.76 and 0.65 without.
    p_erase: float = 0.0
    erase_area: tuple[float, float] = (0.02, 0.2)  # share of the crop
    erase_aspect: tuple[float, float] = (0.3, 3.3)  # height / width, drawn log-uniform
    # Low light, applied first as a camera would capture it (gamma darkens mid-tones, gain the highlights),
    # with sensor noise: the noise step is forced on when it was not drawn. Real and SBI copy alike, so light
    # stops being a cue. Off by default (0: no draw). Why: the bundled model scores light, not only faces:
    # real videos dimmed (gamma 1.8, highlights at 60 %) moved +0.51 log-odds towards FAKE, 3 of 23 across
    # the cut (docs/training.md, "Appearance probe").
    p_dim: float = 0.0
    dim_gamma: tuple[float, float] = (1.0, 2.0)
    dim_gain: tuple[float, float] = (0.5, 1.0)

    def _erase(self, rng: np.random.Generator) -> tuple[float, float, float, float, int]:
        area = rng.uniform(*self.erase_area)
        aspect = float(np.exp(rng.uniform(*np.log(self.erase_aspect))))
        w, h = min(1.0, float(np.sqrt(area / aspect))), min(1.0, float(np.sqrt(area * aspect)))
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        return float(x0), float(y0), float(x0 + w), float(y0 + h), int(rng.integers(0, 256))

    def sample(self, rng: np.random.Generator) -> AugmentParams:
        """Draw one set of parameters (the only random step)."""
        draws = rng.random(6)  # [6] flip, jitter, blur, downscale, noise, jpeg
        on = draws < np.array([self.p] * 5 + [self.p if self.p_jpeg is None else self.p_jpeg])
        jit = rng.uniform(1 - self.jitter, 1 + self.jitter, size=3) if on[1] else np.ones(3)
        params = AugmentParams(
            flip=bool(on[0]),
            brightness=float(jit[0]),
            contrast=float(jit[1]),
            saturation=float(jit[2]),
            blur_sigma=float(rng.uniform(*self.blur_sigma)) if on[2] else None,
            downscale=float(rng.uniform(*self.downscale)) if on[3] else None,
            noise_sigma=float(rng.uniform(*self.noise_sigma)) if on[4] else None,
            noise_seed=int(rng.integers(2**31)),
            jpeg_quality=int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)) if on[5] else None,
        )
        if self.p_sharpen > 0 and rng.random() < self.p_sharpen:  # drawn last: the other draws stay put
            amount = (float(rng.uniform(*self.sharpen_alpha)), float(rng.uniform(*self.sharpen_lightness)))
            params = replace(params, sharpen=amount)
        if self.p_erase > 0 and rng.random() < self.p_erase:  # after sharpening's: its stream stays put
            params = replace(params, erase=self._erase(rng))
        if self.p_dim > 0 and rng.random() < self.p_dim:  # after erasing's: the earlier streams stay put
            dim = (float(rng.uniform(*self.dim_gamma)), float(rng.uniform(*self.dim_gain)))
            noise = params.noise_sigma or float(rng.uniform(*self.noise_sigma))  # a drawn one is kept
            params = replace(params, dim=dim, noise_sigma=noise)
        return params


def sharpen_kernel(alpha: float, lightness: float) -> np.ndarray:
    """albumentations' Sharpen as a [3, 3] float32 kernel: identity blended with a Laplacian-like one by
    `alpha`; `lightness` raises the centre weight (brighter edges). Shared with SBI's frequency transform."""
    effect = -np.ones((3, 3), np.float32)
    effect[1, 1] = 8 + lightness
    identity = np.zeros((3, 3), np.float32)
    identity[1, 1] = 1
    return ((1 - alpha) * identity + alpha * effect).astype(np.float32)


def apply_params(image: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Apply `params` to one [H, W, 3] uint8 RGB crop, deterministically. Returns a new uint8 array."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] uint8, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    out = image[:, ::-1] if params.flip else image
    out = out.astype(np.float32)  # [H, W, 3]
    if params.dim is not None:
        gamma, gain = params.dim
        out = 255.0 * gain * np.power(out / 255.0, gamma, dtype=np.float32)
    if (params.brightness, params.contrast, params.saturation) != (1.0, 1.0, 1.0):
        out = out * params.brightness
        gray = out @ np.array([0.299, 0.587, 0.114], np.float32)  # [H, W] luma
        out = (out - gray.mean()) * params.contrast + gray.mean()
        gray = out @ np.array([0.299, 0.587, 0.114], np.float32)
        out = np.clip((out - gray[..., None]) * params.saturation + gray[..., None], 0, 255)
    if params.blur_sigma is not None:
        out = cv2.GaussianBlur(out, (0, 0), params.blur_sigma)
    if params.downscale is not None:
        size = (max(1, round(w * params.downscale)), max(1, round(h * params.downscale)))
        out = cv2.resize(
            cv2.resize(out, size, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR
        )
    if params.sharpen is not None:
        out = np.clip(cv2.filter2D(out, -1, sharpen_kernel(*params.sharpen)), 0, 255)
    if params.noise_sigma is not None:
        noise = np.random.default_rng(params.noise_seed).normal(0, params.noise_sigma, size=out.shape)
        out = out + noise.astype(np.float32)
    if params.erase is not None:
        x0, y0, x1, y1, grey = params.erase
        out[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] = grey
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if params.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", result[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if decoded is None:
            raise RuntimeError("JPEG decoding failed")
        result = decoded[..., ::-1]
    return np.ascontiguousarray(result)


def augment_sequence(
    frames: list[np.ndarray], rng: np.random.Generator, augment: RobustAugment | None = None
) -> list[np.ndarray]:
    """Augment every frame of a face track with ONE parameter draw (temporally consistent)."""
    params = (augment or RobustAugment()).sample(rng)
    return [apply_params(frame, params) for frame in frames]
