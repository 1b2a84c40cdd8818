"""Synthetic ECG rhythm strips for image_reasoning tasks.

Building a dataset never renders images: a case only names its strip (`images/ecg-<rhythm>-<rate>-
<variant>.png`, a pure function of the truth). The PNG is drawn on first use and cached in the
dataset folder. The signal is a sum of Gaussian P, Q, R, S and T waves per beat, placed according
to the rhythm, plus a little noise and baseline wander.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation.banks import stable_hash
from behaviorbench.knowledge.models import ECG_RHYTHMS
from behaviorbench.schema import ImageAttachment

SAMPLE_RATE = 250
"""Samples per second."""
DURATION_S = 10.0
FLUTTER_WAVE_RATE = 300
"""Atrial flutter waves per minute; the ventricles follow every k-th wave (rate 150, 100, 75)."""


def _gauss(t: np.ndarray, centers: np.ndarray, amplitude: float, width: float) -> np.ndarray:
    """Sum of Gaussian bumps at `centers`, evaluated only near each center (fast for many beats)."""
    out = np.zeros_like(t)
    half = int(4 * width * SAMPLE_RATE) + 1
    for center in centers:
        mid = int(round(center * SAMPLE_RATE))
        lo, hi = max(mid - half, 0), min(mid + half + 1, len(t))
        if lo < hi:
            out[lo:hi] += amplitude * np.exp(-0.5 * ((t[lo:hi] - center) / width) ** 2)
    return out


def _regular(rng: np.random.Generator, rate: float, jitter: float) -> np.ndarray:
    interval = 60.0 / rate
    times, now = [], rng.uniform(0.15, 0.15 + interval)
    while now < DURATION_S - 0.1:
        times.append(now)
        now += interval * (1 + rng.uniform(-jitter, jitter))
    return np.array(times)


def _irregular(rng: np.random.Generator, rate: float) -> np.ndarray:
    """Irregularly irregular: independent intervals spread +-40% around the mean interval."""
    interval = 60.0 / rate
    times, now = [], rng.uniform(0.15, 0.15 + interval)
    while now < DURATION_S - 0.1:
        times.append(now)
        now += interval * rng.uniform(0.6, 1.4)
    return np.array(times)


def _qrs_t(t: np.ndarray, r: np.ndarray, wide: bool, rate: float) -> np.ndarray:
    """Ventricular complexes at `r`; T follows at a rate-dependent interval."""
    t_offset = 0.12 + 0.16 * min(60.0 / rate, 1.0)
    if wide:
        return (
            _gauss(t, r - 0.05, -0.25, 0.03)
            + _gauss(t, r, 1.3, 0.04)
            + _gauss(t, r + 0.08, -0.7, 0.04)
            + _gauss(t, r + t_offset + 0.06, -0.35, 0.06)
        )
    return (
        _gauss(t, r - 0.03, -0.12, 0.01)
        + _gauss(t, r, 1.0, 0.012)
        + _gauss(t, r + 0.03, -0.25, 0.012)
        + _gauss(t, r + t_offset, 0.3, 0.045)
    )


def synthesize(rhythm: str, rate: int, variant: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time in s, signal in mV, R-peak times) of a 10-second lead II strip."""
    if rhythm not in ECG_RHYTHMS:
        raise BehaviorBenchError(f"ecg: unknown rhythm {rhythm!r}; expected one of {sorted(ECG_RHYTHMS)}")
    rng = np.random.default_rng(stable_hash(f"ecg:{rhythm}:{rate}:{variant}"))
    t = np.arange(0.0, DURATION_S, 1.0 / SAMPLE_RATE)
    signal = 0.05 * np.sin(2 * np.pi * rng.uniform(0.15, 0.4) * t + rng.uniform(0, 6.3))
    signal += rng.normal(0.0, 0.01, len(t))
    if rhythm == "atrial_fibrillation":
        r = _irregular(rng, rate)
        for _ in range(3):
            signal += 0.03 * np.sin(2 * np.pi * rng.uniform(5, 8) * t + rng.uniform(0, 6.3))
        signal += _qrs_t(t, r, wide=False, rate=rate)
    elif rhythm == "atrial_flutter":
        phase = rng.uniform(0, 1)
        flutter = (t * FLUTTER_WAVE_RATE / 60.0 + phase) % 1.0
        signal += -0.25 * (flutter - 0.5)
        conduction = max(round(FLUTTER_WAVE_RATE / rate), 2)
        first_wave = (1 - phase) * 60.0 / FLUTTER_WAVE_RATE
        r = np.arange(first_wave + 0.1, DURATION_S - 0.1, conduction * 60.0 / FLUTTER_WAVE_RATE)
        signal += _qrs_t(t, r, wide=False, rate=rate)
    elif rhythm == "complete_heart_block":
        p = _regular(rng, rng.uniform(70, 95), 0.01)
        r = _regular(rng, rate, 0.01)
        signal += _gauss(t, p, 0.15, 0.025) + _qrs_t(t, r, wide=True, rate=rate) * 0.85
    elif rhythm == "ventricular_tachycardia":
        r = _regular(rng, rate, 0.01)
        signal += _qrs_t(t, r, wide=True, rate=rate)
    else:  # sinus rhythms
        r = _regular(rng, rate, 0.015)
        signal += _gauss(t, r - 0.16, 0.15, 0.025) + _qrs_t(t, r, wide=False, rate=rate)
    return t, signal, r


def render_ecg(rhythm: str, rate: int, variant: int, path: Path) -> Path:
    """Draw the strip on ECG grid paper (1 mm = 0.04 s / 0.1 mV) and write the PNG atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t, signal, _ = synthesize(rhythm, rate, variant)
    figure = Figure(figsize=(12, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.01, 0.04, 0.98, 0.86))
    low, high = -1.2, 1.8
    axes.set_xlim(0, DURATION_S)
    axes.set_ylim(low, high)
    axes.set_xticks(np.arange(0, DURATION_S + 1e-9, 0.2))
    axes.set_xticks(np.arange(0, DURATION_S + 1e-9, 0.04), minor=True)
    axes.set_yticks(np.arange(low, high + 1e-9, 0.5))
    axes.set_yticks(np.arange(low, high + 1e-9, 0.1), minor=True)
    axes.grid(which="major", color="#e8a0a0", linewidth=0.8)
    axes.grid(which="minor", color="#f6d5d5", linewidth=0.4)
    axes.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    axes.set_facecolor("#fff6f6")
    axes.plot(t, signal, color="black", linewidth=0.9)
    figure.text(0.01, 0.93, "II   25 mm/s   10 mm/mV", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format="png")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def materialize_image(dataset_dir: Path, attachment: ImageAttachment) -> Path:
    """The PNG of an image attachment inside `dataset_dir`, rendered now if it is not there yet."""
    path = Path(dataset_dir) / attachment.path
    if path.is_file():
        return path
    truth = attachment.truth
    missing = [key for key in ("rhythm", "rate", "variant") if key not in truth]
    if missing:
        raise BehaviorBenchError(
            f"{attachment.path}: image truth lacks {', '.join(missing)}; cannot render it"
        )
    return render_ecg(str(truth["rhythm"]), int(truth["rate"]), int(truth["variant"]), path)
