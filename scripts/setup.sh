#!/bin/sh
# Installs what vkreel needs to build, test and run on Debian 12 (run as root).
# Idempotent: packages already present are left alone, and apt is not touched
# at all when everything is installed.
set -eu

PACKAGES="build-essential cmake pkg-config git glslc libvulkan-dev mesa-vulkan-drivers
vulkan-validationlayers vulkan-tools libavformat-dev libavcodec-dev libavutil-dev
libswscale-dev libswresample-dev libsndfile1-dev libfftw3-dev libcjson-dev libebur128-dev zlib1g-dev
ffmpeg clang libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup.sh: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    echo "setup.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
