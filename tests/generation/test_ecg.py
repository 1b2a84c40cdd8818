"""ECG strips: the synthesized signal has the stated rate and rhythm, and renders to a PNG once."""

import numpy as np
import pytest
from scipy.signal import find_peaks

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation.ecg import SAMPLE_RATE, materialize_image, render_ecg, synthesize
from behaviorbench.schema import ImageAttachment

RATES = [
    ("normal_sinus", 72),
    ("sinus_tachycardia", 128),
    ("sinus_bradycardia", 44),
    ("atrial_fibrillation", 135),
    ("atrial_flutter", 150),
    ("atrial_flutter", 75),
    ("complete_heart_block", 36),
    ("ventricular_tachycardia", 185),
]


def _r_peaks(signal: np.ndarray) -> np.ndarray:
    peaks, _ = find_peaks(signal, height=0.6, distance=int(0.2 * SAMPLE_RATE))
    return peaks / SAMPLE_RATE


@pytest.mark.parametrize(("rhythm", "rate"), RATES)
def test_signal_has_the_stated_rate(rhythm, rate):
    for variant in (1, 3):
        _, signal, _ = synthesize(rhythm, rate, variant)
        intervals = np.diff(_r_peaks(signal))
        assert abs(60 / intervals.mean() - rate) / rate < 0.08
        variation = intervals.std() / intervals.mean()
        if rhythm == "atrial_fibrillation":
            assert variation > 0.12
        else:
            assert variation < 0.05


def test_p_waves_come_only_with_the_rhythms_that_have_them():
    """Sinus strips have a P bump before each R; AF and VT have none; heart block has more P than R."""

    def p_waves(rhythm: str, rate: int) -> int:
        _, signal, _ = synthesize(rhythm, rate, 2)
        bumps, _ = find_peaks(signal, height=(0.1, 0.22), prominence=0.09, width=(0.03 * SAMPLE_RATE, None))
        return len(bumps)

    beats = len(_r_peaks(synthesize("normal_sinus", 70, 2)[1]))
    assert p_waves("normal_sinus", 70) >= beats - 1
    assert p_waves("complete_heart_block", 36) > len(_r_peaks(synthesize("complete_heart_block", 36, 2)[1]))
    assert p_waves("atrial_fibrillation", 110) < beats / 2


def test_render_writes_a_png(tmp_path):
    path = render_ecg("atrial_fibrillation", 120, 1, tmp_path / "strip.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["strip.png"]


def test_materialize_renders_once_and_then_reuses(tmp_path):
    attachment = ImageAttachment(
        title="strip",
        path="images/ecg-ventricular_tachycardia-180-2.png",
        truth={"rhythm": "ventricular_tachycardia", "rate": 180, "variant": 2},
    )
    path = materialize_image(tmp_path, attachment)
    assert path == tmp_path / attachment.path and path.stat().st_size > 20_000
    stamp = path.stat().st_mtime_ns
    assert materialize_image(tmp_path, attachment).stat().st_mtime_ns == stamp


def test_bad_truth_is_a_one_line_error(tmp_path):
    attachment = ImageAttachment(title="strip", path="images/x.png", truth={"rhythm": "sinus"})
    with pytest.raises(BehaviorBenchError, match="images/x.png") as error:
        materialize_image(tmp_path, attachment)
    assert "\n" not in str(error.value)
    with pytest.raises(BehaviorBenchError, match="unknown rhythm"):
        synthesize("torsades", 200, 1)
