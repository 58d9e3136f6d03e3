# Copyright (c) mmwsl contributors. All rights reserved.
"""Score-map (CAM) checks and normalisation (``specs/metrics.md`` 1.1, 1.2)."""
import numpy as np


def _to_numpy(array) -> np.ndarray:
    """Convert a tensor (any device) or array-like to a numpy array."""
    if hasattr(array, 'detach'):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def check_scoremap(scoremap, name: str = 'scoremap',
                   check_range: bool = True) -> np.ndarray:
    """Validate a CAM and return it as a float64 array.

    wsolevaluation demands exactly ``float64``; mmwsl accepts any floating
    map (a numpy array or a tensor) and converts it to ``float64``, which is
    exact, so the numbers equal wsolevaluation's on ``cam.astype(float64)``.

    Args:
        scoremap: an (H, W) map.
        name (str): how the map is called in error messages (e.g. the image
            path of the sample it belongs to).
        check_range (bool): require values in [0, 1].

    Raises:
        TypeError: if the map is not floating point.
        ValueError: if it is not 2-D, is empty, contains NaN or infinity, or
            (with ``check_range``) has values outside [0, 1].
    """
    scoremap = _to_numpy(scoremap)
    if not np.issubdtype(scoremap.dtype, np.floating):
        raise TypeError(f'{name} must be a floating-point map; it is of '
                        f'{scoremap.dtype} type.')
    if scoremap.ndim != 2:
        raise ValueError(f'{name} must be a 2D (H, W) array; it has shape '
                         f'{tuple(scoremap.shape)}.')
    if scoremap.size == 0:
        raise ValueError(f'{name} is empty (shape {scoremap.shape}).')
    if np.isnan(scoremap).any():
        raise ValueError(f'{name} must not contain NaN.')
    if np.isinf(scoremap).any():
        raise ValueError(f'{name} must not contain infinity.')
    if check_range and (scoremap.min() < 0 or scoremap.max() > 1):
        raise ValueError(f'{name} must be in range [0, 1]; '
                         f'min={scoremap.min()}, max={scoremap.max()}.')
    return scoremap.astype(np.float64, copy=False)


def normalize_scoremap(cam) -> np.ndarray:
    """Min-max normalise a CAM as wsolevaluation does (spec 1.1).

    A map with NaN, or a constant map, becomes all zeros; otherwise
    ``(cam - min) / (max - min)``, which attains exactly 0 and 1.
    """
    cam = _to_numpy(cam).astype(np.float64)
    if np.isnan(cam).any():
        return np.zeros_like(cam)
    cam_min, cam_max = cam.min(), cam.max()
    if cam_min == cam_max:
        return np.zeros_like(cam)
    return (cam - cam_min) / (cam_max - cam_min)


def normalize_scoremap_bas(cam, eps: float = 1e-5) -> np.ndarray:
    """Min-max normalise a map as BAS does (spec 1.2).

    ``(cam - min) / (max - min + eps)``: values lie in [0, 1), a constant
    map becomes zeros and no error is raised.
    """
    cam = _to_numpy(cam)
    if not np.issubdtype(cam.dtype, np.floating):
        cam = cam.astype(np.float64)
    cam_min = cam.min()
    return (cam - cam_min) / (cam.max() - cam_min + eps)
