"""Read the training set that `ct-muscle-node adapt` writes (dataset.json + raw little-endian files)."""
import json
import os

import numpy as np
import torch
from torch.nn import functional as F

FORMAT = 'ct-muscle-node/adapt-dataset@1'
BOX_LABELS = (2.0, 3.0)  # segment-anything's labels for the top-left and bottom-right box corners


def frame_target(mask, frame_size=1024):
    """Native 0/1 mask → soft target on the decoder's low-res grid (frame_size/4)², laid out as the
    input frame: longest side resized to frame_size (bilinear, as the image), padded bottom/right."""
    rows, columns = mask.shape
    scale = frame_size / max(rows, columns)
    resized = (int(np.floor(rows * scale + 0.5)), int(np.floor(columns * scale + 0.5)))
    m = F.interpolate(mask[None, None].float(), size=resized, mode='bilinear', align_corners=False)
    m = F.pad(m, (0, frame_size - resized[1], 0, frame_size - resized[0]))
    return F.avg_pool2d(m, 4)[0, 0]


def load_dataset(folder):
    with open(os.path.join(folder, 'dataset.json'), encoding='utf-8') as f:
        index = json.load(f)
    if index.get('format') != FORMAT:
        raise ValueError(f"{folder}/dataset.json has format {index.get('format')!r}, expected {FORMAT}")
    dims = index['embeddingDims']
    cases = []
    for position, entry in enumerate(index['cases']):
        embedding = np.fromfile(os.path.join(folder, entry['embedding']), dtype='<f4').reshape(dims)
        mask = np.fromfile(os.path.join(folder, entry['mask']), dtype=np.uint8).reshape(entry['rows'], entry['columns'])
        mask_t = torch.from_numpy(mask.astype(np.float32))
        cases.append({
            'id': entry['id'],
            'index': position,
            'split': entry['split'],
            'rows': entry['rows'],
            'columns': entry['columns'],
            'embedding': torch.from_numpy(embedding.copy()),
            'point_coords': torch.tensor(entry['pointCoords'], dtype=torch.float32).reshape(2, 2),
            'point_labels': torch.tensor(BOX_LABELS, dtype=torch.float32),
            'mask': mask_t,
            'target': frame_target(mask_t, index['frameSize']),
        })
    return index, cases


def decoder_inputs(case):
    """The six ONNX decoder inputs for one case, batch 1, as inference feeds them (no mask prompt)."""
    return (
        case['embedding'][None],
        case['point_coords'][None],
        case['point_labels'][None],
        torch.zeros(1, 1, 256, 256),
        torch.zeros(1),
        torch.tensor([case['rows'], case['columns']], dtype=torch.float32),
    )
