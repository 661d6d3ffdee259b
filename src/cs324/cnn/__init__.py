"""Part II: the course's reduced VGG on CIFAR-10."""
