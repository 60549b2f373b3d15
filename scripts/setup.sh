#!/usr/bin/env bash
# Installs the Debian packages musicfs needs at run time and in tests, only those that are missing:
#   fuse3  → fusermount3 (mounts by a normal user; root mounts need only /dev/fuse)
#   ffmpeg → ffprobe/ffmpeg (tests read through the mount with real programs)
#   flac   → `flac -t` validates generated FLAC files in tests
#   mpd, mpc → tests scan the mount with a real MPD (test/support/mpd.ts)
#   rsync  → tests copy album folders out of a mount while a track is held open
set -euo pipefail
missing=()
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v flac >/dev/null 2>&1 || missing+=(flac)
command -v mpd >/dev/null 2>&1 || missing+=(mpd)
command -v mpc >/dev/null 2>&1 || missing+=(mpc)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: fuse3, ffmpeg, flac, mpd, mpc and rsync are present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: please install as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q "${missing[@]}" >/dev/null
echo "setup: done"
