"""Export SamOnnxDecoder to ONNX with the inputs and outputs of segment-anything's export."""
import torch

from .sam_decoder import EMBED_DIM, EMBED_SIZE

INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size']
OUTPUTS = ['masks', 'iou_predictions', 'low_res_masks']
OPSET = 17  # the base decoder's opset; onnxruntime 1.30 runs it


def export_decoder(model, path):
    model.eval()
    dummy = (
        torch.randn(1, EMBED_DIM, EMBED_SIZE, EMBED_SIZE),
        torch.randint(0, 1024, (1, 2, 2), dtype=torch.float32),
        torch.tensor([[2.0, 3.0]]),
        torch.zeros(1, 1, 4 * EMBED_SIZE, 4 * EMBED_SIZE),
        torch.zeros(1),
        torch.tensor([512.0, 512.0]),
    )
    with torch.no_grad():
        torch.onnx.export(
            model, dummy, path,
            input_names=INPUTS, output_names=OUTPUTS,
            dynamic_axes={'point_coords': {1: 'num_points'}, 'point_labels': {1: 'num_points'}},
            opset_version=OPSET, do_constant_folding=True,
        )
    return {'opset': OPSET, 'inputs': INPUTS, 'outputs': OUTPUTS, 'torch': torch.__version__}
