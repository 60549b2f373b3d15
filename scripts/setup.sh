#!/usr/bin/env bash
# Installs the Debian packages musicfs needs at run time and in tests, only those that are missing:
#   fuse3  → fusermount3 (mounts by a normal user; root mounts need only /dev/fuse)
#   ffmpeg → ffprobe/ffmpeg (tests read through the mount with real programs)
#   flac   → `flac -t` validates generated FLAC files in tests
#   mpd, mpc → tests scan the mount with a real MPD (test/support/mpd.ts)
#   rsync  → tests copy album folders out of a mount while a track is held open
#   cmus, tmux → tests add the mount to a real cmus library (and drive `bun run demo` with a terminal's Ctrl-C)
#   mpv    → tests play a track through an S3 outage with a real player (test/e2e/s3Outage.test.ts)
#   beets  → tests import the mount and the origin with beets and compare album counts
#   ceph-mon ceph-osd radosgw curl → a real S3 server (Ceph RGW) for the S3 origin tests (~270 MB, no recommends)
#   makepkg libarchive-tools → the AUR packages are built with a real makepkg in tests (bsdtar unpacks its sources)
#   prometheus → `promtool check metrics` checks what `--metrics` serves (test/e2e/metrics.test.ts; no recommends, no
#                daemon is started)
#   fish, zsh → the shell completions are tried in those shells; ruby → `ruby -c` of the Homebrew formula
#   rclone → bench/s3/mount.ts mounts the same bucket with `rclone mount --vfs-cache-mode full` beside musicfs
#   stress-ng → `bun run test:stress` loads the machine with it while the suite runs (scripts/test-stress.sh)
set -euo pipefail
missing=()
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v flac >/dev/null 2>&1 || missing+=(flac)
command -v mpd >/dev/null 2>&1 || missing+=(mpd)
command -v mpc >/dev/null 2>&1 || missing+=(mpc)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v cmus >/dev/null 2>&1 || missing+=(cmus)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v beet >/dev/null 2>&1 || missing+=(beets)
command -v makepkg >/dev/null 2>&1 || missing+=(makepkg)
command -v bsdtar >/dev/null 2>&1 || missing+=(libarchive-tools)
command -v fish >/dev/null 2>&1 || missing+=(fish)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v ruby >/dev/null 2>&1 || missing+=(ruby)
command -v mpv >/dev/null 2>&1 || missing+=(mpv)
command -v stress-ng >/dev/null 2>&1 || missing+=(stress-ng)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
s3_missing=()
for p in ceph-mon ceph-osd radosgw curl; do
  command -v "$p" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$p" >/dev/null 2>&1 || s3_missing+=("$p")
done
command -v promtool >/dev/null 2>&1 || s3_missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ] && [ ${#s3_missing[@]} -eq 0 ]; then
  echo "setup: fuse3, ffmpeg, flac, mpd, mpc, rsync, cmus, tmux, beets, mpv, makepkg, bsdtar, fish, zsh, ruby, stress-ng, rclone, promtool and Ceph RGW are present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: please install as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]} ${s3_missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
[ ${#missing[@]} -eq 0 ] || $sudo apt-get install -y -q "${missing[@]}" >/dev/null
# Ceph's recommended packages (python tools, dashboards…) are not needed for a test cluster, nor Prometheus's for promtool.
[ ${#s3_missing[@]} -eq 0 ] || $sudo apt-get install -y -q --no-install-recommends "${s3_missing[@]}" >/dev/null
echo "setup: done"
