"""Distances between two sets of features: the Fréchet distance (FID/FVD's
formula) and the kernel distance (KID's unbiased MMD^2 with a cubic
polynomial kernel). Computed here in the features of the suite's own
classifiers: no downloaded Inception or I3D weights exist on these
machines, so the figures compare runs of this suite, not published FVDs.
"""

import numpy as np
import scipy.linalg


def _features(x, name):
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or len(x) < 2:
    raise ValueError(f"{name}: need features [N >= 2, D], got shape {x.shape}")
  return x


def frechet_distance(a, b):
  """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)); a [N, D], b [M, D]."""
  a, b = _features(a, "a"), _features(b, "b")
  mu = a.mean(0) - b.mean(0)
  sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  root, _ = scipy.linalg.sqrtm(sa @ sb, disp=False)
  if not np.isfinite(root).all():
    # Singular products (fewer samples than dimensions): regularise as FID does.
    eps = 1e-6 * np.eye(len(sa))
    root = scipy.linalg.sqrtm((sa + eps) @ (sb + eps))
  return float(mu @ mu + np.trace(sa + sb - 2 * np.real(root)))


def kernel_distance(a, b, num_subsets=50, subset_size=None, seed=0):
  """KID: the unbiased MMD^2 with k(x, y) = (x.y / D + 1)^3, averaged over
  random subsets of `subset_size` (default: the smaller set). Returns
  (mean, standard deviation over subsets)."""
  a, b = _features(a, "a"), _features(b, "b")
  d = a.shape[1]
  m = min(len(a), len(b), subset_size or len(a))
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_subsets):
    x = a[rng.choice(len(a), m, replace=False)]
    y = b[rng.choice(len(b), m, replace=False)]
    kxx, kyy, kxy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
    off = 1 - np.eye(m)
    values.append((kxx * off).sum() / (m * (m - 1)) + (kyy * off).sum() / (m * (m - 1))
                  - 2 * kxy.mean())
  return float(np.mean(values)), float(np.std(values))
