"""``lexiflow batch COMMAND``: the command line, one command per batch-capable operation of the
task registry (``tasks.batch_commands()``), its options those the operation declares."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import tasks
from lexiflow.batch.jobs import Job, Refused, operation, validation_problem
from lexiflow.batch.run import DEFAULT_CHUNK, run
from tasks import Operation, Option

COMMANDS = tasks.batch_commands()
TASKS = tuple(COMMANDS)  # the batch commands: lemmatize, tokenize, embed, classify, translate


# ----- command line ---------------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input, output and execution")
    g.add_argument("--input", "-i", required=True, type=Path, help="JSONL (one {\"text\": ...} per line) or .txt")
    g.add_argument("--output", "-o", required=True, type=Path, help="JSONL output; progress in OUTPUT.progress")
    g.add_argument("--format", choices=["auto", "jsonl", "txt"], default="auto",
                   help="input format (auto: .txt is text, anything else JSONL)")
    g.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK,
                   help=f"texts per chunk: the unit of work, of writing and of resuming (default {DEFAULT_CHUNK})")
    g.add_argument("--workers", type=int, default=1, help="worker processes, or Ray actors (default 1: in-process)")
    g.add_argument("--threads", type=int, help="torch threads per worker (default: cores // workers)")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="run on Ray Data: a cluster address (auto, ray://host:10001) or 'local' for a private Ray")
    g.add_argument("--ray-object-store-mb", type=int, default=512, help="object store of a 'local' Ray (MB)")
    g.add_argument("--progress", choices=["never", "auto", "always"], default="auto",
                   help="progress bar on stderr (auto: on a terminal; otherwise a line every 10 s)")
    g.add_argument("--restart", action="store_true",
                   help="start over, discarding the output and its progress (needed when options or input changed)")



def _dest(o: Option) -> str:
    return o.kwargs.get("dest") or o.flags[0].lstrip("-").replace("-", "_")


def _add(p: argparse.ArgumentParser, ops: list[Operation]) -> None:
    """The options of a command's operations, each flag once, in argument groups where declared;
    a flagged operation (``embed --static``) adds its flag."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    seen: set[str] = set()
    for op in ops:
        b = op.batch
        assert b is not None
        if b.flag is not None:
            p.add_argument(b.flag, action="store_true", dest="flagged", help=b.help)
    for op in ops:
        for o in op.batch.options:  # type: ignore[union-attr]
            if o.flags[0] in seen:
                continue
            seen.add(o.flags[0])
            target = p
            if o.group is not None:
                target = groups.get(o.group) or groups.setdefault(o.group, p.add_argument_group(o.group))
            target.add_argument(*o.flags, **o.kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexiflow batch",
                                     description="Run one task over a JSONL or text corpus: streamed in chunks, "
                                                 "resumable, in parallel processes or on Ray Data.",
                                     epilog="Output lines: {\"id\", \"line\", <result fields>} or "
                                            "{\"id\", \"line\", \"error\": {...}}; see README, 'Batch corpora'.")
    sub = parser.add_subparsers(dest="task", required=True, metavar="TASK")
    for command, ops in COMMANDS.items():
        name = tasks.task(command).name
        aliases = [name] if name != command else []  # the task's own name works too (embed = embeddings)
        p = sub.add_parser(command, aliases=aliases, help=ops[0].batch.help)  # type: ignore[union-attr]
        p.set_defaults(command=command)
        _add(p, ops)
        _common(p)
    return parser


def job_from_args(args: argparse.Namespace) -> Job:
    """Validate the options with the operation's request model (the API's, with the same limits)
    and pin the model name (default resolved)."""
    from pydantic import ValidationError

    from service.settings import Settings

    command = args.command
    flagged = bool(getattr(args, "flagged", False))
    op = operation(command, flagged)
    assert op.batch is not None
    mine = {_dest(o) for o in op.batch.options}
    given = {k: getattr(args, k) for k in mine if getattr(args, k, None) is not None}
    others = [o for other in COMMANDS[command] if other is not op
              for o in other.batch.options  # type: ignore[union-attr]
              if _dest(o) not in mine and getattr(args, _dest(o), None) is not None]
    if others:
        flag = next(other.batch.flag for other in COMMANDS[command] if other.batch.flag)  # type: ignore[union-attr]
        flags = ", ".join(o.flags[0] for o in others)
        raise Refused(f"{flags}: only with{'out' if flagged else ''} {flag}")
    settings = Settings()
    try:
        request = op.request.model_validate({"text": "x", **given}, context={"limits": settings.limits})
    except ValidationError as exc:
        raise Refused(f"invalid option: {validation_problem(exc)['detail']}") from None
    # the options given (not the defaults): each line is validated with them, and a default never
    # contradicts another option (layer with mean_last, length_penalty with beam_size 1 ...)
    options = request.model_dump(exclude={"text", "text_pair", "words"}, exclude_unset=True)
    if op.batch.model_choice is not None:
        available = getattr(settings.load_plan(), op.batch.model_choice)
        if not available:
            raise Refused(f"no {op.name} model is configured (see LEXIFLOW_CLASSIFIERS / LEXIFLOW_TRANSLATORS)")
        name = options.get("model") or next(iter(available))
        if name not in available:
            raise Refused(f"model {name!r} is not available; available: {', '.join(available)}")
        options["model"] = name
    fmt = args.format if args.format != "auto" else ("txt" if args.input.suffix.lower() == ".txt" else "jsonl")
    return Job(task=command, options=options, input_format=fmt, static=flagged)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.chunk_size < 1 or args.workers < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--chunk-size, --workers and --threads must be at least 1")
    label = f"lexiflow batch {args.task}"
    try:
        job = job_from_args(args)
        result = run(job, args.input, args.output, chunk_size=args.chunk_size, workers=args.workers,
                     threads=args.threads, ray_address=args.ray_address, ray_object_store_mb=args.ray_object_store_mb,
                     progress=args.progress, restart=args.restart)
    except Refused as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{label}: interrupted; finished chunks are kept: rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a model that fails to load, a worker killed by the OS, an unreadable input ...
        print(f"{label}: failed: {type(exc).__name__}: {exc}\nfinished chunks are kept: fix the cause and rerun "
              "the same command to resume", file=sys.stderr)
        return 1
    rate = result.texts / result.seconds if result.seconds > 0 else 0.0
    earlier = result.total_texts - result.texts
    print(f"{label}: {result.texts} texts, {result.errors} errors, {result.seconds:.1f} s, {rate:.1f} texts/s"
          + (f" ({earlier} texts done by earlier runs)" if earlier else "") + f" -> {args.output}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
