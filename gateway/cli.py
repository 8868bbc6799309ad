"""The ``omnisense`` command: serve, policy check, logs, stats, quality, providers and one command per task."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from adapters.base import CannotServe, Stoppable
from adapters.kit import parse_config
from gateway.jobs import cli_commands as jobs_cli
from gateway.logs.settings import LogSettings


def _serve(args: argparse.Namespace) -> int:
    if args.config:
        os.environ["OMNISENSE_CONFIG"] = args.config
    if args.policy:
        os.environ["OMNISENSE_POLICY"] = args.policy
    from gateway.server.config import load_config

    config = load_config(os.environ.get("OMNISENSE_CONFIG"))  # fail early, in the parent, on a bad config

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.workers > 1 and not config.redis_url:
        logging.getLogger("omnisense.server").warning(
            "%d workers without state.redis in the config: each worker keeps its own circuits, latency, "
            "budgets and rate limits (name a Redis server to share them)",
            args.workers,
        )
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown: turn them into SystemExit
    # so that the `finally` below stops the model server (its reaper would also stop it
    # when this process vanishes, crash or SIGKILL included).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    try:
        prepared = _before_workers(config.policy)
    except CannotServe as exc:
        print(f"omnisense serve: {exc}", file=sys.stderr)
        return 2
    metrics_dir = _share_metrics(args.workers)

    def clean_up() -> None:
        for done in prepared:
            done.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)

    try:
        _run_uvicorn(args)
    except _Stopped as stopped:
        clean_up()
        signal.signal(stopped.signum, signal.SIG_DFL)
        signal.raise_signal(stopped.signum)  # the exit status still says which signal stopped us
    finally:
        clean_up()
    return 0


def _share_metrics(workers: int) -> str | None:
    """With several workers, a directory where each writes its counters for the others'
    scrapes (``gateway.metric_share``); removed when serve stops."""
    if workers < 2:
        return None
    from gateway.metric_share import ENV

    directory = tempfile.mkdtemp(prefix="omnisense-metrics-")
    os.environ[ENV] = directory
    return directory


class _Stopped(SystemExit):
    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def _exit_on_signal(sig: int, _frame: object) -> None:
    raise _Stopped(sig)


def _before_workers(policy_ref: str) -> list[Stoppable]:
    """Each provider kind's work before the workers start (``adapters.base.PreparesWorkers``:
    ``local`` without a URL starts its model server here, once); what to stop when serve stops."""
    from adapters.base import PreparesWorkers
    from adapters.registry import UnknownKind, provider_class
    from policies.loader import load_policy

    kinds: dict[str, dict[str, Any]] = {}
    for name, block in load_policy(policy_ref).policy.providers.items():
        kinds.setdefault(block["kind"], {})[name] = block
    prepared: list[Stoppable] = []
    try:
        for kind, blocks in kinds.items():
            try:
                cls = provider_class(kind)
            except UnknownKind:
                continue  # each worker says so, as it builds its providers
            if isinstance(cls, PreparesWorkers):
                configs = {name: parse_config(cls.config_type, name, block) for name, block in blocks.items()}
                stop = cls.before_workers(configs)
                if stop is not None:
                    prepared.append(stop)
    except BaseException:
        for done in prepared:  # what the kinds before started
            done.stop()
        raise
    return prepared


def _run_uvicorn(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "gateway.asgi:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,  # the request log is the access log
        proxy_headers=False,  # the gateway reads no client address: X-Forwarded-* need not be parsed per request
        server_header=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
    )


def _policy_check(args: argparse.Namespace) -> int:
    from policies.loader import PolicyError, load_policy

    failed = False
    for path in args.files:
        try:
            loaded = load_policy(path)
        except PolicyError as exc:
            failed = True
            print(f"{exc.source}: {len(exc.problems)} problem(s)")
            for problem in exc.problems:
                print(f"  {problem}")
        else:
            routes = ", ".join(loaded.policy.routes) or "none"
            print(f"{loaded.source}: ok ({len(loaded.policy.providers)} providers; routes: {routes})")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="omnisense", description="One API for vision, text and speech.")
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--policy", help="policy file or preset name (default: the 'local' preset)")
    serve.add_argument("--config", help="gateway config file (keys, limits, logs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=_serve)

    policy = sub.add_parser("policy", help="policy file tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate policy files; exits 1 on any problem")
    check.add_argument("files", nargs="+")
    check.set_defaults(func=_policy_check)

    from gateway.logs.cli_commands import add_parsers
    from gateway.task_cli import add_parsers as add_task_parsers

    add_parsers(sub, _log_settings)  # logs, stats
    add_task_parsers(sub)  # labels, sentiment, translate, say, ... (one per task) and providers
    from gateway.eval_cli import add_parsers as add_eval_parsers

    add_eval_parsers(sub, _log_settings)  # eval, compare
    from gateway.quality.cli_commands import add_parsers as add_quality_parsers

    add_quality_parsers(sub, _log_settings)  # quality
    jobs_cli.add_parsers(sub)  # jobs submit | status | wait | cancel | list
    from gateway.mcp.cli import add_parser as add_mcp_parser

    add_mcp_parser(sub)  # mcp: the tasks as MCP tools
    return root


def _log_settings(config_path: str | None) -> LogSettings:
    from gateway.server.config import load_config

    return load_config(config_path).logs


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
