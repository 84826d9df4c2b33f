"""lexiflow: serve the REST API, train and evaluate its models, run batch jobs.

``serve`` runs the API with uvicorn (settings come from ``LEXIFLOW_*`` environment variables;
the flags here override host, port, workers and log level). ``train`` and ``eval`` hand their
arguments to the training and evaluation modules (``training/``, ``evals/``); see
``lexiflow train TASK --help``. ``batch`` runs one task over a JSONL or text corpus, resumably
(``lexiflow/batch/``; see ``lexiflow batch TASK --help``). ``serve-ray`` runs the same app on
Ray Serve (``service/ray_serve.py``, needs ``lexiflow[ray]``).

Help texts are plain text (no reST markup): ``--help`` prints them as they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

def _offline_entries(task: str) -> tuple[object | None, object | None]:
    """(train entry, eval entry) of an offline task, imported only when asked for (torch, gensim)."""
    if task == "classifier":
        from training import classifier
        return classifier.main, classifier.eval_main
    if task == "seq2seq":
        from training import seq2seq
        return seq2seq.main, seq2seq.eval_main
    if task == "word2vec":
        from evals import word_vectors
        from training import word2vec
        return word2vec.main, word_vectors.eval_main
    if task == "senses":
        from evals import senses
        return None, senses.eval_main
    if task == "encoder":
        from evals import encoder_parity
        return None, encoder_parity.main
    raise KeyError(task)


OFFLINE_TASKS = ("classifier", "seq2seq", "senses", "word2vec", "encoder")  # senses, encoder: only `eval`
# One line per task for `lexiflow train --help` / `lexiflow eval --help` (each task's own parser has the rest).
SUMMARIES = {
    "train": {
        "classifier": "a Kim (2014) CNN sentence classifier (TREC questions, MR movie reviews, or a "
                      ".csv/.tsv/.jsonl file)",
        "seq2seq": "an LSTM encoder-decoder with attention (English -> Spanish on Tatoeba pairs)",
        "word2vec": "word2vec (gensim) on WikiText-2 or a text file, saved as a versioned artifact",
    },
    "eval": {
        "classifier": "a CNN classifier artifact on the held-out test split it was trained for",
        "seq2seq": "corpus BLEU and chrF (sacrebleu) of a translation artifact on its held-out test set",
        "senses": "static vs contextual vectors on the WordNet WiC-style benchmark, and the calibration "
                  "the service uses for same-sense verdicts",
        "word2vec": "static vectors on analogies, WordSim-353 and SimLex-999 (test files shipped in gensim)",
        "encoder": "the ONNX Runtime encoder against PyTorch on 1,000 real sentences (cosine per output)",
    },
}


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("lexiflow")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+local"


# the serving task's name works too: `lexiflow train classify` trains the classifier `classify` serves
OFFLINE_ALIASES = {"classify": "classifier"}


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.settings import Settings

    for key in ("host", "port", "workers", "log_level"):
        value = getattr(args, key)
        if value is not None:
            os.environ[f"LEXIFLOW_{key.upper()}"] = str(value)
    settings = Settings()  # validate everything before any worker starts
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=20,
    )
    return 0


def _serve_ray(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``serve-ray``: the same app on Ray Serve (service/ray_serve.py), until interrupted."""
    if args.replicas is not None and (args.min_replicas is not None or args.max_replicas is not None):
        parser.error("serve-ray: give --replicas N (fixed) or --min-replicas/--max-replicas (autoscaling), not both")
    from service.ray_serve import RayNotInstalled, ServeOptions, require_ray, run
    from service.settings import Settings

    try:
        require_ray()
    except RayNotInstalled as exc:
        print(f"lexiflow: {exc}", file=sys.stderr)
        return 2
    if args.log_level is not None:
        os.environ["LEXIFLOW_LOG_LEVEL"] = args.log_level
    settings = Settings()  # validate everything before Ray starts
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    given = {k: getattr(args, k) for k in ("min_replicas", "max_replicas", "target_ongoing_requests",
                                           "max_ongoing_requests", "max_queued_requests", "num_cpus",
                                           "torch_threads") if getattr(args, k) is not None}
    try:
        options = ServeOptions(replicas=args.replicas or 1, **given)
    except ValueError as exc:
        parser.error(f"serve-ray: {exc}")
    return run(settings, options, host=args.host or settings.host, port=args.port or settings.port,
               address=args.address, num_cpus=args.ray_cpus)


def _dispatch(kind: str, args: argparse.Namespace, rest: list[str]) -> int:
    args.task = OFFLINE_ALIASES.get(args.task, args.task)
    try:
        train_entry, eval_entry = _offline_entries(args.task)
    except ImportError as exc:
        print(f"lexiflow: {args.task} {kind} is not available in this build ({exc})", file=sys.stderr)
        return 2
    entry = train_entry if kind == "train" else eval_entry
    if entry is None:
        raise SystemExit(f"lexiflow: there is no `{kind} {args.task}`")
    return int(entry(rest) or 0)  # type: ignore[operator]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexiflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the REST API")
    serve.add_argument("--host", help="bind address (LEXIFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (LEXIFLOW_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (LEXIFLOW_WORKERS, default 1)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=lambda a, rest: _serve(a))

    serve_ray = sub.add_parser("serve-ray", help="run the same REST API on Ray Serve (needs lexiflow[ray])")
    serve_ray.add_argument("--host", help="proxy bind address (LEXIFLOW_HOST, default 127.0.0.1)")
    serve_ray.add_argument("--port", type=int, help="proxy port (LEXIFLOW_PORT, default 8000)")
    serve_ray.add_argument("--replicas", type=int, help="fixed number of replicas (default 1)")
    serve_ray.add_argument("--min-replicas", type=int, help="autoscaling: fewest replicas (default 1)")
    serve_ray.add_argument("--max-replicas", type=int, help="autoscaling: most replicas (default: --min-replicas)")
    serve_ray.add_argument("--target-ongoing-requests", type=float,
                           help="autoscaling: ongoing requests per replica to aim for (default 4)")
    serve_ray.add_argument("--max-ongoing-requests", type=int,
                           help="requests one replica works on at once (default 32)")
    serve_ray.add_argument("--max-queued-requests", type=int,
                           help="requests waiting in the proxy before 429 + Retry-After (default 256)")
    serve_ray.add_argument("--num-cpus", type=float, help="CPUs reserved per replica (default 1)")
    serve_ray.add_argument("--torch-threads", type=int, help="torch threads per replica (default: --num-cpus)")
    serve_ray.add_argument("--address",
                           help="a running Ray cluster (e.g. auto, ray://host:10001); default: start Ray here")
    serve_ray.add_argument("--ray-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    serve_ray.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve_ray.set_defaults(func=lambda a, rest, p=serve_ray: _serve_ray(a, p))

    build = sub.add_parser("build-encoder", help="export the encoder to ONNX into the cache (LEXIFLOW_CACHE_DIR) "
                                                 "once; the service otherwise does it at its first start")
    build.set_defaults(func=lambda a, rest: _build_encoder())

    for kind in ("train", "eval"):
        p = sub.add_parser(kind, help=f"{kind} a model (options after the task: lexiflow {kind} TASK --help)",
                           description=f"{'Train' if kind == 'train' else 'Evaluate'} one of lexiflow's models. "
                                       f"Everything after TASK goes to that task's own options: "
                                       f"lexiflow {kind} TASK --help lists them.")
        tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
        for task, summary in SUMMARIES[kind].items():
            aliases = [a for a, t in OFFLINE_ALIASES.items() if t == task]
            tasks.add_parser(task, aliases=aliases, help=summary, add_help=False)  # main() hands TASK's args over
        p.set_defaults(func=lambda a, rest, kind=kind: _dispatch(kind, a, rest))

    # Everything after `batch` belongs to lexiflow.batch's own parser (main() hands it over).
    batch = sub.add_parser("batch", help="run lemmatize, tokenize, embed, classify or translate over a JSONL/text "
                                         "corpus, resumably (lexiflow batch TASK --help)", add_help=False)
    batch.set_defaults(func=lambda a, rest: _batch(rest))
    return parser


def _build_encoder() -> int:
    import json

    from pipelines import build_onnx_encoder
    from service.settings import Settings

    settings = Settings()
    path = build_onnx_encoder(settings.encoder_path, settings.cache_dir)
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    print(f"{path} sha256 {manifest['sha256']} ({manifest['bytes'] / 1e6:.1f} MB)")
    reference = settings.artifacts_dir / "encoder-onnx" / "build.json"
    if settings.encoder_path is None and reference.is_file():
        ref = json.loads(reference.read_text(encoding="utf-8"))
        same = ref["sha256"] == manifest["sha256"]
        print(f"{'matches' if same else 'differs from'} the recorded build ({reference}: {ref['sha256']})"
              + ("" if same or ref.get("versions") == manifest.get("versions") else
                 f"; made with {ref.get('versions')}, this one with {manifest.get('versions')}"))
    return 0


def _batch(rest: list[str]) -> int:
    from lexiflow.batch import main as batch_main

    return batch_main(rest)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    offline = (*OFFLINE_TASKS, *OFFLINE_ALIASES)
    if len(args_list) >= 2 and args_list[0] in ("train", "eval") and args_list[1] in offline:
        # everything after the task (``--help`` included) belongs to the task's own parser
        return _dispatch(args_list[0], argparse.Namespace(task=args_list[1]), args_list[2:])
    if args_list and args_list[0] == "batch":
        return _batch(args_list[1:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in ("serve", "serve-ray") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args, rest)


if __name__ == "__main__":
    sys.exit(main())
