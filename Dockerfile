# airlock's one multi-stage Dockerfile, driven by `inv build` (see docs/build-guide.md).
#
# Nothing here reaches the network: no syntax line (it would pull a frontend image),
# no ADD of a URL, and `inv build` runs every step with --network=none. Packages come
# from the build context that `inv build` assembles from artifacts/<preset>/:
#   debs/builder, debs/runtime   flat apt repositories (resolved by inv sync)
#   wheels/, lock.txt            wheels checked by pip against the lock's hashes
#   sources/<part>/              FFmpeg/OpenCV(+contrib)/TensorRT archives, sha256-checked
#   config/builder, config/runtime  per-stage apt package lists
#   config/<part>/               archive path and configure/CMake flags of ffmpeg, opencv, tensorrt
#   prebuilt/                    only when PARTS=parts-prebuilt: the parts' archives, keys matched
#   scripts/                     the helper scripts from docker/ in the repository
# They are bind-mounted into the steps that need them (RUN --mount), so no .deb,
# wheel or archive is left in any layer.
#
# Stages:
#   builder-base  toolchain: the builder base + builder .debs
#   parts-compiled  builder-base + FFmpeg/OpenCV compiled from sources
#   parts-prebuilt  builder-base + FFmpeg/OpenCV unpacked from prebuilt/ (inv prebuild; PARTS picks)
#   builder       parts + TensorRT + Python venv (the dev base)
#   runtime-deps  runtime base + runtime .debs + the venv and build outputs, non-root user
#   app-build     the application built from its source tree, on the builder
#   runtime       runtime-deps + the application: what ships
#   dev           app-build: toolchain, sources and application, for development
#
# The deps/app split: `inv build` tags builder and runtime-deps by a content hash of
# their inputs and, when those tags exist, passes them as DEPS_BUILDER/DEPS_RUNTIME
# so only the application layers are built.

ARG BUILDER_IMAGE=airlock-missing-builder-image
ARG RUNTIME_IMAGE=airlock-missing-runtime-image
ARG DEPS_BUILDER=builder
ARG DEPS_RUNTIME=runtime-deps
ARG PARTS=parts-compiled

# ------------------------------------------------------------------ builder-base
FROM ${BUILDER_IMAGE} AS builder-base
ARG PYTHON_VERSION
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN --mount=type=bind,source=scripts/apt-install,target=/airlock/scripts/apt-install \
    --mount=type=bind,source=scripts/set-python,target=/airlock/scripts/set-python \
    --mount=type=bind,source=config/builder,target=/airlock/config \
    --mount=type=bind,source=debs/builder,target=/airlock/debs \
    /airlock/scripts/apt-install /airlock/debs $(cat /airlock/config/apt.txt) && \
    /airlock/scripts/set-python "${PYTHON_VERSION}"

# ---------------------------------------------------------------- parts-compiled
# The compiled parts, from their source archives. A stage of its own so that a build can
# take them prebuilt instead (parts-prebuilt, below; PARTS picks one): splitting a stage
# adds no instruction, so every step keeps the BuildKit cache key it had as one stage.
FROM builder-base AS parts-compiled
# The ARG, then the ENV again, as in builder-base: Docker 20.10's BuildKit orders a RUN's environment
# by declaration (the ARG before these ENVs there), and the order is part of every step's cache key.
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# FFmpeg, OpenCV, TensorRT: one step each, each mounting only its own script, config and
# archives, and all before the venv, so a change of the lock or of OpenCV's flags does
# not compile FFmpeg again. OpenCV's videoio finds the FFmpeg built before it (pkg-config).
RUN --mount=type=bind,source=scripts/build-ffmpeg,target=/airlock/scripts/build-ffmpeg \
    --mount=type=bind,source=config/ffmpeg,target=/airlock/config \
    --mount=type=bind,source=sources/ffmpeg,target=/airlock/sources \
    /airlock/scripts/build-ffmpeg "$(cat /airlock/config/archive.txt)" /opt/ffmpeg /airlock/config/flags.txt

RUN --mount=type=bind,source=scripts/build-opencv,target=/airlock/scripts/build-opencv \
    --mount=type=bind,source=config/opencv,target=/airlock/config \
    --mount=type=bind,source=sources/opencv,target=/airlock/sources \
    PKG_CONFIG_PATH=/opt/ffmpeg/lib/pkgconfig /airlock/scripts/build-opencv \
        "$(cat /airlock/config/archive.txt)" /opt/opencv /airlock/config/flags.txt "$(cat /airlock/config/contrib-archive.txt)"

# ---------------------------------------------------------------- parts-prebuilt
# The same /opt/<part> trees unpacked from the store's prebuilt/ archives (inv prebuild),
# which `inv build` passes only when every compiled part's key matches the preset's inputs.
FROM builder-base AS parts-prebuilt
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,source=scripts/unpack-prebuilt,target=/airlock/scripts/unpack-prebuilt \
    --mount=type=bind,source=prebuilt,target=/airlock/prebuilt \
    /airlock/scripts/unpack-prebuilt /airlock/prebuilt /opt ffmpeg opencv

# ----------------------------------------------------------------------- builder
FROM ${PARTS} AS builder
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN --mount=type=bind,source=scripts/install-tensorrt-tar,target=/airlock/scripts/install-tensorrt-tar \
    --mount=type=bind,source=config/tensorrt,target=/airlock/config \
    --mount=type=bind,source=sources/tensorrt,target=/airlock/sources \
    /airlock/scripts/install-tensorrt-tar "$(cat /airlock/config/archive.txt)" /opt/tensorrt

# The venv from the lock; then link-venv puts OpenCV's cv2 (built when config/opencv has
# python.cmake, see build.py) on the venv's path with a .pth file and writes the loader's search
# path: /opt/{ffmpeg,opencv,tensorrt}/lib and the lib folders of the nvidia-* wheels, where a
# cuda.runtime "wheels" preset's compiled parts find CUDA.
RUN --mount=type=bind,source=wheels,target=/airlock/wheels \
    --mount=type=bind,source=lock.txt,target=/airlock/lock.txt \
    --mount=type=bind,source=scripts/link-venv,target=/airlock/scripts/link-venv \
    --mount=type=bind,source=config/opencv,target=/airlock/config/opencv \
    "python${PYTHON_VERSION}" -m venv /opt/venv && \
    /opt/venv/bin/pip install --isolated --no-index --require-hashes --only-binary=:all: \
        --find-links /airlock/wheels -r /airlock/lock.txt && \
    /airlock/scripts/link-venv /opt/venv "${PYTHON_VERSION}" /airlock/config/opencv

ENV PATH=/opt/app/bin:/opt/venv/bin:/opt/ffmpeg/bin:/opt/opencv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/venv

# ------------------------------------------------------------------ runtime-deps
FROM ${RUNTIME_IMAGE} AS runtime-deps
ARG PYTHON_VERSION
SHELL ["/bin/sh", "-eu", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8

RUN --mount=type=bind,source=scripts/apt-install,target=/airlock/scripts/apt-install \
    --mount=type=bind,source=scripts/set-python,target=/airlock/scripts/set-python \
    --mount=type=bind,source=config/runtime,target=/airlock/config \
    --mount=type=bind,source=debs/runtime,target=/airlock/debs \
    /airlock/scripts/apt-install /airlock/debs $(cat /airlock/config/apt.txt) && \
    /airlock/scripts/set-python "${PYTHON_VERSION}" && \
    groupadd --system --gid 10001 app && \
    useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app && \
    rm -rf /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/ffmpeg /opt/ffmpeg
COPY --from=builder /opt/opencv /opt/opencv
COPY --from=builder /opt/tensorrt /opt/tensorrt
COPY --from=builder /etc/ld.so.conf.d/airlock.conf /etc/ld.so.conf.d/airlock.conf
RUN ldconfig
ENV PATH=/opt/app/bin:/opt/venv/bin:/opt/ffmpeg/bin:/opt/opencv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/venv PYTHONDONTWRITEBYTECODE=1

# --------------------------------------------------------------------- app-build
FROM ${DEPS_BUILDER} AS app-build
COPY app/ /src/app/
COPY config/app-build.txt /airlock/app-build.txt
RUN --mount=type=bind,source=scripts,target=/airlock/scripts \
    --mount=type=secret,id=app.env,target=/run/secrets/app.env \
    /airlock/scripts/build-app /airlock/app-build.txt

# ----------------------------------------------------------------------- runtime
FROM ${DEPS_RUNTIME} AS runtime
COPY --from=app-build /opt/app /opt/app
COPY config/entrypoint /usr/local/bin/airlock-entrypoint
USER app
WORKDIR /home/app
ENTRYPOINT ["/usr/local/bin/airlock-entrypoint"]

# --------------------------------------------------------------------------- dev
FROM app-build AS dev
COPY config/entrypoint /usr/local/bin/airlock-entrypoint
WORKDIR /src/app
