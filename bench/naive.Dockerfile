# The naive single-stage build of the same preset, kept only for the size comparison
# in bench/bench_build.py: one stage, artifacts COPY'd in (so they stay in layers),
# compilers and sources left behind, root user. Built from the same deps context that
# `inv build` assembles (.airlock/build/<preset>/deps) plus the app, offline.
ARG BUILDER_IMAGE
FROM ${BUILDER_IMAGE}
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive
COPY . /airlock
RUN /airlock/scripts/apt-install /airlock/debs/builder $(cat /airlock/config/builder/apt.txt) && \
    /airlock/scripts/apt-install /airlock/debs/runtime $(cat /airlock/config/runtime/apt.txt) && \
    /airlock/scripts/set-python "${PYTHON_VERSION}"
RUN "python${PYTHON_VERSION}" -m venv /opt/venv && \
    /opt/venv/bin/pip install --no-index --require-hashes --only-binary=:all: --find-links /airlock/wheels -r /airlock/lock.txt
RUN /airlock/scripts/build-ffmpeg "$(cat /airlock/config/builder/ffmpeg-archive.txt)" /opt/ffmpeg /airlock/config/builder/ffmpeg-flags.txt
RUN cd /airlock/app && PREFIX=/opt/app PYTHON=/opt/venv/bin/python FFMPEG_PREFIX=/opt/ffmpeg sh build.sh
ENV PATH=/opt/app/bin:/opt/venv/bin:/opt/ffmpeg/bin:$PATH
