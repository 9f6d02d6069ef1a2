"""Self-Blended Images (Shiohara & Yamasaki, CVPR 2022): pseudo-fakes made from one real face crop.

A copy of the crop (the *source*) is slightly recoloured, re-filtered and shifted, then pasted back onto
the untouched crop (the *target*) through a soft face-shaped mask. The result carries the generic traces
of a face swap (blending boundary, colour and sharpness mismatch, landmark misalignment) without any
identity change, so a classifier trained on (real, self-blended) pairs learns those traces.

Landmarks, in crop pixels, are either dlib's 68 points (`landmarks.FaceLandmarker`, preferred: the mask
follows the jaw line and brows, as a face swap's boundary does, in one of four shapes drawn at random as in
the SBI code: whole face, face + forehead, inner face, lower face) or MTCNN's 5 points (left eye, right eye,
nose, left mouth, right mouth; a hull guessed from ratios, `face_hull_mask`).
As in the paper, the colour/frequency/shift transform goes to the inside of the mask or, half of the time,
to the outside (source-target augmentation), so neither "the face is blurrier" nor "the face is sharper"
becomes the cue, only the mismatch at the boundary.
All randomness comes from the `numpy.random.Generator` passed in; the same seed gives the same output.
"""

from __future__ import annotations

import cv2
import numpy as np

from .augment import SHARPEN_ALPHA, SHARPEN_LIGHTNESS, sharpen_kernel

LEFT_EYE, RIGHT_EYE, NOSE, LEFT_MOUTH, RIGHT_MOUTH = range(5)

# Extra hull points, in units of d = |mouth centre - eye centre|, in the face's own frame
# ("up" runs from the mouth centre to the eye centre, "outward" away from the face's vertical axis).
FOREHEAD_UP = 0.7  # each eye moved up by 0.7 d (brows plus some forehead) ...
FOREHEAD_OUT = 0.15  # ... and outward by 0.15 d
TEMPLE_OUT = 0.45  # each eye moved outward by 0.45 d (temple / outer cheekbone)
CHEEK_OUT = 0.35  # each mouth corner moved outward by 0.35 d (cheek)
JAW_DOWN, JAW_OUT = 0.6, 0.1  # each mouth corner moved down 0.6 d and outward 0.1 d (jaw)
CHIN_DOWN = 0.9  # the mouth centre moved down by 0.9 d (chin)

# Mask deformation limits, as fractions of the crop side (min(H, W)).
MAX_WARP = 0.04  # elastic displacement, per axis
MAX_MORPH = 0.04  # dilate / erode radius
BLUR_HALF = (2, 12)  # half-size range of the Gaussian kernels at a 256-pixel crop, scaled with the crop
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


def face_hull_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Binary face region from 5 landmarks: the convex hull of the landmarks and 11 points derived from them.

    With E the eye centre, M the mouth centre, d = |M - E|, `down` = (M - E) / d and `out` pointing away
    from the face axis (perpendicular to `down`), the hull points are the 5 landmarks plus:
    forehead, eye + d (0.7 up + 0.15 out); temple, eye + 0.45 d out; cheek, mouth corner + 0.35 d out;
    jaw, mouth corner + d (0.6 down + 0.1 out); chin, M + 0.9 d down. This covers brows to chin and
    temple to temple of a frontal face, follows in-plane rotation, and scales with the face.

    Returns [H, W] float32 with 1 inside the hull and 0 outside (the hull is clipped to the image).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (5, 2) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks must be a finite [5, 2] array, got shape {lm.shape}")
    h, w = int(shape[0]), int(shape[1])
    eyes = (lm[LEFT_EYE] + lm[RIGHT_EYE]) / 2  # [2] x, y
    mouth = (lm[LEFT_MOUTH] + lm[RIGHT_MOUTH]) / 2
    d = float(np.linalg.norm(mouth - eyes))
    if d < 1.0:
        raise ValueError("eye and mouth landmarks coincide; cannot size the face")
    down = (mouth - eyes) / d
    right = np.array([down[1], -down[0]])  # down rotated -90 degrees: (0, 1) -> (1, 0)
    if np.dot(right, lm[RIGHT_EYE] - lm[LEFT_EYE]) < 0:
        right = -right
    points = [lm, (mouth + CHIN_DOWN * d * down)[None]]
    for eye, mouth_corner, out in (
        (lm[LEFT_EYE], lm[LEFT_MOUTH], -right),
        (lm[RIGHT_EYE], lm[RIGHT_MOUTH], right),
    ):
        points.append(
            np.stack(
                [
                    eye + d * (-FOREHEAD_UP * down + FOREHEAD_OUT * out),
                    eye + d * TEMPLE_OUT * out,
                    mouth_corner + d * CHEEK_OUT * out,
                    mouth_corner + d * (JAW_DOWN * down + JAW_OUT * out),
                ]
            )
        )
    hull = cv2.convexHull(np.concatenate(points).astype(np.float32))  # [K, 1, 2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(hull * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)


def mask_margin(shape: tuple[int, ...]) -> int:
    """Bound, in pixels (Chebyshev distance), on how far `self_blend`'s mask reaches outside the hull."""
    size = min(int(shape[0]), int(shape[1]))
    warp = int(np.ceil(MAX_WARP * size)) + 1  # +1: bilinear sampling of the warped mask
    morph = int(np.ceil(MAX_MORPH * size))
    blur = _half_kernel(BLUR_HALF[1], size)
    return warp + morph + blur


def self_blend(
    image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, p_frequency: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Make one SBI pseudo-fake from a real face crop.

    image: [H, W, 3] uint8 RGB face crop; landmarks: [68, 2] or [5, 2] in crop pixels.
    p_frequency: probability of the frequency transform (the paper's: always). Below 1, some copies differ
    only in colour, position and the seam; run S (docs/training.md, 0.5) moved the cue off the sharpness
    step that way, but did not transfer better than M.
    Returns (fake [H, W, 3] uint8, mask [H, W] float32 in [0, 1]): fake = src * mask + target * (1 - mask);
    with 5 landmarks the target is `image` itself, so wherever mask == 0 the fake equals `image` exactly;
    with 68 the transformed copy is the inside or the outside. Raises ValueError if the hull misses the image.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] uint8, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    lm = np.asarray(landmarks)
    hull = landmark_hull_mask(lm, (h, w), rng) if len(lm) == 68 else face_hull_mask(lm, (h, w))  # [H, W]
    if not hull.any():
        raise ValueError("the face hull lies outside the image")
    source = _colour_transform(image, rng)  # [H, W, 3] f32
    if p_frequency >= 1 or rng.random() < p_frequency:  # no draw at 1: older runs replay bit for bit
        source = _frequency_transform(source, rng)
    source = _scale_shift(source, rng)
    target = image.astype(np.float32)
    if len(lm) == 68 and rng.random() < 0.5:  # source-target augmentation: the outside is the odd one
        source, target = target, source
    mask = _blur_mask(_deform_mask(hull, rng), rng)  # [H, W] f32, max 1
    mask *= np.float32(rng.choice(BLEND_RATIOS))
    m = mask[..., None]  # [H, W, 1]
    fake = source * m + target * (1 - m)  # exact copy of target where m == 0
    return np.clip(np.rint(fake), 0, 255).astype(np.uint8), mask


HULL_SHAPES = ("face", "forehead", "inner", "lower")


def landmark_hull_mask(
    landmarks: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, kind: str | None = None
) -> np.ndarray:
    """Binary [H, W] float32 mask from 68 landmarks, of a shape drawn from `HULL_SHAPES` (or `kind`):

    - face: hull of jaw and brows (what face-swap tools such as DeepFaceLab blend);
    - forehead: the same with the brows raised by 0.5 x (nose length), covering the forehead;
    - inner: hull of brows, eyes, nose and mouth (an inner-face swap, as in FaceSwap/NeuralTextures);
    - lower: nose bridge down to the chin, cheek to cheek (lip-sync and expression re-enactment edits).
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise ValueError(f"landmarks must be a finite [68, 2] array, got shape {lm.shape}")
    kind = kind or str(rng.choice(HULL_SHAPES))
    if kind == "face":
        points = lm[:27]
    elif kind == "forehead":
        up = lm[27] - lm[33]  # nose bridge top minus nose tip: "up", one nose length
        points = np.concatenate([lm[:17], lm[17:27], lm[17:27] + 0.5 * up])
    elif kind == "inner":
        points = lm[17:68]
    elif kind == "lower":
        points = np.concatenate([lm[2:15], lm[28:36], lm[48:68]])
    else:
        raise ValueError(f"unknown hull shape {kind!r}; known: {', '.join(HULL_SHAPES)}")
    hull = cv2.convexHull(points.astype(np.float32))  # [K, 1, 2]
    mask = np.zeros((int(shape[0]), int(shape[1])), np.uint8)
    cv2.fillConvexPoly(mask, np.round(hull * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)


def _colour_transform(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB shift (p=0.3), hue/saturation/value jitter, brightness/contrast. uint8 -> [H, W, 3] float32."""
    out = image.astype(np.float32)
    if rng.random() < 0.3:
        out += rng.uniform(-20, 20, size=3).astype(np.float32)
    hsv = cv2.cvtColor(np.clip(out / 255, 0, 1), cv2.COLOR_RGB2HSV)  # H in [0, 360), S, V in [0, 1]
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-10, 10)) % 360
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.8, 1.2), 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.9, 1.1), 0, 1)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255
    mean = float(rgb.mean())
    out = (rgb - mean) * rng.uniform(0.9, 1.1) + mean + rng.uniform(-0.1, 0.1) * 255
    return np.clip(out, 0, 255).astype(np.float32)


def _frequency_transform(source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of: down-then-up scaling by 2 or 4, Gaussian blur, sharpening. [H, W, 3] float32 in and out."""
    h, w = source.shape[:2]
    choice = rng.integers(3)
    if choice == 0:
        r = int(rng.choice((2, 4)))
        small = cv2.resize(source, (max(1, w // r), max(1, h // r)), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    elif choice == 1:
        out = cv2.GaussianBlur(source, (0, 0), rng.uniform(0.5, 1.5))
    else:  # albumentations-style Sharpen
        alpha, lightness = rng.uniform(*SHARPEN_ALPHA), rng.uniform(*SHARPEN_LIGHTNESS)
        out = cv2.filter2D(source, -1, sharpen_kernel(alpha, lightness))
    return np.clip(out, 0, 255)


def _scale_shift(source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scale by 0.95-1.05 about the centre and shift by up to 3 % (x) / 1.5 % (y) of the crop."""
    h, w = source.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, rng.uniform(0.95, 1.05))  # [2, 3]
    matrix[:, 2] += (rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.015, 0.015) * h)
    return cv2.warpAffine(source, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _deform_mask(hull: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Elastic warp (p=0.5) then dilate or erode (p=0.5) of a binary [H, W] mask; stays binary."""
    h, w = hull.shape
    size = min(h, w)
    mask = hull
    if rng.random() < 0.5:  # smooth random displacement: a 5x5 grid bilinearly upsampled, |dx|, |dy| <= max
        grid = rng.uniform(-1, 1, size=(2, 5, 5)) * rng.uniform(0.25, 1.0) * MAX_WARP * size
        dx, dy = (cv2.resize(g.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) for g in grid)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        warped = cv2.remap(
            mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        mask = (warped > 0.5).astype(np.float32)
    if rng.random() < 0.5:
        radius = int(rng.integers(1, max(2, int(MAX_MORPH * size) + 1)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        morphed = cv2.dilate(mask, kernel) if rng.random() < 0.5 else cv2.erode(mask, kernel)
        mask = morphed if morphed.any() else mask
    return mask if mask.any() else hull


def _blur_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SBI's soft mask: erode by a random kernel, Gaussian-blur with another, rescale to max 1. [H, W] f32."""
    size = min(mask.shape)
    k1 = 2 * _half_kernel(int(rng.integers(BLUR_HALF[0], BLUR_HALF[1] + 1)), size) + 1
    k2 = 2 * _half_kernel(int(rng.integers(BLUR_HALF[0], BLUR_HALF[1] + 1)), size) + 1
    eroded = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k1, k1)))
    mask = eroded if eroded.any() else mask
    blurred = cv2.GaussianBlur(mask, (k2, k2), rng.uniform(0.25, 1.0) * k2)  # support: k2 // 2 pixels
    return (blurred / blurred.max()).astype(np.float32)


def _half_kernel(half_at_256: int, size: int) -> int:
    """Scale a kernel half-size chosen for a 256-pixel crop to a `size`-pixel crop (at least 1)."""
    return max(1, round(half_at_256 * size / 256))
