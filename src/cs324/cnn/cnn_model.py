"""The course's reduced VGG (lecture 8): conv 3x3 / BN / ReLU blocks and 3x3 max-pools.

    model = CNN(n_channels=3, n_classes=10)       # 9,231,114 trainable parameters
    logits = model(x)                             # x: (B, 3, 32, 32) -> (B, 10)

Built from the visible table ``LAYERS``; default PyTorch initialisation.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from cs324.runtime import cpu_has_amx

# ("conv", out_channels) or ("pool",); shapes for a 3x32x32 input in the comments.
LAYERS = [
    ("conv", 64),  # 1: 64x32x32
    ("pool",),  # 2: 64x16x16
    ("conv", 128),  # 3: 128x16x16
    ("pool",),  # 4: 128x8x8
    ("conv", 256),  # 5: 256x8x8
    ("conv", 256),  # 6: 256x8x8
    ("pool",),  # 7: 256x4x4
    ("conv", 512),  # 8: 512x4x4
    ("conv", 512),  # 9: 512x4x4
    ("pool",),  # 10: 512x2x2
    ("conv", 512),  # 11: 512x2x2
    ("conv", 512),  # 12: 512x2x2
    ("pool",),  # 13: 512x1x1
]


# Maps of at most this many positions go through ``conv3x3_as_matmul`` under CPU bf16 autocast. Measured on an
# AMX Xeon (2 threads, batch 128, forward and backward): 512->512 at 2x2 49 ms as a oneDNN convolution, 17 ms as
# one product; 512->512 at 4x4 62 -> 36 ms; 256->512 at 4x4 28 -> 20 ms; but 256->256 at 8x8 22 -> 66 ms.
# On an AMD EPYC with AVX-512 BF16 (no AMX) the bf16 step already ran at about 80% of that CPU's bf16 matmul
# rate, so there is nothing to win and the product stays off: only AMX CPUs take it.
SMALL_MAP = 16
SMALL_MAP_PRODUCT = cpu_has_amx()


def conv3x3_as_matmul(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The 3x3, stride 1, padding 1 convolution as one matrix product over each position's 3x3 patch (im2col).

    x: (B, C, H, W), weight: (C', C, 3, 3) -> (B, C', H, W) in channels-last layout. oneDNN's convolution
    kernels spend most of their time outside the arithmetic on a few positions; here the batch's B*H*W
    patches make one (B*H*W, 9C) x (9C, C') product, and autograd derives the weight gradient as one product
    too. Same arithmetic as the convolution (the zero padding included)."""
    B, C, H, W = x.shape
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    patches = torch.cat([padded[:, :, i : i + H, j : j + W] for i in range(3) for j in range(3)], dim=1)
    patches = patches.permute(0, 2, 3, 1).reshape(B * H * W, 9 * C)  # rows: positions; columns: (tap, channel)
    w = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], 9 * C)  # the same (tap, channel) order
    return nn.functional.linear(patches, w, bias).view(B, H, W, -1).permute(0, 3, 1, 2)


def _cpu_bf16_autocast(x: torch.Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
    )


class Conv3x3(nn.Conv2d):
    """3x3 convolution, stride 1, padding 1 (an ``nn.Conv2d``: same parameters, same state dict). Small maps under
    bf16 autocast on an AMX CPU take ``conv3x3_as_matmul``; everything else (fp32, CUDA, other CPUs, larger maps)
    the convolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, 3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if SMALL_MAP_PRODUCT and x.shape[-2] * x.shape[-1] <= SMALL_MAP and _cpu_bf16_autocast(x):
            return conv3x3_as_matmul(x, self.weight, self.bias)
        return super().forward(x)


class ConvBNReLU(nn.Sequential):
    """3x3 convolution, stride 1, padding 1, then BatchNorm2d and ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(Conv3x3(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class CNN(nn.Module):
    def __init__(self, n_channels: int, n_classes: int) -> None:
        super().__init__()
        if n_channels < 1 or n_classes < 1:
            raise ValueError(f"n_channels and n_classes must be >= 1, got {n_channels}, {n_classes}")
        blocks: list[nn.Module] = []
        c = n_channels
        for spec in LAYERS:
            if spec[0] == "conv":
                blocks.append(ConvBNReLU(c, spec[1]))
                c = spec[1]
            else:
                blocks.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, n_channels, 32, 32) -> logits (B, n_classes)."""
        x = self.features(x)  # (B, 512, 1, 1)
        return self.classifier(torch.flatten(x, 1))  # (B, n_classes)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
