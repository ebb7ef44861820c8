"""The trajectory data layer: one Scene form from every format, resampling,
the constant-velocity baseline and minADE / minFDE."""

import glob
import os

import numpy as np
import pytest

from tests.conftest import SHARED
from tfsports.forecast import data

TRAJ = os.path.join(SHARED, "trajectories")
FEET = data.FEET


def _write(path, text):
  path.write_text(text)
  return str(path)


def test_hockey_splits_shots_and_converts_feet(tmp_path):
  tracks = _write(tmp_path / "game.csv",
                  "frame_id,period,track_id,team_id,team_name,jersey_number,x_ft,y_ft\n"
                  "1,1,7,Light,CAN,6,10,20\n2,1,7,Light,CAN,6,11,20\n"
                  "5,1,7,Dark,USA,2,50,40\n6,1,8,Dark,USA,2,51,40\n")
  _write(tmp_path / "videoShotsInfo_game.csv",
         "shot_ind,frame_start_shot,frame_end_shot,time_start_shot(sec),time_end_shot(sec)\n"
         "1,1,2,0,0.03\n2,5,6,0.13,0.17\n")
  first, second = data.read_hockey(tracks)
  np.testing.assert_allclose(first.xy[0], [[10 * 0.3048, 20 * 0.3048], [11 * 0.3048, 20 * 0.3048]],
                             rtol=1e-6)
  assert first.team.tolist() == [0] and first.fps == 30
  # Track 7 in the second shot is another agent: ids hold within a shot only.
  assert second.agent_ids == ["7", "8"] and second.valid.tolist() == [[True, False], [False, True]]


def test_bad_trajectory_files_are_named(tmp_path):
  with pytest.raises(data.TrajectoryFormatError, match="missing column.*team"):
    data.read_lastrow(_write(tmp_path / "a.csv", "player,frame,x,y\n1,0,1,2\n"))
  with pytest.raises(data.TrajectoryFormatError, match="b.csv:2.*nan"):
    data.read_lastrow(_write(tmp_path / "b.csv", "player,frame,x,y,team\n1,0,nan,2,attack\n"))
  with pytest.raises(data.TrajectoryFormatError, match="c.csv:3.*'x'"):
    data.read_lastrow(_write(tmp_path / "c.csv",
                             "player,frame,x,y,team\n1,0,1,2,attack\n1,1,x,2,attack\n"))
  with pytest.raises(data.TrajectoryFormatError, match="pitch_points"):
    data.read_tracks_csv(_write(
        tmp_path / "tracks.csv", "frame,time_s,track_id,x,y,w,h,team,jersey,pitch_x_m,pitch_y_m\n"
        "1,0.000,1,1,1,5,5,0,,,\n"))
  with pytest.raises(FileNotFoundError):
    data.read_lastrow(str(tmp_path / "none.csv"))


def test_tracks_csv_and_resampling(tmp_path):
  lines = ["frame,time_s,track_id,x,y,w,h,team,jersey,pitch_x_m,pitch_y_m"]
  for t in range(25):            # one agent walking 1 m/s at 25 fps, one second
    lines.append(f"{t + 1},{t / 25:.3f},3,0,0,1,1,1,,{t / 25:.2f},5.00")
  scene = data.read_tracks_csv(_write(tmp_path / "tracks.csv", "\n".join(lines) + "\n"))
  assert scene.fps == pytest.approx(25) and scene.team.tolist() == [1]
  slow = data.resample(scene, 5)
  assert slow.num_frames == 5 and slow.valid.all()
  np.testing.assert_allclose(slow.xy[0, :, 0], [0, 0.2, 0.4, 0.6, 0.8], atol=1e-5)
  gap = scene.valid.copy()
  gap[0, 10] = False
  # A resampled point is valid only between two valid source frames.
  holed = data.resample(data.Scene("g", scene.xy, gap, scene.team, scene.agent_ids, 25.0), 12.5)
  assert not holed.valid[0, 5] and holed.valid[0, 4] and holed.valid[0, 6]


def test_constant_velocity_and_min_ade_fde():
  observed = np.array([[[0, 0], [1, 0]], [[0, 0], [0, 2]]], np.float32)
  cv = data.constant_velocity(observed, 3)
  np.testing.assert_allclose(cv[0], [[2, 0], [3, 0], [4, 0]])
  np.testing.assert_allclose(cv[1], [[0, 4], [0, 6], [0, 8]])
  truth = cv + np.array([0.0, 1.0])                  # 1 m off everywhere
  far = cv + np.array([0.0, 5.0])
  ade, fde = data.min_ade_fde(np.stack([far, truth + 0.0 * cv, cv]), truth)
  assert ade == pytest.approx(0.0) and fde == pytest.approx(0.0)
  ade, fde = data.min_ade_fde(np.stack([far, cv]), truth)
  assert ade == pytest.approx(1.0) and fde == pytest.approx(1.0)


@pytest.mark.skipif(not os.path.isdir(TRAJ), reason="needs ../shared/data/real")
def test_real_formats_read_into_metres():
  for path in glob.glob(os.path.join(TRAJ, "lastrow", "*.csv")):
    scene = data.read_lastrow(path)
    inside = scene.xy[scene.valid]
    assert inside.min() > -1 and inside[:, 0].max() < 106 and inside[:, 1].max() < 69
    assert set(scene.team.tolist()) == {0, 1}
  shots = data.read_hockey(glob.glob(os.path.join(TRAJ, "hockey_*", "2022-*_P1_PP1.csv"))[0])
  xy = np.concatenate([s.xy[s.valid] for s in shots])
  # On the 200 x 85 ft rink, give or take the broadcast projection's error.
  assert -3 < xy.min() and xy[:, 0].max() < 200 * FEET + 3 and xy[:, 1].max() < 85 * FEET + 3
