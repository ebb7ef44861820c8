"""Team assignment without labels: cluster kit colours per match.

A team's kit is the one colour its players share, so the torso colours of
one match's player crops fall into one cluster per team. Clustering runs per
match (kits change from match to match) and per track where tracks are
known, so every crop of one player gets the same team.
"""

import cv2
import numpy as np
from scipy.cluster import vq


def kit_colours(crops):
  """The torso colour of each crop: float32 [N, 3], median CIE Lab of the
  crop's upper middle (rows 20-55%, columns 30-70%), where the shirt is and
  the background least is. crops: uint8 [N, h, w, 3] RGB."""
  crops = np.asarray(crops)
  if crops.ndim != 4 or crops.dtype != np.uint8 or crops.shape[-1] != 3:
    raise ValueError(f"expected uint8 crops [N, h, w, 3], got {crops.dtype} "
                     f"{list(crops.shape)}")
  h, w = crops.shape[1:3]
  torso = crops[:, int(0.2 * h):max(int(0.55 * h), int(0.2 * h) + 1),
                int(0.3 * w):max(int(0.7 * w), int(0.3 * w) + 1)]
  out = np.zeros((len(crops), 3), np.float32)
  for i, patch in enumerate(torso):
    lab = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    out[i] = np.median(lab.astype(np.float32), 0)
  return out


def assign_teams(crops, track_ids=None, num_teams=2, seed=0):
  """Clusters one match's crops into `num_teams` kits (k-means, Lab).

  With `track_ids` [N], each track's crops are averaged first and the
  tracks clustered, so a player keeps one team. Team numbers are arbitrary
  (cluster ids): compare them up to a permutation.
  Returns {"team": int32 [N], "centres": float32 [K, 3] Lab, "track_team":
  {track id: team}}.
  """
  colours = kit_colours(crops)
  if len(colours) < num_teams:
    raise ValueError(f"need at least {num_teams} crops to find {num_teams} teams, "
                     f"got {len(colours)}")
  if track_ids is None:
    centres, team = vq.kmeans2(colours.astype(np.float64), num_teams, seed=seed,
                               minit="++")
    return {"team": team.astype(np.int32), "centres": centres.astype(np.float32),
            "track_team": {}}
  track_ids = np.asarray(track_ids)
  tracks = np.unique(track_ids)
  if len(tracks) < num_teams:
    raise ValueError(f"need at least {num_teams} tracks, got {len(tracks)}")
  means = np.stack([colours[track_ids == t].mean(0) for t in tracks]).astype(np.float64)
  centres, labels = vq.kmeans2(means, num_teams, seed=seed, minit="++")
  track_team = {int(t): int(k) for t, k in zip(tracks, labels)}
  team = np.array([track_team[int(t)] for t in track_ids], np.int32)
  return {"team": team, "centres": centres.astype(np.float32), "track_team": track_team}
