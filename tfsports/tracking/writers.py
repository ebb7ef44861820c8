"""The tracking files: MOT tracks.txt, tracks.csv (team, jersey, pitch
metres) and ball.csv, each written aside and renamed when complete."""

import csv
import os

import numpy as np

from tfsports.data import mot
from tfsports.tracking.camera import to_pitch


def write_outputs(result, out_dir, fps, homography=None, teams=None):
  """Writes OUT_DIR/tracks.txt (MOT), tracks.csv and ball.csv; returns
  their paths. Positions in metres where a homography is given (pitch
  x, y of the player's feet: the bottom centre of the box)."""
  teams = teams or {}
  jerseys = result.get("jerseys", {})
  os.makedirs(out_dir, exist_ok=True)
  paths = {"mot": os.path.join(out_dir, "tracks.txt"),
           "csv": os.path.join(out_dir, "tracks.csv"),
           "ball": os.path.join(out_dir, "ball.csv")}
  mot.write_mot(paths["mot"] + ".partial", result["tracks"])
  os.replace(paths["mot"] + ".partial", paths["mot"])
  with open(paths["csv"] + ".partial", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "time_s", "track_id", "x", "y", "w", "h", "team", "jersey",
                "pitch_x_m", "pitch_y_m"])
    for t, rows in result["tracks"].items():
      pitch = (to_pitch(homography, result["camera"][t],
                        np.stack([rows[:, 1] + rows[:, 3] / 2, rows[:, 2] + rows[:, 4]], 1))
               if homography is not None else [("", "")] * len(rows))
      for (i, x, y, bw, bh), (px, py) in zip(rows, pitch):
        w.writerow([t + 1, f"{t / fps:.3f}", int(i), f"{x:.1f}", f"{y:.1f}", f"{bw:.1f}",
                    f"{bh:.1f}", teams.get(int(i), ""), jerseys.get(int(i), ""),
                    f"{px:.2f}" if px != "" else "", f"{py:.2f}" if py != "" else ""])
  os.replace(paths["csv"] + ".partial", paths["csv"])
  with open(paths["ball"] + ".partial", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "time_s", "x", "y", "interpolated", "pitch_x_m", "pitch_y_m"])
    for t, (x, y, filled) in result["ball"].items():
      px, py = (to_pitch(homography, result["camera"][t], [(x, y)])[0]
                if homography is not None else ("", ""))
      w.writerow([t + 1, f"{t / fps:.3f}", f"{x:.1f}", f"{y:.1f}", int(filled),
                  f"{px:.2f}" if px != "" else "", f"{py:.2f}" if py != "" else ""])
  os.replace(paths["ball"] + ".partial", paths["ball"])
  return paths
