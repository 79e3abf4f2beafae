#!/bin/sh
# Build the example application into $PREFIX (run by airlock in the builder stage).
set -eu
: "${PREFIX:?}" "${PYTHON:?}"
mkdir -p "$PREFIX/bin" "$PREFIX/lib"
rm -rf "$PREFIX/lib/xaiva_media"
cp -r src/xaiva_media "$PREFIX/lib/xaiva_media"
"$PYTHON" -m compileall -q "$PREFIX/lib/xaiva_media"
if [ -n "${FFMPEG_PREFIX:-}" ] && [ -f "$FFMPEG_PREFIX/include/libavformat/avformat.h" ]; then
    cc -O2 -o "$PREFIX/bin/xaiva-probe" probe.c \
        -I"$FFMPEG_PREFIX/include" -L"$FFMPEG_PREFIX/lib" -Wl,-rpath,"$FFMPEG_PREFIX/lib" \
        -lavformat -lavcodec -lavutil
fi
cat > "$PREFIX/bin/xaiva-media" <<'SH'
#!/bin/sh
PYTHONPATH=/opt/app/lib${PYTHONPATH:+:$PYTHONPATH} exec /opt/venv/bin/python -m xaiva_media "$@"
SH
chmod 0755 "$PREFIX/bin/xaiva-media"
