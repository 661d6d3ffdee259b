"""Part I: the NumPy MLP of Assignment 1, its PyTorch twin, and the CIFAR-10 MLP."""
