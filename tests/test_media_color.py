"""HDR video (phones record HLG by default) is read as the SDR picture the model was trained on."""

import av
import numpy as np
import pytest

from deepfake_detect import media, synthetic
from deepfake_detect.media_color import HLG, PQ, hdr_transfer, sdr_to_hdr


def write_hevc(path, frames, transfer=None):
    """HEVC as a phone writes it: 10-bit, BT.2020, HLG or PQ (transfer given); else 8-bit SDR."""
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("libx265", rate=25, options={"crf": "12", "x265-params": "log-level=error"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p10le" if transfer else "yuv420p"
        if transfer:
            context = stream.codec_context
            context.colorspace, context.color_primaries, context.color_trc = 9, 9, transfer
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if transfer:
                frame = av.VideoFrame.from_ndarray(sdr_to_hdr(image, transfer), format="rgb48le")
                frame = frame.reformat(format="yuv420p10le", dst_colorspace="bt2020")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.parametrize("transfer", [HLG, PQ], ids=["HLG", "PQ"])
def test_hdr_frames_come_out_as_their_sdr_picture(tmp_path, transfer):
    """Read as if SDR, an HDR frame is dim and washed out (reference white at 75 % signal for HLG, 58 %
    for PQ; BT.2020 primaries): the model saw another picture than the person who filmed it."""
    frames = synthetic.render_frames(320, 240, 8, 1, 0.45, 0)  # [240, 320, 3] uint8, a face on a background
    sdr, hdr = tmp_path / "sdr.mov", tmp_path / "hdr.mov"
    write_hevc(sdr, frames)
    write_hevc(hdr, frames, transfer)
    with av.open(str(hdr)) as container:
        raw = [f for f in container.decode(video=0)]
    assert hdr_transfer(raw[0]) == media.probe(hdr).hdr == {HLG: "HLG", PQ: "PQ"}[transfer]
    assert hdr_transfer(next(av.open(str(sdr)).decode(video=0))) is media.probe(sdr).hdr is None
    expected = media.sample_frames(sdr, 4).frames
    read = media.sample_frames(hdr, 4).frames
    assert [f.index for f in read] == [f.index for f in expected]
    as_sdr = np.mean(
        [np.abs(raw[f.index].to_ndarray(format="rgb24").astype(int) - f.image).mean() for f in expected]
    )
    mapped = np.mean(
        [np.abs(a.image.astype(int) - b.image).mean() for a, b in zip(read, expected, strict=True)]
    )
    assert mapped < 6 < 15 < as_sdr, (mapped, as_sdr)  # measured 4.0 / 5.0 against 26.7 / 24.6
