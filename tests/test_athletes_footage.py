"""Athlete crops from any video plus MOT boxes, and unlabelled teams."""

import itertools

import numpy as np
import pytest

from tfsports.data import teams
from tfsports.data import crops as crops_lib
from tfsports.data import mot
from tfsports.data import synthetic
from tfsports.data import video_io


def _match(tmp_path, index):
  """A rendered match as a user has it: an mp4 and a MOT box file."""
  config = synthetic.SceneConfig(sport="basketball", camera="broadcast", image_size=(360, 640),
                                 num_frames=6, referee=False)
  clip = synthetic.render_clip(config, seed=3, index=index)
  video = tmp_path / f"match{index}.mp4"
  video_io.write_video(video, clip["frames"], fps=25)
  boxes = {t: np.concatenate([clip["track_ids"][:, None], clip["boxes"][t]], 1)[
      clip["visibility"][t] > 0.7] for t in range(len(clip["frames"]))}
  gt = tmp_path / f"match{index}.txt"
  mot.write_mot(gt, boxes)
  return video, gt, {int(i): int(t) for i, t in zip(clip["track_ids"], clip["teams"])}


def test_mot_round_trip_and_bad_lines(tmp_path):
  boxes = {0: np.array([[3, 10, 20, 5, 8]], np.float32), 4: np.array([[7, 1, 2, 3, 4]])}
  mot.write_mot(tmp_path / "a.txt", boxes)
  back = mot.read_mot(tmp_path / "a.txt")
  assert sorted(back) == [0, 4]
  np.testing.assert_allclose(back[0], boxes[0])
  (tmp_path / "bad.txt").write_text("1,2,3,4,5,6\nframe,id,x\n")
  with pytest.raises(mot.MOTFormatError, match=r"bad.txt:2"):
    mot.read_mot(tmp_path / "bad.txt")


def test_crops_from_video_follow_the_boxes(tmp_path):
  video, gt, _ = _match(tmp_path, 0)
  c = crops_lib.crops_from_video(video, gt, (48, 24))
  boxes = mot.read_mot(gt)
  expected = sum(int((b[:, 4] >= 24).sum()) for b in boxes.values())
  assert len(c["crops"]) > 0 and len(c["crops"]) <= expected
  assert c["crops"].shape[1:] == (48, 24, 3) and c["crops"].dtype == np.uint8
  assert set(c["track_id"].tolist()) <= {int(i) for b in boxes.values() for i in b[:, 0]}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_teams_are_found_without_labels(tmp_path, index):
  video, gt, truth = _match(tmp_path, index)
  c = crops_lib.crops_from_video(video, gt, (48, 24))
  found = teams.assign_teams(c["crops"], c["track_id"])["track_team"]
  ids = sorted(found)
  # Cluster ids are arbitrary: score the better of the two labellings.
  best = max(np.mean([perm[found[i]] == truth[i] for i in ids])
             for perm in itertools.permutations(range(2)))
  assert best >= 0.9, (best, found, truth)


def test_team_assignment_refuses_too_few_crops():
  with pytest.raises(ValueError, match="at least 2"):
    teams.assign_teams(np.zeros((1, 8, 4, 3), np.uint8))
  with pytest.raises(ValueError, match="uint8 crops"):
    teams.kit_colours(np.zeros((2, 8, 4), np.float32))
