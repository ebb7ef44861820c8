"""GAN data augmentation: a class-conditional video GAN (DVD-GAN style,
with DiffAugment) whose clips enlarge a small labelled training set."""
