# Copyright (c) mmwsl contributors. All rights reserved.
"""Adversarial erasing (AE, Wei et al. 2017): round state, mining and
pseudo-label assembly (``specs/erasing.md`` 1.5-1.8, 3.3-3.5).

AE trains one classifier per round t on the training images with the
regions mined in rounds ``1..t-1`` mean-filled, takes the CAM of every
positive class on the same erased image, keeps each class's discriminative
region with an :class:`~mmwsl.models.layers.ErasePolicy` and adds their
union to the erased set. ``tools/train_erasing.py`` runs the rounds (one
MMEngine Runner each) and :class:`~mmwsl.engine.hooks.AEMiningHook` mines
at the end of each round's training.

Folder of an AE run (``root``)::

    ae_state.json                 round state machine (atomic rewrite)
    images.json                   the mined images: id, path, labels
    round_{t}/epoch_*.pth         MMEngine checkpoints of classifier M_t
    round_{t}/final.pth           copy of the checkpoint used for mining
    round_{t}/regions/{id}.npz    classes int16 (K,), masks packbits of
                                  bool (K, H, W), shape (3,)
    round_{t}/erase/{id}.png      cumulative erased set E_t, uint8 {0, 1},
                                  original image size
    round_{t}/cams/{id}.npz       optional CAMs (keys, cam float16 in [0, 1],
                                  the format of mmwsl.apis.pseudo_label)
    round_{t}/MINING_DONE.json    written last: count, stats, files_sha

Every file is written through a temporary file and ``os.replace``; mining
skips images whose files exist, so a killed run resumes where it stopped
and produces the same bytes as an uninterrupted one.
"""
import hashlib
import io
import json
import os
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsl.apis.pseudo_label import (
    Progress,
    PseudoLabelWriter,
    _jsonable,
    encode_cams_npz,
    encode_png,
    file_sha256,
    write_bytes_atomic,
)
from mmwsl.datasets.transforms.adversarial_erasing import (
    erase_image,
    read_erase_mask,
)
from mmwsl.models.layers.erase_policy import ErasePolicy

STATE_FILE = 'ae_state.json'
IMAGES_FILE = 'images.json'
DONE_FILE = 'MINING_DONE.json'
STATE_FORMAT = 1
IGNORE_INDEX = 255
#: ``erase_src_sha`` of round 1 (nothing erased).
NO_ERASE = 'none'
ROUND_STATUSES = ('new', 'training', 'mining', 'done', 'stopped')


# --------------------------------------------------------------------------
# Hashes and small files
# --------------------------------------------------------------------------
def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def json_sha(obj) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys)."""
    return sha256_text(json.dumps(_jsonable(obj), sort_keys=True))


def write_json_atomic(path: str, obj) -> None:
    write_bytes_atomic(
        path, (json.dumps(obj, indent=1, sort_keys=True) + '\n').encode())


def read_json(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        raise ValueError(f'{path} is not valid JSON ({e}); the file is '
                         f'damaged or was not written by mmwsl.') from None


def round_dir(root: str, t: int) -> str:
    return osp.join(root, f'round_{t}')


# --------------------------------------------------------------------------
# Round state (ae_state.json)
# --------------------------------------------------------------------------
def load_state(root: str) -> Optional[dict]:
    path = osp.join(root, STATE_FILE)
    return read_json(path) if osp.isfile(path) else None


def save_state(root: str, state: dict) -> None:
    write_json_atomic(osp.join(root, STATE_FILE), state)


def get_round(state: dict, t: int) -> dict:
    rounds = state.setdefault('rounds', {})
    return rounds.setdefault(
        str(t),
        dict(status='new', final_ckpt=None, final_ckpt_sha=None,
             final_loss=None, erase_src_sha=None, stats={}))


def update_round(root: str, t: int, **fields) -> dict:
    """Read the state, update round ``t`` with ``fields``, write it back
    atomically; returns the new state."""
    state = load_state(root)
    if state is None:
        raise FileNotFoundError(
            f'No {STATE_FILE} in {root}; start the run with '
            f'tools/train_erasing.py.')
    status = fields.get('status')
    if status is not None and status not in ROUND_STATUSES:
        raise ValueError(f'Unknown round status {status!r}.')
    get_round(state, t).update(_jsonable(fields))
    save_state(root, state)
    return state


def erase_src_sha(root: str, t: int) -> str:
    """Identity of round ``t``'s training input: the ``files_sha`` of round
    ``t - 1``'s mining (:data:`NO_ERASE` for round 1)."""
    if t <= 1:
        return NO_ERASE
    done = read_done(round_dir(root, t - 1))
    if done is None:
        raise FileNotFoundError(
            f'Round {t} needs the erase masks of round {t - 1}, but '
            f'{osp.join(round_dir(root, t - 1), DONE_FILE)} does not exist.')
    return done['files_sha']


def read_done(rdir: str) -> Optional[dict]:
    path = osp.join(rdir, DONE_FILE)
    return read_json(path) if osp.isfile(path) else None


# --------------------------------------------------------------------------
# Region files
# --------------------------------------------------------------------------
def encode_npz(arrays: Dict[str, np.ndarray]) -> bytes:
    """Compressed ``.npz`` bytes, byte-identical for identical arrays."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            item = io.BytesIO()
            np.lib.format.write_array(item, np.ascontiguousarray(arr),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f'{name}.npy',
                                   date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, item.getvalue())
    return buf.getvalue()


def encode_regions(classes: Sequence[int], masks: np.ndarray) -> bytes:
    """``.npz`` bytes of one image's mined regions.

    Args:
        classes: K class indices (0-based).
        masks: ``(K, H, W)`` bool regions.
    """
    masks = np.asarray(masks, bool)
    if masks.ndim != 3 or len(masks) != len(classes):
        raise ValueError(f'masks must be (K, H, W) with K = {len(classes)}, '
                         f'got {masks.shape}.')
    return encode_npz(
        dict(classes=np.asarray(classes, np.int16),
             masks=np.packbits(masks.reshape(-1)),
             shape=np.asarray(masks.shape, np.int64)))


def load_regions(path: str) -> tuple:
    """Read a regions file: ``(classes (K,) int64, masks (K, H, W) bool)``.

    Raises:
        ValueError: naming the file when it is unreadable or inconsistent.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            classes, packed, shape = (data['classes'], data['masks'],
                                      data['shape'])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f'Cannot read AE regions file {path}: {e}') from None
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[0] != len(classes):
        raise ValueError(f'AE regions file {path}: shape {shape} does not '
                         f'fit {len(classes)} classes.')
    n = int(np.prod(shape))
    bits = np.unpackbits(packed, count=n)
    if bits.size != n:
        raise ValueError(f'AE regions file {path} is truncated.')
    return classes.astype(np.int64), bits.reshape(shape).astype(bool)


def encode_mask_png(mask: np.ndarray) -> bytes:
    return encode_png(np.asarray(mask, np.uint8))


# --------------------------------------------------------------------------
# Mining
# --------------------------------------------------------------------------
class RoundFiles:
    """Paths of one round's mining outputs."""

    def __init__(self, rdir: str, save_cams: bool = False):
        self.dir = rdir
        self.save_cams = save_cams

    def regions(self, img_id: str) -> str:
        return osp.join(self.dir, 'regions', img_id + '.npz')

    def erase(self, img_id: str) -> str:
        return osp.join(self.dir, 'erase', img_id + '.png')

    def cams(self, img_id: str) -> str:
        return osp.join(self.dir, 'cams', img_id + '.npz')

    @property
    def erase_dir(self) -> str:
        return osp.join(self.dir, 'erase')

    def outputs(self, img_id: str) -> List[str]:
        paths = [self.regions(img_id), self.erase(img_id)]
        if self.save_cams:
            paths.insert(0, self.cams(img_id))
        return paths

    def is_done(self, img_id: str) -> bool:
        return all(osp.isfile(p) for p in self.outputs(img_id))

    def clear(self) -> None:
        """Delete the per-image outputs (they belong to another
        checkpoint) and MINING_DONE.json."""
        for sub in ('regions', 'erase', 'cams'):
            folder = osp.join(self.dir, sub)
            if osp.isdir(folder):
                for name in os.listdir(folder):
                    os.remove(osp.join(folder, name))
        done = osp.join(self.dir, DONE_FILE)
        if osp.isfile(done):
            os.remove(done)

    def clean_temp(self) -> None:
        for sub in ('regions', 'erase', 'cams'):
            folder = osp.join(self.dir, sub)
            if osp.isdir(folder):
                for name in os.listdir(folder):
                    if name.startswith('.') and name.endswith('.tmp'):
                        os.remove(osp.join(folder, name))


def load_image(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR image, with a clear error."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    img = mmcv.imread(path, flag='color', backend='cv2')
    if img is None:
        raise ValueError(f'Cannot decode image file {path}.')
    return img


@torch.no_grad()
def image_cams(model: nn.Module, images: Sequence[np.ndarray],
               cam_key: str = 'cams') -> torch.Tensor:
    """Class maps of float images of one size at their own resolution.

    Each image ``(H, W, 3)`` (BGR float32, erased) goes through the model's
    data preprocessor and ``model(..., mode='tensor')[cam_key]``; the maps
    are rectified and upsampled bilinearly (``align_corners=False``) to
    ``(H, W)``.

    Returns:
        torch.Tensor: ``(N, K, H, W)`` float32 maps.
    """
    h, w = images[0].shape[:2]
    inputs = [
        torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
        for img in images
    ]
    data = model.data_preprocessor(dict(inputs=inputs), False)
    out = model(data['inputs'], mode='tensor')
    if not isinstance(out, dict) or cam_key not in out:
        got = list(out) if isinstance(out, dict) else type(out)
        raise KeyError(f"The model's tensor output has no '{cam_key}' "
                       f'entry; it gives {got}.')
    maps = out[cam_key].float().clamp_min(0)
    return F.interpolate(maps, (h, w), mode='bilinear', align_corners=False)


def mine_images(model: nn.Module,
                samples: Sequence[dict],
                files: RoundFiles,
                policy: ErasePolicy,
                fill: np.ndarray,
                prev_erase_dir: Optional[str] = None,
                batch_size: int = 1,
                rank: int = 0,
                world_size: int = 1,
                progress: bool = True,
                on_written=None) -> Dict[str, int]:
    """Mine this rank's share of ``samples`` (every ``world_size``-th),
    skipping images whose files exist.

    For each image: ``E_prev`` (round t-1's mask, or nothing), the image
    with ``E_prev`` filled with ``fill``, the CAM of each positive class
    at the original size, its region ``F_c = policy(CAM_c)``, and the new
    cumulative mask ``E_prev | union_c F_c``.

    Args:
        model: the classifier in eval mode (``mode='tensor'`` gives
            ``cams``).
        samples: dicts with ``id``, ``img_path`` and ``labels`` (0-based
            positive classes).
        files: the round's :class:`RoundFiles`.
        policy: the region rule.
        fill: fill value in the loaded image's (BGR) order.
        prev_erase_dir: round t-1's ``erase`` folder, None in round 1.
        batch_size: images per forward pass: fixed consecutive chunks of
            this rank's list, split where the image size changes.
        on_written: optional callable ``(n_written)`` after each image
            (used for progress and fault injection in tests).

    Returns:
        dict: ``done``, ``skipped``, ``total`` for this rank.
    """
    mine = list(range(rank, len(samples), world_size))
    todo = [i for i in mine if not files.is_done(samples[i]['id'])]
    bar = Progress(len(mine), len(mine) - len(todo),
                   label=f'AE mining {osp.basename(files.dir)} ') \
        if progress else None
    written = 0

    def run(batch: List[int], images: List[np.ndarray],
            prev: List[np.ndarray]) -> None:
        nonlocal written
        maps = image_cams(model, images).cpu()
        for j, cam, e_prev in zip(batch, maps, prev):
            if j not in pending:
                continue
            s = samples[j]
            keys = sorted(int(c) for c in s['labels'])
            if keys and max(keys) >= cam.size(0):
                raise ValueError(
                    f'Image {s["img_path"]} has class {max(keys)} but the '
                    f'model gives {cam.size(0)} class maps.')
            sel = cam[keys] if keys else cam[:0]
            regions = policy(sel).numpy() if keys else np.zeros(
                (0, ) + e_prev.shape, bool)
            erased = e_prev | regions.any(0)
            if files.save_cams:
                peak = sel.flatten(1).amax(1) if keys else sel.new_zeros(0)
                norm = (sel / (peak[:, None, None] + 1e-5)).numpy()
                write_bytes_atomic(
                    files.cams(s['id']),
                    encode_cams_npz(np.asarray(keys, np.int64),
                                    norm.astype(np.float16)))
            write_bytes_atomic(files.regions(s['id']),
                               encode_regions(keys, regions))
            write_bytes_atomic(files.erase(s['id']), encode_mask_png(erased))
            written += 1
            if bar is not None:
                bar.update()
            if on_written is not None:
                on_written(written)

    # Batches are fixed chunks of this rank's list, so an image always
    # meets the same batch companions (resume gives the same numerics); a
    # chunk with any unfinished image is run whole and only its unfinished
    # images are written.
    pending = set(todo)
    for start in range(0, len(mine), batch_size):
        chunk = mine[start:start + batch_size]
        if not pending.intersection(chunk):
            continue
        batch, images, prev = [], [], []
        for j in chunk:
            s = samples[j]
            img = load_image(s['img_path'])
            e_prev = (read_erase_mask(
                osp.join(prev_erase_dir, s['id'] + '.png'), img.shape)
                if prev_erase_dir is not None else np.zeros(
                    img.shape[:2], bool))
            img = erase_image(img, e_prev, fill)
            if images and img.shape != images[0].shape:
                run(batch, images, prev)
                batch, images, prev = [], [], []
            batch.append(j)
            images.append(img)
            prev.append(e_prev)
        run(batch, images, prev)
    if bar is not None and not todo:
        bar._print()
    return dict(done=len(todo), skipped=len(mine) - len(todo),
                total=len(mine))


def finalize_round(files: RoundFiles, samples: Sequence[dict],
                   round_idx: int, extra: Optional[dict] = None) -> dict:
    """Check that every image is mined, compute the round's statistics and
    the sha of its file list, and write ``MINING_DONE.json`` (last).

    The ``files_sha`` is the sha256 of the lines ``"<id> <sha256 of the
    regions file> <sha256 of the erase file>"`` in id order; it identifies
    the erased training set of the next round.

    Raises:
        FileNotFoundError: naming the first image whose files are missing.
    """
    missing = [s['id'] for s in samples if not files.is_done(s['id'])]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} images of {files.dir} are not mined yet, e.g. '
            f'{files.regions(missing[0])}.')
    lines, erased, new, per_class = [], [], [], {}
    for s in sorted(samples, key=lambda s: s['id']):
        rpath, epath = files.regions(s['id']), files.erase(s['id'])
        lines.append(f'{s["id"]} {file_sha256(rpath)} {file_sha256(epath)}')
        classes, masks = load_regions(rpath)
        e = read_erase_mask(epath, masks.shape[1:] if len(masks) else None)
        area = float(e.size)
        erased.append(e.sum() / area)
        new.append(masks.any(0).sum() / area if len(masks) else 0.0)
        for c, m in zip(classes.tolist(), masks):
            per_class.setdefault(str(c), []).append(m.sum() / area)
    files_sha = sha256_text('\n'.join(lines) + '\n')
    stats = dict(
        mean_erased_fraction=float(np.mean(erased)) if erased else 0.0,
        mean_new_fraction=float(np.mean(new)) if new else 0.0,
        mean_class_fraction={
            k: float(np.mean(v))
            for k, v in sorted(per_class.items(), key=lambda kv: int(kv[0]))
        })
    done = dict(round=round_idx, num_images=len(samples),
                files_sha=files_sha, stats=stats, **(extra or {}))
    write_json_atomic(osp.join(files.dir, DONE_FILE), _jsonable(done))
    return done


# --------------------------------------------------------------------------
# Pseudo-labels (spec 1.8)
# --------------------------------------------------------------------------
def assemble_ae_label(class_masks: np.ndarray,
                      keys: Sequence[int],
                      background: Optional[np.ndarray] = None,
                      conflict: str = 'ignore',
                      cams: Optional[np.ndarray] = None) -> np.ndarray:
    """Segmentation label of one image from its mined regions.

    ``label = c + 1`` where exactly one class's region ``M_c`` holds the
    pixel; 255 where two or more do (``conflict='ignore'``) or the class of
    the largest CAM among them (``conflict='argmax'``, needs ``cams``); 0
    where no region holds it and ``background`` is True; 255 otherwise.

    Args:
        class_masks: ``(K, H, W)`` bool merged regions ``M_c``.
        keys: their K class indices (0-based).
        background: ``(H, W)`` bool background cue (e.g. saliency below
            tau), or None (no background: non-mined pixels are ignored).
        conflict: ``'ignore'`` or ``'argmax'``.
        cams: ``(K, H, W)`` maps of the same classes for ``'argmax'``.

    Returns:
        np.ndarray: ``(H, W)`` uint8, 0 background, ``c + 1`` class c,
        255 ignore.
    """
    masks = np.asarray(class_masks, bool)
    keys = np.asarray(keys, np.int64)
    if masks.ndim != 3 or len(masks) != len(keys):
        raise ValueError(f'class_masks must be (K, H, W) with K = '
                         f'{len(keys)}, got {masks.shape}.')
    if conflict not in ('ignore', 'argmax'):
        raise ValueError(
            f"conflict must be 'ignore' or 'argmax', not {conflict!r}.")
    shape = masks.shape[1:]
    label = np.full(shape, IGNORE_INDEX, np.uint8)
    if background is not None:
        background = np.asarray(background, bool)
        if background.shape != shape:
            raise ValueError(f'background cue of shape {background.shape} '
                             f'does not match the masks {shape}.')
    count = masks.sum(0)
    if len(keys):
        owner = (keys + 1)[masks.argmax(0)].astype(np.uint8)
        label[count == 1] = owner[count == 1]
        if conflict == 'argmax' and (count > 1).any():
            if cams is None or np.shape(cams) != masks.shape:
                raise ValueError("conflict='argmax' needs cams of the "
                                 'shape of class_masks.')
            scored = np.where(masks, np.asarray(cams, np.float64), -np.inf)
            best = (keys + 1)[scored.argmax(0)].astype(np.uint8)
            label[count > 1] = best[count > 1]
    if background is not None:
        label[(count == 0) & background] = 0
    return label


def merged_regions(root: str, rounds: Sequence[int], img_id: str,
                   keys: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """``M_c`` = union over ``rounds`` of each class's regions,
    ``(len(keys), H, W)`` bool in the order of ``keys``."""
    keys = [int(k) for k in keys]
    out = np.zeros((len(keys), ) + tuple(shape[:2]), bool)
    index = {k: i for i, k in enumerate(keys)}
    for t in rounds:
        path = RoundFiles(round_dir(root, t)).regions(img_id)
        if not osp.isfile(path):
            raise FileNotFoundError(f'AE regions file {path} is missing.')
        classes, masks = load_regions(path)
        if masks.shape[1:] != out.shape[1:]:
            raise ValueError(f'{path}: regions of size {masks.shape[1:]} '
                             f'for an image of size {out.shape[1:]}.')
        for c, m in zip(classes.tolist(), masks):
            if c not in index:
                raise ValueError(f'{path} holds class {c}, which is not '
                                 f'among the image labels {keys}.')
            out[index[c]] |= m
    return out


def done_rounds(state: dict) -> List[int]:
    """Rounds whose regions are accepted (status ``done``), in order."""
    rounds = []
    for t in range(1, int(state.get('num_rounds', 0)) + 1):
        if get_round(state, t)['status'] != 'done':
            break
        rounds.append(t)
    return rounds


class AEPseudoLabelWriter(PseudoLabelWriter):
    """:class:`~mmwsl.apis.PseudoLabelWriter` for labels assembled from AE
    regions: the same folder layout (``meta.json``, ``ann_dir/*.png``,
    ``splits/<split>.txt``, config snippet), the same fingerprint check and
    atomic writes, but the label map is given (:func:`assemble_ae_label`)
    instead of computed from CAMs. ``label_cfg`` records the assembly
    settings."""

    def __init__(self, out_dir: str, fingerprint: dict, classes, img_root,
                 img_suffix, split: str = 'train',
                 label_cfg: Optional[dict] = None,
                 info: Optional[dict] = None):
        super().__init__(out_dir, fingerprint, classes, img_root,
                         img_suffix, split=split,
                         label_cfg=dict(label_cfg or {}, rule='ae'),
                         save_cams=False, info=info)

    def write_label(self, name: str, label: np.ndarray) -> None:
        label = np.asarray(label)
        if label.ndim != 2 or label.dtype != np.uint8:
            raise ValueError(f'Label of {name} must be (H, W) uint8, got '
                             f'{label.shape} {label.dtype}.')
        write_bytes_atomic(self.label_path(name), encode_png(label))
