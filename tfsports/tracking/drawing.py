"""What a person sees: teams by kit colour, boxes in team colours with ids,
the ball's trail, and the annotated video (a second pass over the file)."""

import cv2
import numpy as np

from tfsports.data import teams as teams_lib
from tfsports.data import video_io

BALL_TRAIL = 15


def team_colours(crops):
  """Two teams by kit colour over the tracks' crops: ({track id: team},
  [(r, g, b) per team]); empty when there are fewer than two tracks."""
  ids = [i for i, c in crops.items() for _ in c]
  if len(set(ids)) < 2:
    return {}, []
  result = teams_lib.assign_teams(np.stack([c for i in crops for c in crops[i]]), ids)
  lab = np.clip(result["centres"], 0, 255).astype(np.uint8)[None]
  rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0]
  return result["track_team"], [tuple(int(v) for v in c) for c in rgb]


UNKNOWN_TEAM = (255, 255, 255)


def annotate_frame(frame, rows, ball_trail, teams, colours):
  """Draws boxes in team colours with ids, and the ball's recent trail, on a
  copy of frame."""
  out = frame.copy()
  thick = max(1, round(frame.shape[0] / 360))
  for i, x, y, w, h in rows:
    team = teams.get(int(i))
    colour = colours[team] if team is not None and team < len(colours) else UNKNOWN_TEAM
    cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, thick)
    cv2.putText(out, str(int(i)), (int(x), int(y) - 2 * thick), cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * thick, colour, thick, cv2.LINE_AA)
  if ball_trail:
    pts = np.round(np.array(ball_trail)).astype(np.int32)
    cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, (255, 220, 0), thick, cv2.LINE_AA)
    cv2.circle(out, tuple(int(v) for v in pts[-1]), 3 * thick, (255, 60, 0), thick,
               cv2.LINE_AA)
  return out


def write_annotated(video_path, result, path, fps, teams, colours, progress=None):
  """Second pass: the annotated H.264 video."""
  empty = np.zeros((0, 5), np.float32)
  trail = []
  with video_io.VideoWriter(path, fps=fps) as writer:
    for t, frame in enumerate(video_io.iter_frames(video_path)):
      if t >= result["num_frames"]:
        break
      if t in result["ball"]:
        trail = (trail + [result["ball"][t][:2]])[-BALL_TRAIL:]
      elif trail:
        trail = trail[1:]
      image = annotate_frame(frame, result["tracks"].get(t, empty), trail, teams, colours)
      writer.write(image[:image.shape[0] // 2 * 2, :image.shape[1] // 2 * 2])
  if progress is not None:
    print(f"track: wrote {path}", file=progress)
  return path
