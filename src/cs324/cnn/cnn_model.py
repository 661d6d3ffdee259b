"""The course's reduced VGG (lecture 8): conv 3x3 / BN / ReLU blocks and 3x3 max-pools.

    model = CNN(n_channels=3, n_classes=10)       # 9,231,114 trainable parameters
    logits = model(x)                             # x: (B, 3, 32, 32) -> (B, 10)

Built from the visible table ``LAYERS``; default PyTorch initialisation.
"""

from __future__ import annotations

import torch
import torch.nn as nn

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


class ConvBNReLU(nn.Sequential):
    """3x3 convolution, stride 1, padding 1, then BatchNorm2d and ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride=1, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


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
