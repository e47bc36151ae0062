"""EEG model jobs: train, evaluate, add, list, use. Reads top to bottom:

data (DREAMER.mat or muselsl CSVs + labels) -> windows -> TSCeption (Lightning) -> checkpoint
file in the models folder -> row in the models registry (kind "eeg").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import ConfigError
from app.privacy import user_umask

EEG_KIND = "eeg"


@dataclass(frozen=True)
class DataSource:
    """Where training/evaluation windows come from: a DREAMER .mat or recordings + labels."""

    dreamer: Path | None = None
    recordings: Path | None = None
    labels: Path | None = None
    rate_hz: float = 256.0
    stride_s: float | None = None  # None: 4 s (no overlap) for DREAMER, 1 s for recordings
    line_noise_hz: float = 50.0

    def validate(self) -> None:
        if (self.dreamer is None) == (self.recordings is None):
            raise ConfigError(
                "give either --dreamer DREAMER.mat or --recordings DIR --labels LABELS.csv"
            )
        if self.recordings is not None and self.labels is None:
            raise ConfigError(
                "--recordings needs --labels LABELS.csv (file,subject,valence,arousal)"
            )

    def load(self, on_file: Callable[[str], None] | None = None) -> Any:
        """The WindowSet (classifier.datasets) of this source."""
        from classifier.datasets import load_dreamer, load_recordings

        self.validate()
        if self.dreamer is not None:
            return load_dreamer(
                self.dreamer, stride_s=self.stride_s or 4.0, line_noise_hz=self.line_noise_hz
            )
        assert self.recordings is not None and self.labels is not None
        return load_recordings(
            self.recordings,
            self.labels,
            rate_hz=self.rate_hz,
            stride_s=self.stride_s or 1.0,
            line_noise_hz=self.line_noise_hz,
            progress=on_file,
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "model"


def train(
    cfg: Settings,
    source: DataSource,
    train_config: Any,
    *,
    name: str | None = None,
    use: bool | None = None,
    force: bool = False,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train on `source`, save the checkpoint, register it; returns a summary dict.

    use=None activates the new model only when no EEG model is active yet. Either way a
    model whose own validation does not show it learned (classifier.verdict) is registered
    but not made active, unless `force`; "verdict" in the summary says why.
    """
    from app.db import repository
    from app.db.engine import open_store
    from classifier.model import save_checkpoint
    from classifier.training import checkpoint_from, fit
    from classifier.verdict import judge_validation

    ws = source.load(on_file)
    origin = source.dreamer.stem if source.dreamer else (source.recordings or Path("x")).name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tag = "synthetic-" if ws.synthetic and "synthetic" not in origin.lower() else ""
    model_name = name or f"tsception-{tag}{_slug(origin)}-{stamp}"
    started = time.perf_counter()
    trained = fit(ws, train_config, where=str(source.dreamer or source.labels))
    seconds = time.perf_counter() - started
    trained_on = {
        "description": ws.description,
        "synthetic": bool(ws.synthetic),
        "source": "dreamer" if source.dreamer else "recordings",
        "n_windows": len(ws),
        "rejected_share": round(float(ws.rejected.mean()), 4) if len(ws) else 0.0,
        "subjects": sorted(set(ws.subject.tolist())),
        "seed": train_config.seed,
        "train_seconds": round(seconds, 1),
    }
    verdict = judge_validation(trained.validation, trained.dimensions)
    metrics = {
        "best_val_loss": trained.best_val_loss,
        "epochs": trained.epochs_run,
        "validation": trained.validation,
        "verdict": verdict,
    }
    ckpt = checkpoint_from(trained, model_name=model_name, trained_on=trained_on, metrics=metrics)
    path = save_checkpoint(ckpt, cfg.models_dir / f"{_slug(model_name)}.pt")
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            wanted = use if use is not None else repository.active_model(db, EEG_KIND) is None
            refused = _refused(wanted, verdict, force)
            row = repository.register_model(
                db,
                name=model_name,
                kind=EEG_KIND,
                path=str(path),
                description=ws.description,
                metrics=metrics,
                activate=wanted and not refused,
            )
            model_id, active = row.id, row.active
    finally:
        store.close()
    return {
        "id": model_id,
        "name": model_name,
        "path": str(path),
        "active": bool(active),
        "synthetic": bool(ws.synthetic),
        "n_windows": len(ws),
        "n_train": trained.n_train,
        "n_val": trained.n_val,
        "epochs": trained.epochs_run,
        "best_val_loss": trained.best_val_loss,
        "validation": trained.validation,
        "dimensions": trained.dimensions,
        "verdict": {**verdict, "activation_refused": refused, "forced": force and wanted},
        "notes": ws.notes,
        "seconds": round(seconds, 1),
    }


def _refused(wanted: bool, verdict: dict[str, Any] | None, force: bool) -> bool:
    """Activation was asked for (or due) but the model's validation shows it learned
    nothing, and `force` was not given."""
    return wanted and not force and verdict is not None and verdict["learned"] is False


def evaluate(
    cfg: Settings,
    source: DataSource,
    train_config: Any,
    *,
    protocol: str,
    folds: int = 5,
    plot_path: Path | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    max_rated: int = 4,
    draws: int = 3,
    calibration_epochs: int = 8,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cross-validate TSCeption on `source` under `protocol`; the report dict (see evaluation).

    protocol "calibration" runs the new-wearer path (classifier.new_wearer) for n = 1 ..
    max_rated rated trials, `draws` random draws each, and draws its learning curve.
    """
    from classifier.evaluation import evaluate as run_evaluation

    ws = source.load()
    kind = "learning-curve" if protocol == "calibration" else "confusion"
    # --plot follows the user's umask; the default, in the home, is owner-only
    where = nullcontext() if plot_path is None else user_umask()
    if plot_path is None:
        plot_path = (
            cfg.data_dir / "evaluations" / f"{kind}-{protocol}-{time.strftime('%Y%m%d-%H%M%S')}.png"
        )
    if protocol == "calibration":
        from classifier.new_wearer import new_wearer_curve, plot_curve

        report = new_wearer_curve(
            ws,
            train_config,
            n_values=range(1, max_rated + 1),
            draws=draws,
            calibration_epochs=calibration_epochs,
            on_step=on_step,
        )
        with where:
            report["learning_curve_png"] = str(plot_curve(report, plot_path))
        return report
    with where:
        return run_evaluation(
            ws, protocol, train_config, k=folds, plot_path=plot_path, on_fold=on_fold
        )


def add(
    cfg: Settings, path: Path, *, use: bool | None = None, force: bool = False
) -> dict[str, Any]:
    """Register an existing checkpoint file (after checking it loads) in the models registry.

    A checkpoint that carries validation figures (one `model train` wrote) is judged as
    training judges it: one whose figures show it learned nothing is registered but not
    made active unless `force`. "verdict" is None for a checkpoint without such figures
    (the demo model, a calibrated model: calibration proves itself on held-out tracks).
    """
    from app.db import repository
    from app.db.engine import open_store
    from classifier.model import load_checkpoint
    from classifier.verdict import judge_validation

    ckpt = load_checkpoint(path)
    metrics = dict(ckpt["metrics"])
    verdict = None
    if isinstance(metrics.get("validation"), dict):
        from classifier.model import OUTPUTS

        dims = [d for d in OUTPUTS if d in list(ckpt["trained_on"].get("dimensions", OUTPUTS))]
        verdict = judge_validation(metrics["validation"], dims)
        metrics["verdict"] = verdict
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            wanted = use if use is not None else repository.active_model(db, EEG_KIND) is None
            refused = _refused(wanted, verdict, force)
            row = repository.register_model(
                db,
                name=ckpt["model_name"],
                kind=EEG_KIND,
                path=str(Path(path).resolve()),
                description=str(ckpt["trained_on"].get("description", "")),
                metrics=metrics,
                activate=wanted and not refused,
            )
            return {
                "id": row.id,
                "name": row.name,
                "path": row.path,
                "active": bool(row.active),
                "verdict": None
                if verdict is None
                else {**verdict, "activation_refused": refused, "forced": force and wanted},
            }
    finally:
        store.close()


def list_models(cfg: Settings) -> list[dict[str, Any]]:
    from app.db import repository
    from app.db.engine import open_store

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            return [
                {
                    "id": m.id,
                    "name": m.name,
                    "kind": m.kind,
                    "active": bool(m.active),
                    "path": m.path,
                    "description": m.description,
                    "created_at": m.created_at.isoformat() if m.created_at else None,
                    "metrics": m.metrics,
                }
                for m in repository.list_models(db, kind=EEG_KIND)
            ]
    finally:
        store.close()


def use_model(cfg: Settings, model_id: int) -> dict[str, Any]:
    """Make `model_id` the active EEG model (after checking its file still loads)."""
    from app.db import repository
    from app.db.engine import open_store
    from app.errors import NotFoundError
    from classifier.model import load_checkpoint

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            models = {m.id: m for m in repository.list_models(db)}
            model = models.get(model_id)
            if model is None or model.kind != EEG_KIND:
                raise NotFoundError(
                    f"no EEG model with id {model_id}; `emotune model list` shows the ids"
                )
            load_checkpoint(model.path)
            repository.set_active_model(db, model_id)
            return {"id": model.id, "name": model.name, "path": model.path, "active": True}
    finally:
        store.close()
