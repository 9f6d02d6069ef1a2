"""Training: datasets, crop cache, Self-Blended Images, augmentation, train/evaluate/calibrate."""
