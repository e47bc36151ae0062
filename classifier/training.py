"""Training TSCeption on a WindowSet with Lightning, and calibration (fine-tuning) for one wearer.

Valence and arousal are two independent sigmoid outputs of one TSCeption (two heads on a
shared trunk); a window unrated on one dimension simply does not contribute to that head's
loss. Early stopping watches a validation split cut from the training data only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.alignment import NO_ALIGNMENT, WEARER_ZSCORE
from classifier.datasets import WindowSet
from classifier.errors import ClassifierError
from classifier.fatal_signals import fatal_signal_handlers_kept
from classifier.model import (
    DEFAULT_HPARAMS,
    OUTPUTS,
    build_tsception,
    make_checkpoint,
)
from classifier.signal import MODEL_RATE_HZ, MUSE_MODEL_CHANNELS


@dataclass
class TrainConfig:
    """How to train. accelerator/devices go to Lightning's Trainer unchanged."""

    max_epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 5
    val_fraction: float = 0.2
    seed: int = 0
    # Per-wearer alignment of the windows (classifier.alignment); on for new models.
    alignment: str = WEARER_ZSCORE
    accelerator: str = "cpu"
    devices: int | str = 1
    threads: int | None = 1  # torch CPU threads; None leaves torch's default
    progress: bool = True
    hparams: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_HPARAMS))
    # Share of training windows with one random electrode zeroed, as a masked (bad) one is
    # live: the model learns to read a window with three electrodes.
    channel_dropout: float = 0.25
    # Centre each wearer's logits on their own mean (classifier.alignment.centre_in_order):
    # generic models, which meet heads they never saw; not calibrated ones, which learnt the
    # wearer's own leaning from their ratings. Needs per-wearer alignment.
    centre_logits: bool = True
    callbacks: list[Any] = field(default_factory=list)  # extra Lightning callbacks (timers...)


@dataclass
class TrainedModel:
    """Weights and the statistics needed to use them.

    norm_mean/norm_std: [C] per channel from the training windows (not validation), in the
    units of the aligned windows (z-scores when alignment is "wearer-zscore", else µV);
    temperature: [2] per output, dividing the logits so probabilities are calibrated
    (fitted on held-out windows; 1.0 = as trained).
    """

    state_dict: dict[str, Any]
    hparams: dict[str, Any]
    norm_mean: np.ndarray
    norm_std: np.ndarray
    channels: tuple[str, ...]
    epochs_run: int
    best_val_loss: float | None
    n_train: int
    n_val: int
    dimensions: list[str]
    # Per dimension on the validation windows: accuracy, balanced accuracy, macro-F1 and the
    # majority-class rate of that split, plus "protocol": who the validation windows were.
    validation: dict[str, Any] = field(default_factory=dict)
    alignment: str = WEARER_ZSCORE
    temperature: np.ndarray = field(default_factory=lambda: np.ones(len(OUTPUTS)))
    centre_logits: bool = False  # each wearer's logits centred on their own mean

    def logits(self, data: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """[W, C, T] aligned, band-passed windows -> [W, 2] raw logits (no temperature)."""
        import torch

        model = build_tsception(len(self.channels), MODEL_RATE_HZ, self.hparams)
        model.load_state_dict(self.state_dict)
        model.eval()
        x = (data - self.norm_mean[None, :, None]) / self.norm_std[None, :, None]
        out = np.empty((len(x), len(OUTPUTS)))
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], np.float32))
                out[i : i + len(batch)] = model(batch.unsqueeze(1)).numpy()
        return out

    def predict(
        self,
        data: np.ndarray,
        batch_size: int = 256,
        *,
        groups: np.ndarray | None = None,
        centre: np.ndarray | None = None,
    ) -> np.ndarray:
        """[W, C, T] aligned, band-passed windows -> [W, 2] probabilities (valence high,
        arousal high), temperature-scaled. A model that centres logits subtracts `centre`
        ([2] or [W, 2], see wearer_centre) or else each group's (wearer's) mean logit over
        these windows (all one wearer when groups is None)."""
        z = self.logits(data, batch_size)
        if self.centre_logits:
            if centre is None:
                from classifier.alignment import centre_by_group

                z = centre_by_group(z, np.zeros(len(z)) if groups is None else groups)
            else:
                z = z - centre
        probs = _sigmoid(z / self.temperature[None, :])
        # A head that was never trained (its dimension was unrated) says nothing: 0.5, so it
        # neither decides nor weighs in a track's confidence.
        for j, dim in enumerate(OUTPUTS):
            if dim not in self.dimensions:
                probs[:, j] = 0.5
        return probs

    def wearer_centre(
        self, data: np.ndarray, groups: np.ndarray | None = None, batch_size: int = 256
    ) -> np.ndarray:
        """[W, 2] what predict subtracts for each window: the mean logit of its group's (the
        wearer's) windows in `data` (zeros for a model that does not centre)."""
        out = np.zeros((len(data), len(OUTPUTS)))
        if not self.centre_logits or len(data) == 0:
            return out
        z = self.logits(data, batch_size)
        groups = np.zeros(len(data)) if groups is None else groups
        for group in np.unique(groups):
            rows = groups == group
            out[rows] = z[rows].mean(axis=0)
        return out

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> TrainedModel:
        """A loaded checkpoint (classifier.model.load_checkpoint) as a TrainedModel."""
        return cls(
            state_dict=ckpt["state_dict"],
            hparams=ckpt["hparams"],
            norm_mean=ckpt["norm_mean"].numpy(),
            norm_std=ckpt["norm_std"].numpy(),
            channels=tuple(ckpt["channels"]),
            epochs_run=0,
            best_val_loss=None,
            n_train=0,
            n_val=0,
            dimensions=list(ckpt["trained_on"].get("dimensions", OUTPUTS)),
            alignment=checkpoint_alignment(ckpt),
            temperature=checkpoint_temperature(ckpt),
            centre_logits=ckpt.get("logit_centring", "none") == "wearer-mean",
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def temperature_refusal(logits: np.ndarray, y: np.ndarray) -> str | None:
    """Why a temperature cannot be fitted on these held-out windows, or None when it can.

    A temperature only rescales the logits: every answer stays on its side of 0.5. With one
    class held out, or a model that gives one answer on every held-out window, the fit can
    do nothing but push that answer toward the share of the class (a constant answer
    sharpened until it "matches" a one-sided split looks calibrated and knows nothing).
    """
    y = np.asarray(y, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if len(y) < 10:
        return f"only {len(y)} held-out windows"
    if y.min() == y.max():
        return "the held-out windows hold one class"
    if (z > 0).all() or (z <= 0).all():
        return "the model gives one answer on every held-out window"
    return None


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log-loss of sigmoid(logits / T) on held-out labels.

    logits, y: [N] (y 0/1). Refuses (returns 1.0, the model as trained) where
    `temperature_refusal` gives a reason: an unfitted temperature must not pretend to
    calibrate.
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(y, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if temperature_refusal(z, y) is not None:
        return 1.0

    def log_loss(log_t: float) -> float:
        p = np.clip(_sigmoid(z / np.exp(log_t)), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    best = minimize_scalar(log_loss, bounds=(np.log(0.05), np.log(50.0)), method="bounded")
    return round(float(np.exp(best.x)), 4)


def checkpoint_alignment(ckpt: dict[str, Any]) -> str:
    """The alignment a checkpoint expects ("none" for checkpoints from before alignment)."""
    from classifier.alignment import NO_ALIGNMENT

    return str(ckpt.get("alignment", NO_ALIGNMENT))


def checkpoint_temperature(ckpt: dict[str, Any]) -> np.ndarray:
    """[2] per-output temperature of a checkpoint (1.0 where it has none)."""
    values = ckpt.get("temperature") or [1.0] * len(OUTPUTS)
    return np.asarray([float(v) for v in values], dtype=np.float64)


def trainable_dimensions(
    ws: WindowSet, where: str, *, one_class: str = "raise"
) -> tuple[list[str], list[str]]:
    """(dimensions with two classes to learn, notes on the dimensions left out).

    A dimension whose usable windows hold one class only raises ClassifierError with
    one_class="raise"; with one_class="skip" it is left out with a note (calibration: a
    listener who rated only calm tracks can still calibrate valence). No dimension at all
    always raises.
    """
    dims, notes = [], []
    usable = ~ws.rejected
    for dim in OUTPUTS:
        labels = ws.labels(dim)[usable]
        labels = labels[~np.isnan(labels)]
        if len(labels) == 0:
            continue
        if labels.min() == labels.max():
            side = "high (> 3)" if labels[0] == 1 else "low (<= 3)"
            message = (
                f"{where}: every {dim} rating is {side}, so there is one class to learn; "
                f"add recordings rated on the other side of 3 or leave {dim} blank"
            )
            if one_class == "raise":
                raise ClassifierError(message)
            notes.append(message)
            continue
        dims.append(dim)
    if not dims:
        raise ClassifierError(
            notes[0] if notes else f"{where}: no usable valence or arousal ratings to train on"
        )
    return dims, notes


# From this many trials on, validation holds out whole trials; below, the end of each trial.
WHOLE_TRIALS_FROM = 10


def trial_classes(ws: WindowSet) -> dict[str, tuple[float, float]]:
    """Each trial's class on both dimensions: (valence label, arousal label), NaN unrated."""
    out: dict[str, tuple[float, float]] = {}
    for t, v, a in zip(ws.trial, ws.labels("valence"), ws.labels("arousal"), strict=True):
        out.setdefault(t, (v, a))
    return out


def validation_split(ws: WindowSet, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) taken from this (training) set only.

    With WHOLE_TRIALS_FROM+ trials, whole trials are held out (no window on both sides),
    stratified by class: about `fraction` of the trials of every (valence, arousal) class,
    and never the last trial of a class, so both sides keep every class there is.
    Otherwise the last `fraction` of every trial, less the windows that overlap it.
    """
    idx = np.arange(len(ws))
    if fraction <= 0 or len(ws) < 4:
        return idx, idx[:0]
    trials = np.unique(ws.trial)
    rng = np.random.default_rng(seed)
    if len(trials) >= WHOLE_TRIALS_FROM:
        by_class: dict[str, list[str]] = {}
        for trial, label in trial_classes(ws).items():
            by_class.setdefault(repr(label), []).append(trial)
        val_trials: set[str] = set()
        for key in sorted(by_class):
            members = sorted(by_class[key])
            n_val = min(int(round(fraction * len(members))), len(members) - 1)
            if n_val == 0 and len(members) >= 2 and rng.random() < fraction * len(members):
                n_val = 1  # small classes still reach validation about as often as their share
            val_trials.update(rng.choice(members, size=n_val, replace=False).tolist())
        is_val = np.array([t in val_trials for t in ws.trial])
        return idx[~is_val], idx[is_val]
    train, val = [], []
    for t in trials:
        members = idx[ws.trial == t]
        members = members[np.argsort(ws.position[members])]
        n_val = int(round(fraction * len(members)))
        if n_val == 0 or len(members) - n_val < 1:
            train.extend(members)
            continue
        val.extend(members[-n_val:])
        train.extend(members[: max(0, len(members) - n_val - 3)])  # 4 s windows, 1 s stride
    return np.array(train, dtype=np.int64), np.array(val, dtype=np.int64)


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")  # calibration: none
    warnings.filterwarnings("ignore", message=".*TreeSpec.*")


def _lightning_module(model: Any, lr: float, channel_dropout: float = 0.0) -> Any:
    import lightning as L
    import torch

    def masked_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mask = ~torch.isnan(y)
        if not mask.any():
            return (logits * 0.0).sum()
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits[mask], y[mask].to(logits.dtype)
        )

    class TSCeptionModule(L.LightningModule):
        """TSCeption with two sigmoid heads (valence, arousal) and a masked BCE loss."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # channels_last: measured ~1.5-2x faster TSCeption steps at batch 64 on CPU.
            return self.model(x.contiguous(memory_format=torch.channels_last))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch  # x: [B, 1, C, T]
            if channel_dropout > 0:
                # Zero one random electrode of a share of the windows (a masked electrode).
                n, n_ch = x.shape[0], x.shape[2]
                drop = torch.rand(n, device=x.device) < channel_dropout
                which = torch.randint(0, n_ch, (n,), device=x.device)
                keep = torch.ones(n, n_ch, device=x.device, dtype=x.dtype)
                keep[drop, which[drop]] = 0.0
                x = x * keep[:, None, :, None]
            loss = masked_bce(self(x), y)
            self.log("train_loss", loss, prog_bar=True, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", masked_bce(self(x), y), prog_bar=True)

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=lr)

    return TSCeptionModule()


def fit(
    ws: WindowSet,
    config: TrainConfig | None = None,
    *,
    init_state: dict[str, Any] | None = None,
    norm: tuple[np.ndarray, np.ndarray] | None = None,
    where: str = "training set",
    one_class: str = "raise",
) -> TrainedModel:
    """Train TSCeption on the non-rejected windows of `ws` (Lightning, early stopping).

    The windows are first aligned per subject as cfg.alignment says (a no-op when `ws` is
    already aligned). init_state: start from these weights (fine-tuning); norm: fixed
    (mean, std) [C] instead of statistics from the training windows; one_class: what a
    dimension with one class does ("raise", or "skip" it; see trainable_dimensions).
    A temperature per output is fitted on the validation windows.
    """
    import lightning as L
    import torch
    from torch.utils.data import (
        BatchSampler,
        DataLoader,
        RandomSampler,
        SequentialSampler,
        TensorDataset,
    )

    cfg = config or TrainConfig()
    _quiet_lightning()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ws = ws.aligned(cfg.alignment)
    ws = ws.subset(np.flatnonzero(~ws.rejected))
    dims, _ = trainable_dimensions(ws, where, one_class=one_class)
    train_idx, val_idx = validation_split(ws, cfg.val_fraction, cfg.seed)
    if len(train_idx) == 0:
        raise ClassifierError(f"{where}: no windows left to train on; record longer sessions")
    train_data = ws.data[train_idx]
    if norm is None:
        mean = train_data.mean(axis=(0, 2)).astype(np.float32)
        std = (train_data.std(axis=(0, 2)) + 1e-6).astype(np.float32)
    else:
        mean, std = (np.asarray(a, np.float32) for a in norm)

    def tensors(index: np.ndarray) -> TensorDataset:
        x = (ws.data[index] - mean[None, :, None]) / std[None, :, None]
        y = np.stack(
            [ws.labels(d)[index] if d in dims else np.full(len(index), np.nan) for d in OUTPUTS],
            axis=1,
        )
        return TensorDataset(
            torch.from_numpy(x.astype(np.float32)).unsqueeze(1),
            torch.from_numpy(y.astype(np.float32)),
        )

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    generator = torch.Generator().manual_seed(cfg.seed)
    # Whole batches are sliced out of the in-memory tensors (the sampler yields index lists),
    # instead of collating 64 single windows per step.
    train_loader = DataLoader(
        tensors(train_idx),
        sampler=BatchSampler(
            RandomSampler(range(len(train_idx)), generator=generator), cfg.batch_size, False
        ),
        batch_size=None,
    )
    val_loader = (
        DataLoader(
            tensors(val_idx),
            sampler=BatchSampler(SequentialSampler(range(len(val_idx))), 512, False),
            batch_size=None,
        )
        if len(val_idx)
        else None
    )
    model = build_tsception(len(MUSE_MODEL_CHANNELS), MODEL_RATE_HZ, cfg.hparams)
    if init_state is not None:
        model.load_state_dict(init_state)
    model = model.to(memory_format=torch.channels_last)
    module = _lightning_module(model, cfg.lr, cfg.channel_dropout)
    best: dict[str, Any] = {"loss": None, "state": None}

    class KeepBest(L.Callback):
        """EarlyStopping stops; this keeps the weights of the best validation epoch."""

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            loss = trainer.callback_metrics.get("val_loss")
            if loss is not None and (best["loss"] is None or float(loss) < best["loss"]):
                best["loss"] = float(loss)
                best["state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    callbacks: list[Any] = [KeepBest(), *cfg.callbacks]
    if val_loader is not None:
        callbacks.append(L.pytorch.callbacks.EarlyStopping("val_loss", patience=cfg.patience))
    if cfg.progress:
        callbacks.append(L.pytorch.callbacks.RichProgressBar(leave=True))
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if cfg.accelerator != "cpu":
        # Deterministic training on a GPU: cuBLAS refuses (RuntimeError) unless it is given
        # a fixed workspace before its first call (PyTorch's reproducibility notes).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        with tempfile.TemporaryDirectory(prefix="emotune-train-") as root:
            try:
                trainer = L.Trainer(
                    max_epochs=cfg.max_epochs,
                    accelerator=cfg.accelerator,
                    devices=cfg.devices,
                    logger=False,
                    enable_checkpointing=False,
                    enable_model_summary=False,
                    enable_progress_bar=cfg.progress,
                    num_sanity_val_steps=0,
                    callbacks=callbacks,
                    default_root_dir=root,
                    deterministic=True,
                )
            except (
                ValueError,
                RuntimeError,
                L.fabric.utilities.exceptions.MisconfigurationException,
            ) as exc:  # noqa: E501
                first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
                raise ClassifierError(
                    f"--accelerator {cfg.accelerator} --devices {cfg.devices} cannot be used "
                    f"here ({first}); try --accelerator cpu --devices 1"
                ) from None
            with fatal_signal_handlers_kept():  # Lightning resets them to SIG_DFL
                trainer.fit(module, train_loader, val_loader)
            epochs = int(trainer.current_epoch)
    finally:
        # Lightning switches deterministic algorithms on process-wide; put it back.
        torch.use_deterministic_algorithms(was_deterministic)
    state = best["state"] or {k: v.detach().cpu() for k, v in model.state_dict().items()}
    state = {k: v.contiguous() for k, v in state.items()}  # plain layout in checkpoints
    trained = TrainedModel(
        state_dict=state,
        hparams=dict(cfg.hparams),
        norm_mean=mean,
        norm_std=std,
        channels=MUSE_MODEL_CHANNELS,
        epochs_run=epochs,
        best_val_loss=best["loss"],
        n_train=len(train_idx),
        n_val=len(val_idx),
        dimensions=dims,
        alignment=ws.alignment,
        centre_logits=cfg.centre_logits and ws.alignment != NO_ALIGNMENT,
    )
    refused: dict[str, str] = {}
    # Each training subject's centre comes from all of their windows (no rating is used),
    # as a held-out wearer's does in evaluation: their validation trials alone may hold
    # one class.
    centres = trained.wearer_centre(ws.data, ws.subject)
    if len(val_idx):
        logits = trained.logits(ws.data[val_idx]) - centres[val_idx]
        for j, dim in enumerate(OUTPUTS):
            y = ws.labels(dim)[val_idx]
            rated = ~np.isnan(y)
            if dim in dims:
                reason = temperature_refusal(logits[rated, j], y[rated])
                if reason is not None:
                    refused[dim] = reason
                trained.temperature[j] = fit_temperature(logits[rated, j], y[rated])
    trained.validation = validation_figures(
        trained, ws, val_idx, cfg.val_fraction, centre=centres[val_idx]
    )
    for dim, reason in refused.items():
        if dim in trained.validation:
            trained.validation[dim]["temperature_not_fitted"] = reason
    return trained


def validation_figures(
    trained: TrainedModel,
    ws: WindowSet,
    val_idx: np.ndarray,
    fraction: float,
    centre: np.ndarray | None = None,
) -> dict[str, Any]:
    """The trained model scored on its validation windows, with the protocol that chose them.

    These windows come from the training subjects (and, with under 10 trials, from the
    training trials too), so the figures are optimistic; `model evaluate` holds out people.
    """
    from classifier.evaluation import binary_metrics, expected_calibration_error

    if len(val_idx) == 0:
        return {}
    n_trials = len(np.unique(ws.trial))
    protocol = (
        f"whole trials held out ({len(np.unique(ws.trial[val_idx]))} of {n_trials}), same subjects"
        if n_trials >= WHOLE_TRIALS_FROM
        else f"the last {fraction:.0%} of every trial held out (3-window gap), same subjects"
    )
    probs = trained.predict(ws.data[val_idx], centre=centre, groups=ws.subject[val_idx])
    figures: dict[str, Any] = {"protocol": protocol}
    for j, dim in enumerate(OUTPUTS):
        if dim not in trained.dimensions:
            continue
        y = ws.labels(dim)[val_idx]
        rated = ~np.isnan(y)
        if rated.any():
            figures[dim] = {
                **binary_metrics(y[rated], probs[rated, j] > 0.5),
                "ece": expected_calibration_error(y[rated], probs[rated, j]),
                "temperature": float(trained.temperature[j]),
                # What the verdict on it rests on (classifier.verdict): the trial is the
                # independent unit, so trials are counted beside windows, per class.
                "validation_windows": _per_class(ws.labels(dim)[val_idx]),
                "validation_trials": _per_class(ws.labels(dim)[val_idx], ws.trial[val_idx]),
                "kept_windows": _per_class(ws.labels(dim)),
                "kept_trials": _per_class(ws.labels(dim), ws.trial),
            }
    return figures


def _per_class(labels: np.ndarray, trials: np.ndarray | None = None) -> dict[str, int]:
    """{"low": n, "high": n}: windows per class, or distinct trials when `trials` is given."""
    out = {}
    for name, value in (("low", 0.0), ("high", 1.0)):
        members = labels == value
        out[name] = int(members.sum() if trials is None else len(np.unique(trials[members])))
    return out


def checkpoint_from(
    trained: TrainedModel,
    *,
    model_name: str,
    trained_on: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict for a trained model (see classifier.model.make_checkpoint)."""
    return make_checkpoint(
        state_dict=trained.state_dict,
        model_name=model_name,
        channels=trained.channels,
        norm_mean=trained.norm_mean,
        norm_std=trained.norm_std,
        trained_on={
            **trained_on,
            "dimensions": list(trained.dimensions),
            "epochs": trained.epochs_run,
            "n_train_windows": trained.n_train,
            "n_val_windows": trained.n_val,
        },
        metrics=metrics,
        hparams=trained.hparams,
        alignment=trained.alignment,
        temperature=[float(t) for t in trained.temperature],
        logit_centring="wearer-mean" if trained.centre_logits else "none",
    )
