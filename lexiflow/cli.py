"""``lexiflow serve | train | eval``.

``serve`` runs the API with uvicorn (settings come from ``LEXIFLOW_*`` environment variables;
the flags here override host, port, workers and log level). ``train`` and ``eval`` hand their
arguments to the training and evaluation modules (``models/``, ``pipelines/``); see
``lexiflow train TASK --help``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

TASKS: dict[str, tuple[str, str | None, str | None]] = {
    # task: (module, train entry, eval entry); None where the task has no such step
    "classifier": ("models.train_classifier", "main", "eval_main"),
    "seq2seq": ("models.train_seq2seq", "main", "eval_main"),
    "word2vec": ("pipelines.embeddings.word2vec", "main", "eval_main"),
    "senses": ("pipelines.eval_senses", None, "eval_main"),
}


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
        timeout_graceful_shutdown=20,
    )
    return 0


def _dispatch(kind: str, args: argparse.Namespace, rest: list[str]) -> int:
    module_name, train_entry, eval_entry = TASKS[args.task]
    if (train_entry if kind == "train" else eval_entry) is None:
        raise SystemExit(f"lexiflow: there is no `{kind} {args.task}`")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"lexiflow: {args.task} {kind} is not available in this build ({exc})", file=sys.stderr)
        return 2
    entry = getattr(module, train_entry if kind == "train" else eval_entry)  # type: ignore[arg-type]
    return int(entry(rest) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexiflow", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the REST API")
    serve.add_argument("--host", help="bind address (LEXIFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (LEXIFLOW_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (LEXIFLOW_WORKERS, default 1)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=lambda a, rest: _serve(a))

    for kind in ("train", "eval"):
        p = sub.add_parser(kind, help=f"{kind} a model (options after the task: `lexiflow {kind} TASK --help`)",
                           add_help=True)
        index = 1 if kind == "train" else 2
        p.add_argument("task", choices=sorted(t for t, spec in TASKS.items() if spec[index] is not None))
        p.set_defaults(func=lambda a, rest, kind=kind: _dispatch(kind, a, rest))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if len(args_list) >= 2 and args_list[0] in ("train", "eval") and args_list[1] in TASKS:
        # everything after the task (``--help`` included) belongs to the task's own parser
        return _dispatch(args_list[0], argparse.Namespace(task=args_list[1]), args_list[2:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args, rest)


if __name__ == "__main__":
    sys.exit(main())
