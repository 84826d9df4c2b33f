"""The contextual encoder on ONNX Runtime: export, optional int8 quantisation, a cached build, the session.

The exported graph has one output, ``hidden_states`` (L+1, B, T, H): the embedding layer and every
transformer layer, exactly what ``BertModel(..., output_hidden_states=True)`` returns, so pooling,
layer choice and word alignment stay in ``ContextualEncoder`` and are identical for both backends.

The model file is built from the installed encoder package (no hub): ``build(folder, cache_dir)``
exports it once into ``<cache_dir>/onnx-encoder/<key>/`` (the key hashes the weights, the
exporter's versions and the build options), writes ``manifest.json`` with its SHA-256, and later
calls reuse it. Workers starting together take a file lock, so one exports and the others wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

import numpy as np

from pipelines.errors import ResourceError

log = logging.getLogger("lexiflow.pipelines")

FORMAT = "lexiflow-onnx-encoder-v1"
OUTPUT = "hidden_states"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
Variant = Literal["fp32", "int8"]
VARIANTS: tuple[Variant, ...] = ("fp32", "int8")


@dataclass(frozen=True)
class QuantConfig:
    """Dynamic int8 quantisation (weights per channel, activations per batch) of the MatMul nodes,
    except the nodes whose name contains one of ``exclude`` (left in float)."""

    per_channel: bool = True
    reduce_range: bool = False
    op_types: tuple[str, ...] = ("MatMul",)
    exclude: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"per_channel": self.per_channel, "reduce_range": self.reduce_range, "op_types": list(self.op_types),
                "exclude": list(self.exclude)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise ResourceError(f"{folder}: no model.safetensors or pytorch_model.bin to export to ONNX")


def build_key(folder: Path, variant: Variant, quant: QuantConfig | None = None) -> dict[str, object]:
    """Everything the built file depends on; its hash names the cache folder."""
    return {"format": FORMAT, "opset": OPSET, "variant": variant,
            "weights_sha256": _sha256(weights_file(folder)),
            "config_sha256": _sha256(folder / "config.json"), "versions": _versions(),
            "quantization": (quant or QuantConfig()).as_dict() if variant == "int8" else None}


class _AllHiddenStates:  # wraps a BertModel for export; built lazily so importing this module needs no torch
    @staticmethod
    def wrap(model):  # noqa: ANN001, ANN205
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                                 output_hidden_states=True)
                return torch.stack(out.hidden_states, dim=0)  # (L+1, B, T, H)

        return Wrapped().eval()


def export(folder: Path, out: Path) -> None:
    """fp32 ONNX of a Hugging Face BERT folder with every hidden state as one output (deterministic:
    the same weights and versions give the same bytes)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    wrapped = _AllHiddenStates.wrap(model.eval())
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2023, 102, 0]], dtype=torch.long)  # (B, T)
    ids = ids % model.config.vocab_size  # any ids the embedding has: the graph does not depend on them
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "token_type_ids": {0: "batch", 1: "tokens"}, OUTPUT: {1: "batch", 2: "tokens"}}
    # The TorchScript exporter (torch 2.13 warns it is legacy) keeps every layer's output nameable and
    # is deterministic; with torch pinned, the same weights give the same bytes (tested).
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, (ids, mask, types), str(out), input_names=list(INPUTS), output_names=[OUTPUT],
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)


def quantize(fp32: Path, out: Path, quant: QuantConfig) -> list[str]:
    """Dynamic int8 quantisation; returns the names of the nodes left in float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32)).graph
    excluded = [n.name for n in graph.node if n.op_type in quant.op_types and any(x in n.name for x in quant.exclude)]
    quantize_dynamic(str(fp32), str(out), per_channel=quant.per_channel, reduce_range=quant.reduce_range,
                     weight_type=QuantType.QInt8, op_types_to_quantize=list(quant.op_types),
                     nodes_to_exclude=excluded)
    return excluded


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(folder: str | Path, cache_dir: str | Path, variant: Variant = "fp32",
          quant: QuantConfig | None = None) -> Path:
    """The ONNX file for the encoder in ``folder``, exported (and quantised) on first use into the cache."""
    folder, cache_dir = Path(folder), Path(cache_dir)
    key = build_key(folder, variant, quant)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    target = cache_dir / "onnx-encoder" / f"{folder.name}-{variant}-{digest}"
    model_path = target / "model.onnx"
    if (target / "manifest.json").is_file() and model_path.is_file():  # built before (a read-only cache works)
        return model_path
    with _locked(cache_dir / "onnx-encoder" / ".lock"):
        if (target / "manifest.json").is_file() and model_path.is_file():
            return model_path
        t0 = time.perf_counter()
        log.info("building the ONNX encoder (%s) from %s into %s (once; later starts reuse it)", variant, folder, target)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            export(folder, tmp / "fp32.onnx")
            manifest: dict[str, object] = {**key, "source": str(folder)}
            if variant == "int8":
                manifest["excluded_nodes"] = quantize(tmp / "fp32.onnx", tmp / "model.onnx", quant or QuantConfig())
                (tmp / "fp32.onnx").unlink()
            else:
                (tmp / "fp32.onnx").rename(tmp / "model.onnx")
            manifest["sha256"] = _sha256(tmp / "model.onnx")
            manifest["bytes"] = (tmp / "model.onnx").stat().st_size
            manifest["build_seconds"] = round(time.perf_counter() - t0, 1)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("ONNX encoder built in %.1f s: %s (sha256 %s)", time.perf_counter() - t0, model_path,
                 manifest["sha256"])
    return model_path


def read_manifest(model_path: Path) -> dict[str, object]:
    path = model_path.parent / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError as exc:
        raise ResourceError(f"{path}: not valid JSON ({exc})") from exc


class OnnxRunner:
    """An ONNX Runtime session returning (L+1, B, T, H) float32 for int64 (B, T) inputs.

    Threads: ``threads`` intra-op threads that sleep when idle (spinning threads steal the CPU from
    the request threads and from any neighbour process), one inter-op thread, sequential execution.
    ``arena``: ONNX Runtime's CPU memory arena, which keeps the largest buffers any batch shape has
    needed for the life of the process; off by default (buffers go back to malloc after each run,
    at no measured cost in speed; how much memory that saves depends on the batch shapes served:
    BENCHMARKS.md).
    """

    def __init__(self, path: str | Path, *, threads: int = 1, arena: bool = False) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise ResourceError(f"{path}: no ONNX model (build it with `lexiflow build-encoder`)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        opts.log_severity_level = 3
        opts.enable_cpu_mem_arena = arena
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ResourceError(f"{path}: ONNX Runtime cannot load it ({exc})") from exc
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(INPUTS) or [o.name for o in self.session.get_outputs()] != [OUTPUT]:
            raise ResourceError(f"{path}: inputs {names} / outputs {[o.name for o in self.session.get_outputs()]}, "
                                f"expected {list(INPUTS)} / [{OUTPUT!r}] (exported by lexiflow?)")
        self.path = path
        self.threads = threads
        self.arena = arena
        self.manifest = read_manifest(path)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        (hidden,) = self.session.run([OUTPUT], {"input_ids": input_ids, "attention_mask": attention_mask,
                                                "token_type_ids": token_type_ids})
        return hidden  # (L+1, B, T, H)

    def info(self) -> dict[str, object]:
        return {"backend": "onnxruntime", "onnxruntime": metadata.version("onnxruntime"),
                "variant": self.manifest.get("variant", "unknown"), "onnx_sha256": self.manifest.get("sha256"),
                "intra_op_threads": self.threads, "memory_arena": self.arena}
