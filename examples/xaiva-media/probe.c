/* xaiva-probe: print the versions of the FFmpeg libraries it was built against. */
#include <stdio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>

int main(void) {
    printf("{\"avformat\": \"%s\", \"avcodec\": \"%s\", \"ffmpeg\": \"%s\"}\n",
           AV_STRINGIFY(LIBAVFORMAT_VERSION), AV_STRINGIFY(LIBAVCODEC_VERSION), av_version_info());
    return avformat_version() == LIBAVFORMAT_VERSION_INT ? 0 : 1;
}
