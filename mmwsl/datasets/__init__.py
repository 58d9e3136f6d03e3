# Copyright (c) mmwsl contributors. All rights reserved.
from .coco import COCO14ClsDataset, COCO14SegDataset
from .cub import CUBWSOLDataset, load_cub_annotations
from .image_folder import ImageFolderDataset
from .pseudo_box import PseudoBoxDataset
from .synthetic import SyntheticWSOLDataset, SyntheticWSSSDataset
from .transforms import *  # noqa: F401,F403
from .voc import VOC12ClsDataset
from .wsoleval import WSOLEvalDataset, load_wsoleval_annotations
