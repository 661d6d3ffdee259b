"""Data sets: scikit-learn toy problems (Part I) and CIFAR-10 (Parts I-II)."""
