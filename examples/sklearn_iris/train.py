"""Train an Iris classifier and pack it as a SageMaker scikit-learn model.tar.gz, with iris.csv and
iris.jsonl to transform: `python examples/sklearn_iris/train.py --out DIR`."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
SEED = 0


def train() -> tuple[LogisticRegression, np.ndarray]:
    """The fitted classifier and the 150 feature rows it was trained on (load_iris ships inside
    scikit-learn: nothing is downloaded)."""
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000, random_state=SEED)
    model.fit(features, labels)
    return model, np.asarray(features)


def write_model_dir(model: LogisticRegression, model_dir: Path) -> None:
    """What SageMaker unpacks to /opt/ml/model: model.joblib and code/inference.py."""
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    shutil.copyfile(HERE / "code" / "inference.py", model_dir / "code" / "inference.py")


def pack(model_dir: Path, archive: Path) -> None:
    """model.tar.gz with fixed order, owners and times, so the same model gives the same bytes."""
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(model_dir.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(model_dir).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_file():
                tar.addfile(info, io.BytesIO(path.read_bytes()))
            else:
                tar.addfile(info)


def write_inputs(features: np.ndarray, out: Path) -> None:
    """The same 150 rows as headerless CSV and as JSON Lines {"features": [...]}."""
    rows = features.tolist()
    (out / "iris.csv").write_text("".join(",".join(map(str, row)) + "\n" for row in rows))
    (out / "iris.jsonl").write_text("".join(json.dumps({"features": row}) + "\n" for row in rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model, features = train()
    with tempfile.TemporaryDirectory() as scratch:
        write_model_dir(model, Path(scratch))
        pack(Path(scratch), out / "model.tar.gz")
    write_inputs(features, out)
    print(f"wrote {out / 'model.tar.gz'}, {out / 'iris.csv'} and {out / 'iris.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
