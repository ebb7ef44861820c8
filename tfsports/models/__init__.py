"""Networks more than one job builds on (the video generator of the
semi-supervised GAN and of the augmentation GAN)."""
