"""Load a segment-anything ONNX decoder's weights (every initializer) into SamOnnxDecoder.

Named initializers keep their PyTorch names (`mask_decoder.…`, `model.prompt_encoder.…`). The
exporter renamed the rest (`onnx::MatMul_1926`, `onnx::Mul_1912`, …) after folding them; each is
identified by the graph node that consumes it:
- MatMul `/transformer/<module path>/MatMul` → that Linear's weight, transposed;
- Mul/Add in `/<seq>/<seq>.<i>/…` (a LayerNorm2d written out) → that LayerNorm2d's weight/bias;
- Mul by `(1 − has_mask_input)` → prompt_encoder.no_mask_embed;
- Expand of [1, 5, 256] → iou_token (row 0) and mask_tokens (rows 1..4).
Any initializer left over, or any parameter not filled, is an error: nothing is guessed.
"""
import re

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .sam_decoder import NUM_MASK_TOKENS, SamOnnxDecoder

LAYERNORM2D = {'mask_downscaling': 'prompt_encoder.mask_downscaling', 'output_upscaling': 'mask_decoder.output_upscaling'}


class WeightMappingError(Exception):
    pass


def _consumers(graph):
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return consumers


def _anonymous_target(name, array, node, producers):
    """(state-dict key(s), tensor(s)) for one anonymous initializer, from its consuming node."""
    path = node.name
    m = re.fullmatch(r'/transformer/(.+)/MatMul', path)
    if node.op_type == 'MatMul' and m:
        return {'mask_decoder.transformer.' + m.group(1).replace('/', '.') + '.weight': array.T}
    m = re.fullmatch(r'/(mask_downscaling|output_upscaling)/\1\.(\d+)/(Mul|Add_1)', path)
    if m:
        key = f"{LAYERNORM2D[m.group(1)]}.{m.group(2)}.{'weight' if m.group(3) == 'Mul' else 'bias'}"
        return {key: array.reshape(-1)}
    if node.op_type == 'Mul':
        other = [i for i in node.input if i != name]
        source = producers.get(other[0]) if other else None
        if source is not None and source.op_type == 'Sub' and 'has_mask_input' in source.input:
            return {'prompt_encoder.no_mask_embed.weight': array.reshape(1, -1)}
    if node.op_type == 'Expand' and array.shape == (1, 1 + NUM_MASK_TOKENS, array.shape[-1]):
        return {'mask_decoder.iou_token.weight': array[0, :1], 'mask_decoder.mask_tokens.weight': array[0, 1:]}
    raise WeightMappingError(f'initializer {name} {list(array.shape)} consumed by {node.op_type} {path}: no rule maps it')


def onnx_state_dict(path):
    """State dict for SamOnnxDecoder from the ONNX file at `path`, plus a report of the mapping."""
    graph = onnx.load(path).graph
    consumers = _consumers(graph)
    producers = {out: node for node in graph.node for out in node.output}
    state = {}
    named = anonymous = 0
    for init in graph.initializer:
        array = numpy_helper.to_array(init).astype(np.float32)
        if init.name.startswith('mask_decoder.'):
            targets, named = {init.name: array}, named + 1
        elif init.name.startswith('model.prompt_encoder.'):
            targets, named = {init.name[len('model.'):]: array}, named + 1
        else:
            nodes = consumers.get(init.name, [])
            if len(nodes) != 1:
                raise WeightMappingError(f'initializer {init.name} has {len(nodes)} consumers; expected one')
            targets, anonymous = _anonymous_target(init.name, array, nodes[0], producers), anonymous + 1
        for key, value in targets.items():
            if key in state:
                raise WeightMappingError(f'{key} is filled twice (second time from {init.name})')
            state[key] = torch.from_numpy(np.ascontiguousarray(value))
    return state, {'initializers': len(graph.initializer), 'named': named, 'anonymous': anonymous}


def load_decoder(path):
    """SamOnnxDecoder with every parameter and buffer taken from the ONNX file; raises on any gap."""
    model = SamOnnxDecoder()
    state, report = onnx_state_dict(path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise WeightMappingError(f'missing {missing}; unexpected {unexpected}')
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise WeightMappingError(f'{key}: ONNX gives {list(value.shape)}, the model needs {list(expected[key].shape)}')
    model.load_state_dict(state, strict=True)
    report['parameters'] = len(expected)
    return model.eval(), report
