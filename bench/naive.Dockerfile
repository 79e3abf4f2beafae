# The naive single-stage build of the same preset, kept only for the size comparison in
# bench/bench_build.py. It builds what the preset builds, from the same inputs: the deps
# context `inv build` assembles (same lock and wheels, same apt sets from debs/, same
# FFmpeg/OpenCV/TensorRT archives and flags from config/<part>/ and sources/<part>/, same
# helper scripts) plus the app tree and its build command (app/, config/app-build.txt).
# What makes it naive: one stage on the builder base, the whole context COPY'd in (so
# every .deb, wheel and archive stays in a layer), both apt sets and the toolchain in the
# one image, sources and build trees left behind, root user. Built with --network=none.
ARG BUILDER_IMAGE
FROM ${BUILDER_IMAGE}
ARG PYTHON_VERSION
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
COPY . /airlock
RUN /airlock/scripts/apt-install /airlock/debs/builder $(cat /airlock/config/builder/apt.txt) && \
    /airlock/scripts/apt-install /airlock/debs/runtime $(cat /airlock/config/runtime/apt.txt) && \
    /airlock/scripts/set-python "${PYTHON_VERSION}"
# config/<part>/archive.txt names /airlock/sources/<file> (where `inv build` mounts
# sources/<part>/); here the whole context sits under /airlock, so the file is in
# /airlock/sources/<part>/. "none" (the preset has no such part) is passed on as is.
RUN part() { a=$(cat "/airlock/config/$1/$2"); [ "$a" = none ] && echo none || echo "/airlock/sources/$1/${a##*/}"; } && \
    for f in python.cmake numpy.txt; do [ ! -e "/airlock/config/opencv/$f" ] || ln -s "opencv/$f" "/airlock/config/$f"; done && \
    for w in /airlock/sources/opencv/numpy-*.whl; do [ ! -e "$w" ] || ln -s "$w" /airlock/sources/; done && \
    /airlock/scripts/build-ffmpeg "$(part ffmpeg archive.txt)" /opt/ffmpeg /airlock/config/ffmpeg/flags.txt && \
    PKG_CONFIG_PATH=/opt/ffmpeg/lib/pkgconfig /airlock/scripts/build-opencv \
        "$(part opencv archive.txt)" /opt/opencv /airlock/config/opencv/flags.txt "$(part opencv contrib-archive.txt)" && \
    /airlock/scripts/install-tensorrt-tar "$(part tensorrt archive.txt)" /opt/tensorrt
RUN "python${PYTHON_VERSION}" -m venv /opt/venv && \
    /opt/venv/bin/pip install --isolated --no-index --require-hashes --only-binary=:all: \
        --find-links /airlock/wheels -r /airlock/lock.txt && \
    /airlock/scripts/link-venv /opt/venv "${PYTHON_VERSION}" /airlock/config/opencv
RUN mkdir -p /src && cp -a /airlock/app /src/app && \
    /airlock/scripts/build-app /airlock/config/app-build.txt
ENV PATH=/opt/app/bin:/opt/venv/bin:/opt/ffmpeg/bin:/opt/opencv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/venv
