"""The GPU probe ``inv smoke --gpu`` runs inside an image (``python - < gpu_probe.py``).

A plain script: the standard library at import time, everything else tried inside a check,
so it runs in any image (and on this CPU-only machine, where its skip paths are tested).
Each check prints one line, ``<check>  ok|skip|FAIL  <detail>``:

=================  ==========================================================================
check              what it does on the GPU                                  skipped when
=================  ==========================================================================
driver             the host driver (nvidia-smi, NVML, /proc) against        no driver is visible
                   the image's minimum (``--min-driver``)
torch matmul       a 256x256 matmul on cuda:0, compared with the CPU's      torch is not installed
cudnn conv         a conv2d through cuDNN on cuda:0 (its version printed)   torch or cuDNN absent
cv2.cuda           GpuMat upload/download round trip, cudaarithm ``add``,    cv2 absent, or built
                   cudawarping area ``resize``, compared with the CPU's      without CUDA
nvdec h264         decodes the embedded H.264 clip with ``-hwaccel cuda``   no FFmpeg, or FFmpeg
                   and with ``h264_cuvid``, counting the frames             without cuda/cuvid
nvenc h264         encodes a test pattern with ``h264_nvenc``               no encoder in FFmpeg, or
                                                                            the GPU has none (H100,
                                                                            H200)
tensorrt           builds an engine from the embedded one-node ONNX model   TensorRT absent
                   (Relu) and runs it
=================  ==========================================================================

A check whose prerequisite is missing *although the driver is visible* (torch sees no
device, cv2 built with CUDA sees none) is a FAIL, not a skip: that is what the probe is for.
Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile

#: 10 frames of FFmpeg's testsrc, 320x240, H.264 baseline, Annex B (made with libx264 on
#: Debian 12's FFmpeg 5.1; sha256 in tests/test_gpu_probe.py).
CLIP_FRAMES = 10
CLIP_H264 = (
    "AAAAAWdCwAvZAUH7ARAAAAMAEAAAAwFA8UKkgAAAAAFoy4PLIAAAAQYF//9r3EXpvebZSLeWLNgg2SPu73gyNjQgLSBjb3JlIDE2"
    "NCByMzA5NSBiYWVlNDAwIC0gSC4yNjQvTVBFRy00IEFWQyBjb2RlYyAtIENvcHlsZWZ0IDIwMDMtMjAyMiAtIGh0dHA6Ly93d3cu"
    "dmlkZW9sYW4ub3JnL3gyNjQuaHRtbCAtIG9wdGlvbnM6IGNhYmFjPTAgcmVmPTMgZGVibG9jaz0xOjA6MCBhbmFseXNlPTB4MTow"
    "eDExMSBtZT1oZXggc3VibWU9NyBwc3k9MSBwc3lfcmQ9MS4wMDowLjAwIG1peGVkX3JlZj0xIG1lX3JhbmdlPTE2IGNocm9tYV9t"
    "ZT0xIHRyZWxsaXM9MSA4eDhkY3Q9MCBjcW09MCBkZWFkem9uZT0yMSwxMSBmYXN0X3Bza2lwPTEgY2hyb21hX3FwX29mZnNldD0t"
    "MiB0aHJlYWRzPTMgbG9va2FoZWFkX3RocmVhZHM9MSBzbGljZWRfdGhyZWFkcz0wIG5yPTAgZGVjaW1hdGU9MSBpbnRlcmxhY2Vk"
    "PTAgYmx1cmF5X2NvbXBhdD0wIGNvbnN0cmFpbmVkX2ludHJhPTAgYmZyYW1lcz0wIHdlaWdodHA9MCBrZXlpbnQ9MTAga2V5aW50"
    "X21pbj0xIHNjZW5lY3V0PTQwIGludHJhX3JlZnJlc2g9MCByY19sb29rYWhlYWQ9MTAgcmM9Y3JmIG1idHJlZT0xIGNyZj0yMy4w"
    "IHFjb21wPTAuNjAgcXBtaW49MCBxcG1heD02OSBxcHN0ZXA9NCBpcF9yYXRpbz0xLjQwIGFxPTE6MS4wMACAAAABZYiED/JigADD"
    "7J/4f+CMFAoAB7xAACwPEAAECMAAQBoiCkUAAlHDHD//kQjCAIOABbIt/oCwrWftwAWdrVmrhywUfroACy/Ws196qbqvv/8///wC"
    "XhAAFgDiygQAAgTgACBYAOATgAY6tvRJsAH6W2gLHP+bFa37BqKvaAA+RDK6CMxL0qYAB4ilSGNBQ/pQp1wwPoWoRGIAIQCCXL+H"
    "4aigACAlAEd8Cw578r5UrxvzBgAPhAAHQEGgYCAAEAcAAQpQ8AHtGOMnBOuf0DW2DD6GWMygZVyvwCybBhxEOxyRqv4f+CMEgoAB"
    "/xAAC4NEAAECIAAQB4iCkUAAnHBjgAE5OIkFAAGm6OAAMPMcAARPJP/D/wRgkFAAP+IAAVBIgAAgRAACAPGQQigDGAUOADTT//1/"
    "4LAsACBd0WGhe+7v7p3AG8MIAA2BhbQQAAgAgECSEAB23gyQxfQVQGPw4ADn/x2Qxd2L8EE8Pp+oAFTjyAAACAZgAXbUbyC40//X"
    "ngAH4AFta0FNrO32/8AB5q06nxr/pzddj//+EAASACiQSCAAEBsAAQhQBFamjTF0VPgxiBSDRnTwPZfguM27jTmIrjLpBrCSAMBe"
    "7IYyYSK+ytZAlguVgbo2W//AiCOMAAIoQAFF/D/wRgoFAAPeIAAWB4gAAgRgACANEQUigAEo4Y4ZOuun//y8IAi4ALO1qzVwpIcf"
    "rrgAs7WrNXCkhx+ugAW/Krvj8wYcIAAkA40wEAAIDYAAgOAAoBeAGRbQLHP+YAJrbQLHP+a/rex93CAB5O6QhIcA6xz3QAHicuhD"
    "QUL28Q6xoiICExQjSikl//4KxIALD/baLLYfmDDhAAGgEELBAACBaAAICYA0M5P43ri+tcDD4YiMwMdxQISJEoGHMwvHGrmYJL0w"
    "U109czBRemCmv8Dh/sFgYDAElTXWyRZLYYFAACAYABwguAAILIAAgOaPAe2TRkeNEABCPIRgAa4DgKgyGHUkosZpj6YBdyAACQGA"
    "AECO5OZ4QOBzOPFTm67H///w+1XYH/2yMN12P///h9quYH/2z9pu4D//7+D7VfWP4/4IN3fR/+wIAPowQAAgDiUBL0cFxGrA8Cn5"
    "rnJgd5MFRGn8YifBamODcGzX8/kyIaKY6OJ61YiLh6mEBtjJr+J6YI666/w/2IocBFwAL0t/oFjnN+0DUSV9GzT9fwAWQ/0iI6vV"
    "QYQEpzBAAHQECicADHVt6U3s2loK/nB9v0AB8iGVUIZCi+hHAIRKZpY2mNEgtf+szF5f4KzgAeEtj1meHiP/bB8/22ft//8GEAAW"
    "BBCgQAAgVgACAeAJCulEv3jHt5Lgw/A3HldZzMMB2jgoGHUOigAE6euZgotTBTXT1zMFFqYKa4p4lyxFgP64IsB/XCQc8kHP+CQ/"
    "0CwNeBIe5ZGtpRO/v98JTQQARWNDA/XDbsLilj8MC4IrOCHoNDkyJBfhT6IB/DYj4ALLWIipGnP+28Itzro/f9wC2brakb/YSNpa"
    "ea/2CIZAMEAAVAw0PhCtbF2cPBtHXkGYPt+8DjT8RuMPUaUPAmGUaL/qeKiTGF6gjrrr7W9iaHhcEUAC8gUdh/Qqdmd6AprAS8Rd"
    "Q3Y1X/4ADoEULye7ulJpl/AAACANAVvAFUaAmXkC2//4MImAYQIABGAoTIwR109czBRemCmunrmYKL0wU109f6U+B0hgEQAFkwe7"
    "+20mKFr7/vAWHx6RsM+ZyxP/wYJgAEDB+5dSqXmufk4Axx4lxHMLKHqCIZWCAAKgYUqmCOuv+1vs2FARQAGpihSQqs167oEDzcJ5"
    "EZl2l/9AGKOEkO5xYW9oACQbG7dgrWQlCCxniGUQAAQUhv1Q/XT1zMFFqYKa6euZgotTBTXT10wUFXpQPpT4TOAA5EgW7Ta62Zan"
    "/8HxYCwVKumLnPz/gwwAH+AXcvAn71nDP/z+GpQu5EUxqkJSQoI6/2IPl4JgScIgzHspvWZ78H5mQ2dSFRheSjg+A4ABUAgLIJie"
    "oJa6euZgovTBTXT1zMFF6YKa6f/+GGC0EGBwQYSyDgAEAAHAYyEASIQAA0B1gdEeWHRHl4HACDhUsOAEHCpf2l8OwVQlpBABEa3D"
    "ojy/DgBBwqX6f/jiiedBquMxzQq///Qw4ACRGJ2QpFcT0J8M9qZhwACgAAgCuQaglr7Q+0MMWCSADmhR6yYlSlfySYIcADG1QDDu"
    "hy9Qw609QS109czBRamCmunrmYKLUwU10+Ih//YIgSBwACgAAgCimQcAAqAAIAgSy8fHAfx/+gRwOAAUAAEAUcy/36fw8PwAclYy"
    "3cXUIzSWBghVBLXXT1109czBRemCmunrmYKL0wU10/j8YfYXBE8DgAGQABAOPZYcAAwAAIB45l/v8f/CnBwADIAAgHEYHAAMAACA"
    "eAOZfXUEdfD+kPggBJAAQ1KPeREKWrvS6DGnqCWunrmYKLUwU109czBRamCmun//EcAYIASYHAAKgACAIWyDgAFAABAFCGX/wDHB"
    "DwOAAVAAEAQJZf/9vBDAAeGhulQdav5BP/wYN1BLXxp/pTBOCSBwACoBAWmYAPk8ho+sVNYAA/wC6vwTb6ShH/4PRFAB5/YCumxH"
    "3709QS109czBRemCmunrmYKL0wU10///6BWCAcIORDgAEQAGUy4gEiEAANgdAeI0sPEaX4HABBwuWHABBwuX/w//BVAwACPAQgAC"
    "AkABNDxGl/DgAg4XL/9rfaWMIACXpgYNWFP8/94AkjGS/ialG4S8PgAvIJ0HS4x5rj1e8ijiKDUp4UVIYdQS1/pFPpSFARACTkM9"
    "3H1SO0sgMMAB0IsOmPmV1EV/uiKAA8X+AUidHffoEaBuuEQtVL2f/8nqCGunrmYJrUwU109dPT1099MFD7W9rF8JlgCaFHrJiVKV"
    "/Jf98Gi8zlLCawAB+gLK3BdroKE//g9EQZj2U3Zi3771BD8fgH4aBFiQABAG/FMXA4ABBAAOBwABADQAAQMAdAjIOgEZmQcIBzIO"
    "EBzMz//9Bri4pwxcSeBRBgeQBpiSZWRbEhMrNOGH+g1AA2AqYja9Jm/veCi+3CBaqEAAQHEFUwdAEZWRbByAAzKzwDAP9BrimJ/U"
    "XA9AYHkANMSTKyTihcrwDAP9Du77it+G5QORB7eC+pA7ilKZ4BgH+hvd8VvfDA0EgcAAQMmAAQSBMiQmcOAARAAEAqJA4ABEAAQE"
    "IkmeAYB/oNFxW+KxWGLChIRAVsVeL6kDuFKRfPAMA/0Gu4rxXCFAwwQABQKOPlMigXcX1IcIBzJfItGCdVAGTALgx+LBdvTxagHW"
    "8VAGTAIYoQmQPHZLv4QDAA/w119QgRweUCFgAEADjhAcyDhAFM3YOCAYyDggCGfgGAf6DQ/VcvEDwoYocDJgD4dpA5gHaRYy2wg6"
    "0pb4BgH+g0KxDxD8vEPCFAYYIAAwB2XWKFu5R+HAIAOZu+AYB/oby8vxDxD74GTAgJBCCrFFu4qwUAbSe+AYB/oNE3FeIe4EoIDC"
    "YIVYgTL3iEy98AwD/Qa4rFfFxAIyAwAAgNKAAICAkJkSEzwcAEABjIOAIAGM3fAMA/0Gj6ri6h0OFMMCJiZnBg/CgA2kWy3xGwf9"
    "BrvgAXGHjbl9aIv/SgoQCZaEAAaAd0pg6AIzq+BwAwABZpWW/8P9BoRz/bZ+3//wYKuqggYGTAqe/gweS7FoIgTuhQCQQg0MAHho"
    "L6kDjgUpF5ZlAG8WALuEmKYnd3d3d3d3d3qJcVsiXE/KEnve973veyNZRXr6qqiSRRjT4klyLinfr3+Zx5BpZnOpNkzj1KPU7iSE"
    "bqZ2KpXFf//2Gip9fa9/jXE/yVVV8SSL9Gun6tfp28f/+GjAOQzFljufdREZbgYAVAAQDAAGlAAEDkHQeg4gPeDgEBtBwIG3///Q"
    "ancDRlvIW+4GbAwxtiR3bEjv/D/oNFMkqHXwDoR6EoZkdhMAAgHCAAJA4A0NNiA7gqMMoAARAA//1mMwjmYGtKRgAbifSGTrRz1u"
    "5j//8RtqhhGRa/6h/H/e/PDPx//3Be139J///3tqvgP//uECQHOCAAPAAoAwGwBRLTbpYBj5NeQGA9+7nA8I1YAAaM3ws4mOlTgF"
    "zIxOpjowoUEKvxk/CXMeGZNmv5x/mPobc+bh1lv8F7X/Vv+/58MAA7QEgcAAQLEAAEBsa0T0Bj5NeoAD5KAA5Z01I1AZhzZGJQql"
    "5zbAGaIAEUAES+Af/oNGB4yFlr5bfEBAEQGAAEBOAACEYJB0SDvKAAFQACyygABUAA8v///oNDw6DLXwq+SjLeBzkFDxQtlkwZdd"
    "YxBwYwEFgcUX8A/0GjWFX3ByDEfLdwiwABABAYIAAiMADAfjBqD/xVhjgEATeLQoMZYD9eMQd/j//0Gpr68D8sk0Qd22+Qh//YKz"
    "gOiK0t8DgACAEQAAQXQwABAFoAAgzQaAEA3yoAEAJ+ZBwAEAfQcABAC7/w/6Gjwt8s9e3gNuOjvwkXnNj4BcgVw9BBF8P9BAP9Bo"
    "wWY6ESP1rVEI3fCLAAEAkAIEAAbAIAAwC6RGNQdH4txhcAAwAAIBE4f//9BoUr8TrL20CW6OAsD9RiO8Yg7///QavwtMPDIr94H6"
    "A/Qjog7iOiA70AIBD/IOjbpZtu/X4AEOrb0k2gwADsBYHAAEBlgABCMDoCAksOgICSzwACZkdAGZA4AIAPCjQAQA8DHG4AGL5K3s"
    "v5CRF+NKOenAAh0tvRJtAAQ6tnorMgWSlX3D+L45ACHV/0f//+0kqr7ff/yiSr/5/1oFCAAIgACAGQ0IAAwAAIHwHAC4nwAgANd4"
    "M1Cl8GO34C8VRLS0KTIMADBbSUzAMA8aIjYOA94q5ByT9gFQWce/KGSEmUD/h/0GqkzAcEgrJadwhIABAKEABOAAIC4AZ1g8Ldn8"
    "VABAf/8P/6DQhUsaaJ50B+s+8YjuF0Wmnpp/+BmYymxI7iOiDuaCeOGrmYKM7CGH/wRApF+GIlggHMwMK4dYRwIgyt92//sAva/6"
    "p/3/HhlV92//sfAkpaki1Irp97/AA851qLatfP13wgACOYFCAAEA4UJCTucDwjVgBCtbF2cPCLa0PM4YyfhLmPDMmzX82GRmBC4o"
    "TxVReBcjIwIXFiOqqL/5H7BacBr9OnNIHf7WjHgCG7QLvq19vcEAAYAglUIAAQAACBLfwJjgEXEX0DNAwm7/gTGgBHQz/gGJAMOu"
    "9IOigAEpmCjaaCmIdhgFzUsU4oAAgDxC44MTgfgJwPw9dPFRAoAzJ22///90C4KYAZazZI12gRz6kuD3oIAAkHLKCAALA553ACwJ"
    "/1wDEAt+fOADwhd36kELC6dP3yJyIf403AAvS3+gWOc37ADHr/H//5pJVX2///lRHmvQnd84FAARHvbAtI8PRgAAC0OBwBBQBAQA"
    "AgQAACAgAAICwC4AI22+JNkiUlg6Feq6sJ+DUpfnBgAVkY3QxM46VKwFYH2GroIoKLu/aM3xAJowBCBzjgxEPgAAMYxRMwSWmgpo"
    "h2vAAAAAAUGaOB/hlew0AHe6d3/8f8YvMI4b74/ZwBf6mBNZ/wTcxoAH1d7fU//t8I98AQWzJTQdXgeOWAAmq793Uww6gy5fBd/B"
    "EbFDFPPl/Bx8EPFMUzifgy5fBx/DXFboBPxb8HFW4OKP7XhnijFYP2dNiGuLfwZdeGjaqMrtir/wbeDShKVS/gy+CEmKDFBgBFDw"
    "YVyy+DD+CImKMUbjBp4MPxonFxfFMUxcXFxcUxTFMUxihEBLxAmRRfL+CyC7ghFar7L4NP4XH7ve4MR9ilxf9ZRzJ7nyT97q83oW"
    "9viDAe5oD2mj1TQD3qW+wtURB76W+CR6eQOT1LfYMbglhwqRoBncKeXg96lge+lvRfwZwrDkxNAZcKdvRZX+de2feX8Gfw1Pj6Z/"
    "Eu+C6IhvLK2vtJBvLfxAsHvUsD30t6PLI8t9gz4VIUdk/OA5PUsDk+lvoDviXfYGaCacUB3aJd/2GYL6nFrASEh460fUQLSMsDqn"
    "LeDqnLAgqnR9gx4ZIHEg2gOJA2jwAkEW+I78VIIHGv7cGMEtw4y3B1Y5YOkNo9ONfwYwqUmEzVc6EpNn3EdFvwXwrCM0+w7Jr4OC"
    "ieWNjjNf8ZXpk3hBCiF6jIH6bPumIO8ww//oFZSkuBmNFWJB3/86BTP8es6T6ff6+XkBEX8sAAAAAUGaVAf4DdgMnL4MPqGgVYpi"
    "nwM36Yt8v4KozgwPihihrWdBP4kmeDpGfwcV7L4NvlhrisVkQBPxMz8GXwYdfhrqolIXpsVeM9/AZurwyTVRlIq2/+C74NqP2X8H"
    "XwyTFBijIxQxCZ4gTP4MquJfBx/DXEj9AU+2KL8Bm7TwbUd/xvFMU8XFxTFMUxTFxcXFxgoQQEvECZEJnl/wTQaQyK1U6AD4otv4"
    "MIXG7ve4FEYuwX1KX/O9CnxbrtinXAwq8uq1jma8t5yFN4t+kxzvXrTwYwXQyQLHwrKW8DvnQkdbxI7+C+FYcCNxnufM4iLXirEu"
    "9/QVnw+Z8PnAarxLvtL2Qbaz6l0NfwYw0ZVxKQviOiO4/3/+DGcQRJNEHf6/35u8HMkKiwYj8Nsct7iT5BIPiO9PwZw0KFfb8R3r"
    "9H7wZwrJgW+5N8dz8Sl4tiO/wrF1xdfIlI+n3EdFv4CUnEDK4jojv6/PBbCP1AAAAAFBmmA/wG7gu5fBd/DQKsXFzrpi3xMzy/gs"
    "qoZPihihgOi/4t/QGjrwZQr3FeKxWiLTYq8Wxb+DD4MOvw11USSRCZEJn/g2ona/CvVdVEyRCZEJn/gw+C7l/BZ8EPFGKOig4MuX"
    "wTcdEQ0fUXIgP4Vbe2IEz8F3wXdfhXi4p4uKfEkhbFvFWKL6vAR04g6otiZn+sHHC4/cVu7uDh5sPaUv+d8UQQ6ouXLihZDxPH53"
    "KvoDB2lghhoUo5758S7xLvwXwqUJANWEN/ICp9XOxf7f5BMJoBnaKeXnR0fT7n0VfagZYM4VneHho78PnkDjvxIOir5P6wZ/DU+H"
    "zYfEu/6eBP54AUQd/p54MYIhCrxdA47XUgRAFWq9+f+8GPDJA6AywsjlvIIARB3iO9PwXw0RVyID+EdT4jvWX+C+FYW+nqOe+SLx"
    "HSb/CtmBzRwcUTlib7zoi8R0R30AlKIRMIKH2WAwzWxI7yb/zoFM9+L4J1H4mAAAAAFBmoA/wG7g0oFVZfBx3wRcUxTOgCa/Cp8U"
    "MQfpuLwRNCl9MTM/Bhzfwh+g119wWYSQg7YhM4L6kLhlKZ4MPgwo75fwURnDJtVBFcUX/4Lu/0YGSPwYfBtQlKpfwbfDJMUGKDFD"
    "BsxRfFF/gy73wT8XFxcXUXLAkRcGHwXdeIhUuKYp4up0IUvEJlvl/B19CAHYcGUODXd3AomZQX1KXtir/oz16P/FO0QW/15KN2KJ"
    "kFsqsxTqhb0uLcqhP0CztX2IgOXqW/BnDMLfHc6de2ff4Vu+76defT78GMKnPh8wq+JX3obH8SOiR3/7grG3Va1rVzwXwyOVcSki"
    "Op//34NZxRF4jv/Bh8R3g54VGgsjliUH3rWj5BAD4t9Pwcw0RRfOgF/Ed6weRHwawrULfcm+nnQlI+ir0xb/hmpMzoi8W0/YCY4Q"
    "Rg+ywGGaKsSDumTf+IQLZ/zrFwAAAAFBmqA/wG7gu5fBx/DQLMUxTOumJmeLfL+DKbhkTk7ovXiZn8GXL4OObhrisV0An4mZ+Db4"
    "ECijBTXhGFSarqoNSSmRV/8F3XiIV6rqXiZIqxAJnTGe/Bt8G1Ysv4MvghJijFGQRR4MOXwXfw11VFx7YgTPwbfBp16hk+KYuBmY"
    "ATGRMziiymeqwNU4g6iJmU/+DiFxu4rcVuKwPEpsG7pf8Wzezk/otUOYs6nt6hGrPVCGXlyC3P2WLe+LffHPNH53fg41gzhUQTvu"
    "FR9ziIteJdFX/CsP21FWPX78PmRCLUTrirFX/Cpwq+JR95bFeRCLRNJuJdEu/8OISAlZafnpm3/wkXSILcYXIFcPtd4Gvhkcq4VJ"
    "Jwd/rBnCtTXjnm/gLyI6n/oGHaqaQWBPrMz//wZwqICo+Fk5byUfJQZbxKREI6niOp/BpwgiACv0ufiB/W9MQd68GvwawrHPT1S0"
    "i8R0R3+GY56fwAtiXf+BCiIDipywOKnLeDipywOKnLfDip2W0tJL/wMzT6Dp7//EIFMJwAAAAAFBmsA/wG7gyoFTZfBh/BFxcv4B"
    "Mv4MPhk+KxWgd/xb/Bly+Dj+GuKMVxAzfxb+Cz4Lqua/DPVRJI6FWITP/B5RO142CLisUYygF8GXWDbor6/CpsUYo8UYoyIiEJlv"
    "EJlv4MOXwIH8EXFxfi18FnwXdfhUTq+7iJqi2JJn+T6SwNHc4gB1EzP/g8hcXu97g5w7h7Sl/9f17O7GQW95BbIv56fFkPli3TLd"
    "A67XfeC+WCEU58064M4Vu+N+vp14l0S7y+Ogz+GhIVfEr76Kn6Yq/QGb+FTge5oB76W/NemfxV94P+GRkc9wAnQjv9PwYwRQsqeO"
    "dFxwaaeDOWCWHQZYlH3460dI9A05h//6DVUs1F+B/Nt6Yg71tAtaOMr8F8KmUNZbswmZ0RNn3C2XH5PpJwM/zwMziJdEg7iOk3mH"
    "//oNEfjfvgZmiXQdPf+BoqQb/EIFc/51reJgAAAAAUGa4D/AbuC7l8HHzQ0Cjd8gE+YyJJnr3CvcV7isiGqP28TMp/Bl1+Fe77is"
    "iEWvTEzPwYfBxR+1+FTarqomSKsVf+gM3VZYV7ijxQYoMiIhAmRV8VfwYfBty/gw+CHijFGRAB4Luvwr1XVcjK9sQJn4NPgw6/Cp"
    "d33cRaiLYt/y/gQPghNu5xeBAhcXu97gUXsF9Sl/xbJ0/k4tldpBz+xT4sm9jmT2d3+itQomxb3xbl83+EEYMTzeBhjbb2xIO9rl"
    "hmJcBifuRBL34kd/BnCs+CXMVhV9yIRaTJufW+X8Ga8NFDoyxMtH8An4l3l//rBnOYiRHRb/4PK5bywYoNQPPZDzI+pNJv+gM3wZ"
    "d4M+GYVfJRlvIgAiO8R33eBS71BfCsOMskZb3EUvJF8W/4VOTAt9yb4m+/jK8mk34MYJTIjLTxzv8i+edVsS7/oB5TkIkR3/CCwM"
    "xkTYl3/+eC2f861vEwAAAAFBmwA7wG7gu69QRAq3eJ1L+DLmghLit5Ad4MuvwrxWK6it6dNirxMyn8F3wVdeqjKzwZcvgw/gi4ox"
    "RixR4Lvgy6/DJMUYl5BIvFW38G3L4EDvgi6qi18F3waQSj0i5lwudjX5xAgtREzImZ/qsDNOYRaRb/8CRC4nd73Bzmtk9fi3V5Bb"
    "O47frWLe+KJmHE/3vQonHuM0R+tf0Bk4cQ4J/Rb22//QM232xI73gxuCGELT7Ap/v8/7+DGFbvu+nXtn3l8CBBX8EQkVvpBr8hFK"
    "S4QUMZYD9JNEHf9YVquq4hJIg6IO/6Azd+DFAig8yIHnsvF2Bi7SBhBHDRQq+SjLeRESYjvEd+DOFTBxIbQHEhtHpWUsa+QSL0yb"
    "8G3CCgJWufnAW23piDvXgv+DOfkALYq8R1P+GbvnSfW/9gOipBeBokI74mvPBbQjn+oAAAABQZsgN8Bu0Bi6rwqCzd93TrxbEzPJ"
    "9JYGT4ZLu7/Fv68n6QEDforng2+Diid+Feq6qNCuITIhM/8GXL4Mv4a4rFG2ITO2Kv4Nvg2oj6/BF1VIuC7r8Kl1XUXOhlJi3tii"
    "/gqoreDTr8K933cR0i2n/L+Dj7Nu/AmQSa1Gxdgy9aHkscTrFP5/idUDTY4hL1nyC2fb3oNv+9/vcRctVVYvF9/gjsIAPepYHvUt"
    "/Agw1d9OvEut/wSxvyv3q/XyI6l/BivR3rxBCklzUKS7wXwhcaaFTR6eaDNBqNslbL19Mm/BtrBjVItA25h//6DWTOvwP02fcmiO"
    "9eC/4L550iXT7/wZzzpFWff9APKeABRHf8IKP+AIVsVf/8QgUz/n4uA="
)

#: A one-node ONNX model (opset 13): y = Relu(x), x and y float32 [1, 4] (90 bytes, made with onnx 1.x).
RELU_ONNX = "CAgSB2FpcmxvY2s6RwoMCgF4EgF5IgRSZWx1Eg1haXJsb2NrX3Byb2JlWhMKAXgSDgoMCAESCAoCCAEKAggEYhMKAXkSDgoMCAESCAoCCAEKAggEQgQKABAN"

OK, SKIP, FAIL = "ok", "skip", "FAIL"


class Result:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, check: str, status: str, detail: str) -> None:
        self.rows.append((check, status, " ".join(detail.split())))
        print(f"{check:<13}  {status:<4}  {' '.join(detail.split())}", flush=True)

    @property
    def failed(self) -> bool:
        return any(s == FAIL for _, s, _ in self.rows)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _nvml_driver() -> tuple[str, str] | None:
    """(driver version, GPU 0's name) through NVML, the library nvidia-smi itself reads.

    The container toolkit mounts ``libnvidia-ml.so.1`` even where it mounts no ``nvidia-smi``,
    and some hosts (a VM seen on an H100) have no ``/proc/driver/nvidia/version``.
    """
    try:
        import ctypes

        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    try:
        if nvml.nvmlInit_v2() != 0:
            return None
        ver = ctypes.create_string_buffer(96)
        if nvml.nvmlSystemGetDriverVersion(ver, 96) != 0:
            return None
        name, handle = ctypes.create_string_buffer(96), ctypes.c_void_p()
        if nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(handle)) != 0 or nvml.nvmlDeviceGetName(handle, name, 96) != 0:
            name.value = b"unknown GPU"
        nvml.nvmlShutdown()
        text = ver.value.decode("ascii", "replace")
        return (text, name.value.decode("utf-8", "replace")) if re.match(r"^\d+\.\d+", text) else None
    except (AttributeError, OSError):
        return None


def driver_version() -> tuple[str, str] | None:
    """(driver version, GPU name) of the host driver visible here, or None."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=driver_version,name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30).stdout
            first = out.strip().splitlines()[0] if out.strip() else ""
            if "," in first:
                ver, name = (p.strip() for p in first.split(",", 1))
                if re.match(r"^\d+\.\d+", ver):
                    return ver, name
        except (OSError, subprocess.SubprocessError):
            pass
    got = _nvml_driver()
    if got is not None:
        return got
    try:
        with open("/proc/driver/nvidia/version") as fh:
            m = re.search(r"Kernel Module\s+(\d+\.\d+(\.\d+)?)", fh.read())
            if m:
                return m.group(1), "unknown GPU"
    except OSError:
        pass
    return None


def check_driver(res: Result, min_driver: str) -> bool:
    got = driver_version()
    if got is None:
        res.add("driver", SKIP, "no NVIDIA driver visible (run the image with --gpus all on a machine with the NVIDIA container toolkit)")
        return False
    ver, name = got
    if min_driver and _version_tuple(ver) < _version_tuple(min_driver):
        res.add("driver", FAIL, f"{name}: driver {ver} is older than the image's minimum {min_driver}")
    else:
        res.add("driver", OK, f"{name}: driver {ver}" + (f" >= {min_driver}" if min_driver else ""))
    return True


def check_torch(res: Result, gpu: bool) -> None:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        res.add("torch matmul", SKIP, "torch is not installed in the image")
        res.add("cudnn conv", SKIP, "torch is not installed in the image")
        return
    if not torch.cuda.is_available():
        status = FAIL if gpu else SKIP
        why = "although the driver is visible" if gpu else "(no driver visible)"
        res.add("torch matmul", status, f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device {why}")
        res.add("cudnn conv", status, "no CUDA device for cuDNN")
        return
    try:
        torch.manual_seed(0)
        a, b = torch.randn(256, 256), torch.randn(256, 256)
        got = (a.cuda() @ b.cuda()).cpu()
        ok = torch.allclose(got, a @ b, rtol=1e-3, atol=1e-2)
        res.add("torch matmul", OK if ok else FAIL, f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}: {'matches' if ok else 'differs from'} the CPU")
    except Exception as exc:  # noqa: BLE001 - any failure on the GPU is the finding
        res.add("torch matmul", FAIL, f"{type(exc).__name__}: {exc}")
    try:
        if not torch.backends.cudnn.is_available():
            res.add("cudnn conv", FAIL, "torch has CUDA but cuDNN does not load")
            return
        x, w = torch.randn(1, 3, 32, 32), torch.randn(8, 3, 3, 3)
        got = torch.nn.functional.conv2d(x.cuda(), w.cuda()).cpu()
        ok = torch.allclose(got, torch.nn.functional.conv2d(x, w), rtol=1e-3, atol=1e-2)
        res.add("cudnn conv", OK if ok else FAIL, f"cuDNN {torch.backends.cudnn.version()}: conv2d {'matches' if ok else 'differs from'} the CPU")
    except Exception as exc:  # noqa: BLE001
        res.add("cudnn conv", FAIL, f"{type(exc).__name__}: {exc}")


def check_cv2(res: Result, gpu: bool) -> None:
    try:
        import cv2  # type: ignore[import-not-found]
    except ImportError:
        res.add("cv2.cuda", SKIP, "cv2 is not installed in the image")
        return
    cuda = getattr(cv2, "cuda", None)
    built = bool(re.search(r"NVIDIA CUDA:\s+YES", cv2.getBuildInformation())) if hasattr(cv2, "getBuildInformation") else False
    if cuda is None or not hasattr(cuda, "getCudaEnabledDeviceCount") or not built:
        res.add("cv2.cuda", SKIP, f"OpenCV {getattr(cv2, '__version__', '?')} is built without CUDA")
        return
    if cuda.getCudaEnabledDeviceCount() < 1:
        res.add("cv2.cuda", FAIL if gpu else SKIP, "OpenCV is built with CUDA but sees no device" + (" although the driver is visible" if gpu else ""))
        return
    try:
        import numpy as np  # type: ignore[import-not-found]

        img = (np.arange(240 * 320, dtype=np.uint32) % 251).astype(np.uint8).reshape(240, 320)
        g = cv2.cuda_GpuMat()
        g.upload(img)
        round_trip = bool((g.download() == img).all())
        added = cv2.cuda.add(g, g).download()
        add_ok = bool((added == cv2.add(img, img)).all())
        # INTER_AREA: for a 2x reduction both sides average each 2x2 block, so they agree within
        # rounding. (INTER_LINEAR does not: on an H100 the CUDA kernel sampled each block's first
        # pixel where the CPU averages the block, 50 grey levels apart on this pattern.)
        small = cv2.cuda.resize(g, (160, 120), interpolation=cv2.INTER_AREA).download()
        resize_ok = int(np.abs(small.astype(int) - cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA).astype(int)).max()) <= 1
        ok = round_trip and add_ok and resize_ok
        res.add("cv2.cuda", OK if ok else FAIL,
                f"OpenCV {cv2.__version__}: GpuMat round trip {'ok' if round_trip else 'differs'}, cudaarithm add {'ok' if add_ok else 'differs'}, "
                f"cudawarping resize {'ok' if resize_ok else 'differs'}")
    except Exception as exc:  # noqa: BLE001
        res.add("cv2.cuda", FAIL, f"{type(exc).__name__}: {exc}")


def _ffmpeg_list(ffmpeg: str, what: str) -> str:
    try:
        return subprocess.run([ffmpeg, "-hide_banner", what], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _decoded_frames(ffmpeg: str, args: list[str], clip: str) -> tuple[int, str]:
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", *args, "-i", clip, "-f", "null", "-"], capture_output=True, text=True, timeout=120)
    frames = re.findall(r"frame=\s*(\d+)", proc.stderr)
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    return (int(frames[-1]) if frames and proc.returncode == 0 else -1), last


def check_ffmpeg(res: Result, ffmpeg: str, gpu: bool) -> None:
    if not (os.path.isfile(ffmpeg) and os.access(ffmpeg, os.X_OK)):
        res.add("nvdec h264", SKIP, f"no FFmpeg at {ffmpeg}")
        res.add("nvenc h264", SKIP, f"no FFmpeg at {ffmpeg}")
        return
    hwaccels, decoders, encoders = (_ffmpeg_list(ffmpeg, w) for w in ("-hwaccels", "-decoders", "-encoders"))
    has_cuda = re.search(r"^cuda$", hwaccels, re.M) is not None
    has_cuvid = "h264_cuvid" in decoders
    if not (has_cuda or has_cuvid):
        res.add("nvdec h264", SKIP, "FFmpeg is built without the cuda hwaccel and h264_cuvid")
    elif not gpu:
        res.add("nvdec h264", SKIP, f"FFmpeg has {'cuda' if has_cuda else ''}{' and ' if has_cuda and has_cuvid else ''}{'h264_cuvid' if has_cuvid else ''}; no driver visible")
    elif not CLIP_H264:
        res.add("nvdec h264", FAIL, "the probe carries no H.264 clip")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            clip = os.path.join(tmp, "clip.h264")
            with open(clip, "wb") as fh:
                fh.write(base64.b64decode(CLIP_H264))
            parts, bad = [], False
            for label, args, present in (("-hwaccel cuda", ["-hwaccel", "cuda"], has_cuda), ("h264_cuvid", ["-c:v", "h264_cuvid"], has_cuvid)):
                if not present:
                    continue
                n, last = _decoded_frames(ffmpeg, args, clip)
                parts.append(f"{label} {n}/{CLIP_FRAMES} frames" if n >= 0 else f"{label} failed: {last}")
                bad |= n != CLIP_FRAMES
            res.add("nvdec h264", FAIL if bad else OK, "; ".join(parts))
    if "h264_nvenc" not in encoders:
        res.add("nvenc h264", SKIP, "FFmpeg is built without h264_nvenc")
    elif not gpu:
        res.add("nvenc h264", SKIP, "FFmpeg has h264_nvenc; no driver visible")
    else:
        proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "1",
                               "-c:v", "h264_nvenc", "-f", "null", "-"], capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            res.add("nvenc h264", OK, "encoded 1 s of testsrc with h264_nvenc")
        elif "No capable devices found" in proc.stderr or "unsupported device" in proc.stderr:
            res.add("nvenc h264", SKIP, "this GPU has no NVENC encoder (H100 and H200 have none)")
        else:
            res.add("nvenc h264", FAIL, (proc.stderr.strip().splitlines() or ["no output"])[-1])


def check_tensorrt(res: Result, gpu: bool) -> None:
    try:
        import tensorrt as trt  # type: ignore[import-not-found]
    except (ImportError, OSError) as exc:
        res.add("tensorrt", SKIP, "TensorRT is not in the image" + ("" if isinstance(exc, ImportError) else f" ({exc})"))
        return
    if not gpu:
        res.add("tensorrt", SKIP, f"TensorRT {trt.__version__}; no driver visible")
        return
    try:
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(base64.b64decode(RELU_ONNX)):
            res.add("tensorrt", FAIL, f"the ONNX parser refused the model: {parser.get_error(0)}")
            return
        plan = builder.build_serialized_network(network, builder.create_builder_config())
        engine = trt.Runtime(logger).deserialize_cuda_engine(plan) if plan is not None else None
        res.add("tensorrt", OK if engine is not None else FAIL, f"TensorRT {trt.__version__}: engine {'built' if engine is not None else 'not built'} from a one-node ONNX model")
    except Exception as exc:  # noqa: BLE001
        res.add("tensorrt", FAIL, f"{type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gpu-probe", description="GPU checks inside an airlock image, one line each.")
    ap.add_argument("--min-driver", default="", help="the image's minimum driver version (its airlock.cuda.min-driver label)")
    ap.add_argument("--ffmpeg", default="/opt/ffmpeg/bin/ffmpeg")
    args = ap.parse_args(argv)
    res = Result()
    gpu = check_driver(res, args.min_driver)
    check_torch(res, gpu)
    check_cv2(res, gpu)
    check_ffmpeg(res, args.ffmpeg, gpu)
    check_tensorrt(res, gpu)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
