"""The TSCeption network, its checkpoint format and the Predictor that runs it.

Checkpoints are plain dicts of tensors, strings and numbers, saved with `torch.save` and read
with `torch.load(weights_only=True)`, so loading one can never run code.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import ClassifierError
from classifier.signal import MODEL_RATE_HZ, MUSE_MODEL_CHANNELS, WINDOW_S

CHECKPOINT_FORMAT = "emotune-eeg-checkpoint"
CHECKPOINT_VERSION = 1
OUTPUTS = ("valence", "arousal")
# Paper defaults (yi-ding-cs/TSception); two outputs = two independent sigmoid heads.
DEFAULT_HPARAMS: dict[str, Any] = {
    "num_T": 15,
    "num_S": 15,
    "hid_channels": 32,
    "dropout": 0.5,
}
_TSCEPTION_CLASS: Any = None
# From this batch size on, inference runs the channels_last copy of the model.
CHANNELS_LAST_FROM_BATCH = 16


def tsception_class() -> type:
    """torcheeg's real `TSCeption` class.

    Loaded from `torcheeg/models/cnn/tsception.py` by file path on purpose:
    `from torcheeg.models import TSCeption` runs `torcheeg/models/__init__.py`, which imports
    a graph model that needs `torch_scatter` (not installed, and slow to build). The file
    itself needs only torch. Importing the `torcheeg` package (to find the file) raises MNE's
    log level and adds a handler, so logging is restored afterwards.
    """
    global _TSCEPTION_CLASS
    if _TSCEPTION_CLASS is not None:
        return _TSCEPTION_CLASS
    with preserved_logging():
        spec = importlib.util.find_spec("torcheeg")
    if spec is None or not spec.submodule_search_locations:
        raise ClassifierError("torcheeg is not installed; reinstall emotune (pip install -e .)")
    path = Path(spec.submodule_search_locations[0]) / "models" / "cnn" / "tsception.py"
    module_spec = importlib.util.spec_from_file_location("emotune_torcheeg_tsception", path)
    if module_spec is None or module_spec.loader is None:
        raise ClassifierError(f"torcheeg's TSCeption source is missing at {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    _TSCEPTION_CLASS = module.TSCeption
    return _TSCEPTION_CLASS


class preserved_logging:  # noqa: N801 - used as a context manager
    """Put back the root/MNE logging levels and handlers that importing torcheeg changes."""

    def __enter__(self) -> None:
        names = ["", "mne", "torcheeg"]
        self.saved = {
            n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names
        }

    def __exit__(self, *exc: object) -> None:
        for name, (level, handlers) in self.saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers


def import_torcheeg(module: str) -> Any:
    """Import a torcheeg submodule (datasets, transforms, ...) and restore logging after."""
    with preserved_logging():
        return importlib.import_module(module)


def build_tsception(
    n_electrodes: int, rate_hz: int = MODEL_RATE_HZ, hparams: dict[str, Any] | None = None
) -> Any:
    """A fresh TSCeption with two outputs (valence logit, arousal logit)."""
    if n_electrodes % 2 or n_electrodes < 2:
        # 3 or 5 electrodes crash its hemisphere kernel; the halves must mirror each other.
        raise ClassifierError(
            f"TSCeption needs an even number of electrodes (left half, mirrored right half), "
            f"got {n_electrodes}"
        )
    hp = {**DEFAULT_HPARAMS, **(hparams or {})}
    cls = tsception_class()
    return cls(
        num_electrodes=n_electrodes,
        num_T=int(hp["num_T"]),
        num_S=int(hp["num_S"]),
        in_channels=1,
        hid_channels=int(hp["hid_channels"]),
        num_classes=len(OUTPUTS),
        sampling_rate=int(rate_hz),
        dropout=float(hp["dropout"]),
    )


def make_checkpoint(
    *,
    state_dict: dict[str, Any],
    model_name: str,
    channels: Sequence[str],
    norm_mean: np.ndarray,
    norm_std: np.ndarray,
    trained_on: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    hparams: dict[str, Any] | None = None,
    rate_hz: int = MODEL_RATE_HZ,
    window_s: float = WINDOW_S,
    band_hz: tuple[float, float] = (1.0, 45.0),
    rating_threshold: float = 3.0,
    alignment: str = "none",
    temperature: Sequence[float] | None = None,
    logit_centring: str = "none",
) -> dict[str, Any]:
    """The checkpoint dict: everything needed to use the weights, as plain values/tensors.

    norm_mean/norm_std: [C] per channel, learnt on the training windows (after alignment);
    alignment: the per-wearer alignment the windows get first (classifier.alignment);
    temperature: [2] divisors of the logits that calibrate the probabilities;
    logit_centring: "wearer-mean" when each wearer's logits are centred on their own mean
    (classifier.alignment.centre_in_order) before the temperature, else "none".
    """
    import torch

    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "model_name": model_name,
        "architecture": "torcheeg.models.cnn.tsception.TSCeption",
        "hparams": {**DEFAULT_HPARAMS, **(hparams or {})},
        "outputs": list(OUTPUTS),
        "channels": list(channels),
        "rate_hz": int(rate_hz),
        "window_s": float(window_s),
        "band_hz": [float(band_hz[0]), float(band_hz[1])],
        "norm_mean": torch.as_tensor(np.asarray(norm_mean, np.float32)),
        "norm_std": torch.as_tensor(np.asarray(norm_std, np.float32)),
        # A rating above rating_threshold is "high"; p > 0.5 is read as high.
        "thresholds": {"rating": float(rating_threshold), "probability": 0.5},
        "alignment": str(alignment),
        "temperature": [float(t) for t in (temperature or [1.0] * len(OUTPUTS))],
        "logit_centring": str(logit_centring),
        "trained_on": dict(trained_on),
        "metrics": dict(metrics or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
    }


def save_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save(checkpoint, tmp)
    tmp.replace(path)
    return path


_REQUIRED = {
    "format": str,
    "format_version": int,
    "model_name": str,
    "hparams": dict,
    "channels": list,
    "rate_hz": int,
    "window_s": float,
    "thresholds": dict,
    "trained_on": dict,
    "metrics": dict,
    "state_dict": dict,
}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint; ClassifierError for anything unusable."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise ClassifierError(
            f"model file {path} does not exist; `emotune model list` shows models"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unpickling failed"
        raise ClassifierError(
            f"model file {path} holds more than plain weights and was refused ({first[:120]}); "
            "only load checkpoints emotune wrote"
        ) from None
    except Exception as exc:  # noqa: BLE001 - damaged bytes can fail the unpickler in any way
        # (TypeError, KeyError, struct.error, ...); weights_only never runs code, so all of
        # these mean one thing: the file is not a usable checkpoint.
        raise ClassifierError(
            f"model file {path} is corrupted or not a checkpoint ({type(exc).__name__}); "
            "retrain it or restore a copy"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ClassifierError(
            f"{path} is not an emotune EEG checkpoint; train one with `emotune model train`"
        )
    for key, kind in _REQUIRED.items():
        if not isinstance(ckpt.get(key), kind):
            raise ClassifierError(f"checkpoint {path} lacks a valid {key!r}; retrain the model")
    from classifier.alignment import ALIGNMENTS

    if ckpt.get("alignment", "none") not in ALIGNMENTS:
        raise ClassifierError(
            f"checkpoint {path} asks for alignment {ckpt.get('alignment')!r}, which this emotune "
            f"does not know ({', '.join(ALIGNMENTS)}); upgrade emotune or retrain the model"
        )
    if ckpt.get("logit_centring", "none") not in ("none", "wearer-mean"):
        raise ClassifierError(
            f"checkpoint {path} asks for logit centring {ckpt.get('logit_centring')!r}, which "
            "this emotune does not know; upgrade emotune or retrain the model"
        )
    if ckpt.get("band_power") is not None:
        from classifier.baseline import WearerBandPower

        try:
            WearerBandPower.from_checkpoint(ckpt["band_power"])
        except ClassifierError as exc:
            raise ClassifierError(f"checkpoint {path}: {exc}; calibrate again") from None
    temperature = ckpt.get("temperature", [1.0] * len(OUTPUTS))
    if not (
        isinstance(temperature, list)
        and len(temperature) == len(OUTPUTS)
        and all(isinstance(t, float) and 0 < t < float("inf") for t in temperature)
    ):
        raise ClassifierError(f"checkpoint {path} has no valid temperature; retrain the model")
    if ckpt["format_version"] > CHECKPOINT_VERSION:
        raise ClassifierError(
            f"checkpoint {path} has format version {ckpt['format_version']}, newer than this "
            f"emotune understands ({CHECKPOINT_VERSION}); upgrade emotune"
        )
    n_ch = len(ckpt["channels"])
    for key in ("norm_mean", "norm_std"):
        value = ckpt.get(key)
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (n_ch,):
            raise ClassifierError(f"checkpoint {path} has no valid {key}; retrain the model")
        if not torch.isfinite(value).all():
            raise ClassifierError(f"checkpoint {path} has non-finite {key}; retrain the model")
    return ckpt


def set_torch_threads(threads: int) -> None:
    """Pin torch's CPU threads: on a busy 2-core machine 2 threads can be 4-10x slower than 1."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


class Predictor:
    """A loaded checkpoint, ready to turn normalised windows into probabilities.

    Attributes: model_name, channels (electrode order the model expects), rate_hz (model
    sampling rate), window_samples, checkpoint (the validated dict, without weights).
    """

    def __init__(self, checkpoint: dict[str, Any], source: str = "") -> None:
        import torch

        self.source = source
        self.model_name: str = checkpoint["model_name"]
        self.channels: tuple[str, ...] = tuple(checkpoint["channels"])
        self.rate_hz: int = int(checkpoint["rate_hz"])
        self.window_s: float = float(checkpoint["window_s"])
        self.window_samples = int(round(self.window_s * self.rate_hz))
        self.checkpoint = {k: v for k, v in checkpoint.items() if k != "state_dict"}
        self.norm_mean = checkpoint["norm_mean"].numpy().astype(np.float32)[None, :, None]
        self.norm_std = checkpoint["norm_std"].numpy().astype(np.float32)[None, :, None]
        # Per-wearer alignment first (classifier.alignment), then the training statistics;
        # logits are divided by the fitted temperature so probabilities are calibrated.
        self.alignment: str = str(checkpoint.get("alignment", "none"))
        self.temperature = np.asarray(checkpoint.get("temperature", [1.0] * len(OUTPUTS)))
        # Each wearer's logits centred on their own running mean (aligned models only).
        self.centred = checkpoint.get("logit_centring", "none") == "wearer-mean" and (
            self.alignment != "none"
        )
        self.model = build_tsception(len(self.channels), self.rate_hz, checkpoint["hparams"])
        try:
            self.model.load_state_dict(checkpoint["state_dict"], strict=True)
        except (RuntimeError, KeyError) as exc:
            raise ClassifierError(
                f"checkpoint {source or self.model_name} does not fit TSCeption for "
                f"{len(self.channels)} electrodes ({str(exc).splitlines()[0][:100]}); retrain it"
            ) from None
        self.model.eval()
        # A calibrated wearer's own band-power baseline, when calibration found it (or the
        # two averaged) better than TSCeption on their held-out tracks (classifier.baseline).
        self.band_power: Any = None
        if checkpoint.get("band_power"):
            from classifier.baseline import WearerBandPower

            self.band_power = WearerBandPower.from_checkpoint(checkpoint["band_power"])
        self._batch_model: Any = None
        self._torch = torch

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load a checkpoint with `torch.load(weights_only=True)`; ClassifierError if unusable."""
        return cls(load_checkpoint(path), source=str(path))

    @property
    def synthetic(self) -> bool:
        return bool(self.checkpoint["trained_on"].get("synthetic", False))

    def check_stream(self, channel_labels: Sequence[str], rate_hz: float) -> None:
        """Refuse a stream whose montage or rate this model cannot use (ClassifierError)."""
        from classifier.signal import resample_factors

        found = {label.strip().upper() for label in channel_labels}
        missing = [ch for ch in self.channels if ch.upper() not in found]
        if missing:
            raise ClassifierError(
                f"model {self.model_name!r} needs electrodes {', '.join(self.channels)} but the "
                f"stream has {', '.join(channel_labels) or 'none'} (missing {', '.join(missing)}); "
                "use a model trained on this headset's montage"
            )
        try:
            resample_factors(float(rate_hz), self.rate_hz)
        except ClassifierError as exc:
            raise ClassifierError(f"model {self.model_name!r}: {exc}") from None
        if self.channels != MUSE_MODEL_CHANNELS and set(self.channels) == set(MUSE_MODEL_CHANNELS):
            raise ClassifierError(
                f"model {self.model_name!r} orders electrodes {', '.join(self.channels)}, not "
                f"TSCeption's hemisphere order {', '.join(MUSE_MODEL_CHANNELS)}; retrain it"
            )

    @property
    def aligned(self) -> bool:
        return self.alignment != "none"

    def new_alignment(self) -> Any:
        """A fresh per-wearer alignment state for one session (None if the model has none)."""
        from classifier.alignment import WearerAlignment

        return WearerAlignment(len(self.channels)) if self.aligned else None

    def normalise(
        self,
        windows: np.ndarray,
        *,
        clean: np.ndarray | None = None,
        alignment: Any = None,
        channel_ok: np.ndarray | None = None,
    ) -> np.ndarray:
        """[W, C, T] µV -> [W, C, T] model input (float32).

        An aligned model first scales the windows, in order, with the wearer's statistics
        (`alignment`, a classifier.alignment.WearerAlignment updated in place with the
        windows marked `clean`; a fresh one when None), then applies the training statistics.
        A masked electrode (channel_ok [W, C] False) is zero in the aligned space, as in
        training (classifier.datasets.WindowSet.aligned).
        """
        if self.aligned:
            from classifier.alignment import align_in_order

            state = alignment if alignment is not None else self.new_alignment()
            ok = np.ones(len(windows), bool) if clean is None else np.asarray(clean, bool)
            windows = align_in_order(state, windows, ok, channel_ok)
        if channel_ok is not None:
            windows = np.where(np.asarray(channel_ok, bool)[:, :, None], windows, 0.0)
        return ((windows - self.norm_mean) / self.norm_std).astype(np.float32)

    def logits_normalised(self, windows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """[W, C, T] normalised windows -> [W, 2] raw logits (no temperature, no centring)."""
        torch = self._torch
        out = np.empty((len(windows), len(OUTPUTS)), dtype=np.float64)
        with torch.inference_mode():
            for i in range(0, len(windows), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(windows[i : i + batch_size]))
                x = batch.unsqueeze(1).float()
                if len(x) >= CHANNELS_LAST_FROM_BATCH:
                    logits = self.batch_model(x.contiguous(memory_format=torch.channels_last))
                else:
                    logits = self.model(x)
                out[i : i + len(batch)] = logits.double().numpy()
        return out

    def predict_normalised(self, windows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """[W, C, T] normalised windows -> [W, 2] probabilities (valence high, arousal high),
        without per-wearer centring."""
        z = self.logits_normalised(windows, batch_size) / self.temperature[None, :]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    @property
    def batch_model(self) -> Any:
        """A channels_last copy of the model: ~2x faster at batch 64 on CPU, slower at 1."""
        if self._batch_model is None:
            import copy

            self._batch_model = copy.deepcopy(self.model).to(
                memory_format=self._torch.channels_last
            )
        return self._batch_model

    def predict(
        self,
        windows: np.ndarray,
        batch_size: int = 64,
        *,
        clean: np.ndarray | None = None,
        alignment: Any = None,
        channel_ok: np.ndarray | None = None,
    ) -> np.ndarray:
        """[W, C, T] band-passed µV windows in self.channels order, in time order -> [W, 2]
        probabilities. clean/alignment/channel_ok: see `normalise`."""
        if windows.ndim != 3 or windows.shape[1:] != (len(self.channels), self.window_samples):
            raise ClassifierError(
                f"windows of shape {windows.shape[1:]} do not fit model {self.model_name!r}, "
                f"which takes ({len(self.channels)}, {self.window_samples})"
            )
        if self.aligned and alignment is None:
            alignment = self.new_alignment()  # one wearer: scaling and centring share it
        x = self.normalise(
            windows.astype(np.float32), clean=clean, alignment=alignment, channel_ok=channel_ok
        )
        if self.centred:
            from classifier.alignment import centre_in_order

            ok = np.ones(len(windows), bool) if clean is None else np.asarray(clean, bool)
            z = centre_in_order(alignment, self.logits_normalised(x, batch_size), ok)
            z = z / self.temperature[None, :]
            probs = 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))
        else:
            probs = self.predict_normalised(x, batch_size)
        # A head that was never trained (its dimension was unrated) says nothing.
        trained = self.checkpoint["trained_on"].get("dimensions", OUTPUTS)
        for j, dim in enumerate(OUTPUTS):
            if dim not in trained:
                probs[:, j] = 0.5
        if self.band_power is not None and self.band_power.answer != "tsception":
            ok = np.ones(windows.shape[:2], bool) if channel_ok is None else channel_ok
            base = self.band_power.probabilities(windows, ok)
            for j, dim in enumerate(OUTPUTS):
                if dim in self.band_power.baseline.dimensions:
                    mixed = base[:, j] if self.band_power.answer == "baseline" else None
                    probs[:, j] = mixed if mixed is not None else (probs[:, j] + base[:, j]) / 2
        return probs

    @property
    def answers_with(self) -> str:
        """What gives this model's probabilities: tsception, baseline or combined."""
        return "tsception" if self.band_power is None else str(self.band_power.answer)


# Trained on SYNTHETIC EEG by `make demo-model` (classifier/demo_model.py); for demos and tests.
DEMO_CHECKPOINT = Path(__file__).resolve().parent / "data" / "demo-synthetic-tsception.pt"
