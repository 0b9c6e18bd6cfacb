#!/usr/bin/env bash
# Regenerates the committed audio fixtures in test/fixtures/audio/ (the tests read them and never
# run ffmpeg, so CI needs no ffmpeg). Each is 2 s of a 440 Hz sine tone, mono, a few KB:
#   tone.m4a        AAC-LC in MP4 (M4A brand), 22050 Hz, 24 kb/s
#   tone.aac        AAC-LC in raw ADTS frames, 22050 Hz, 24 kb/s
#   tone.ogg        Vorbis in Ogg, 22050 Hz, quality 0
#   tone.opus       Opus in Ogg, 48000 Hz, 16 kb/s
#   tone.flac       FLAC, 8000 Hz, 16-bit
#   tone-cover.flac tone.flac plus an embedded front cover: the 1x1 PNG of TINY_PNG in test/library/media.ts
# The bitexact flags (on the output: the Ogg serial numbers are then fixed) and -map_metadata -1
# keep encoder versions, dates and random numbers out of the files, so a rerun makes the same bytes;
# -metadata_header_padding 0 drops the 8 KB of padding ffmpeg otherwise puts in a FLAC header.
# Needs ffmpeg built with libvorbis and libopus (Debian: apt-get install ffmpeg).
set -euo pipefail

out="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/fixtures/audio"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Same bytes as TINY_PNG in test/library/media.ts; the test compares the served cover with it.
echo 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' | base64 -d >"$work/cover.png"

tone() { echo "sine=frequency=440:sample_rate=$1:duration=2"; }
ff=(ffmpeg -hide_banner -loglevel error -y)
plain=(-map_metadata -1 -ac 1 -fflags +bitexact -flags:a +bitexact -metadata_header_padding 0)

"${ff[@]}" -f lavfi -i "$(tone 22050)" "${plain[@]}" -c:a aac -b:a 24k -f ipod "$out/tone.m4a"
"${ff[@]}" -f lavfi -i "$(tone 22050)" "${plain[@]}" -c:a aac -b:a 24k -f adts "$out/tone.aac"
"${ff[@]}" -f lavfi -i "$(tone 22050)" "${plain[@]}" -c:a libvorbis -q:a 0 -f ogg "$out/tone.ogg"
"${ff[@]}" -f lavfi -i "$(tone 48000)" "${plain[@]}" -c:a libopus -b:a 16k -f ogg "$out/tone.opus"
"${ff[@]}" -f lavfi -i "$(tone 8000)" "${plain[@]}" -c:a flac -sample_fmt s16 -compression_level 8 -f flac "$out/tone.flac"
"${ff[@]}" -f lavfi -i "$(tone 8000)" -i "$work/cover.png" -map 0:a -map 1:v "${plain[@]}" \
  -c:a flac -sample_fmt s16 -compression_level 8 -c:v copy -disposition:v attached_pic \
  -metadata:s:v title='Front cover' -metadata:s:v comment='Cover (front)' -f flac "$out/tone-cover.flac"

ls -l "$out"
