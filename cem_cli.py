"""``cem``: the project's command line.

    cem demo                  run the main job on the embedded defaults (simulator + DuckDB in ./data)
    cem ui                    the Dagster UI on 127.0.0.1 with the simulator beside it
    cem sentiment score ...   score a CSV/Parquet file's texts (see `cem sentiment score --help`)
    cem privacy forget ...    erase people on request; cem privacy rotate-key: a new CEM_PII_KEY (`cem privacy -h`)

This module wires the domain library (cem_pipeline) to Dagster; it holds no domain logic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cem_pipeline import config

REPO = Path(__file__).resolve().parent
DEMO_SEED = 7


def _demo_environment(data_dir: Path) -> dict[str, str]:
    """Embedded defaults: DuckDB under ./data, a Dagster home beside it, demo mode."""
    data_dir.mkdir(parents=True, exist_ok=True)
    dagster_home = data_dir / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    template = REPO / "dagster.yaml"
    if template.exists() and not (dagster_home / "dagster.yaml").exists():
        shutil.copy(template, dagster_home / "dagster.yaml")
    env = {  # passed on to the in-process run and to `dagster dev`
        "CEM_ENV": config.env_name(),
        "CEM_DATA_DIR": str(data_dir),
        "CEM_WAREHOUSE_PATH": str(config.warehouse_path_setting() or data_dir / "cem.duckdb"),
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME", str(dagster_home.resolve())),
    }
    os.environ.update(env)
    return env


def _start_simulator(data_dir: Path, customers: int, port: int = 0, advance: bool = True):
    """The simulator in a thread. Each demo run moves its clock one hour on, so a second run has
    new data to pick up incrementally."""
    from cem_pipeline.simulator.server import SimulatorServer

    state_file = data_dir / "simulator_state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {"runs": 0}
    sim = SimulatorServer(seed=DEMO_SEED, customers=customers, port=port).start()
    if state["runs"]:
        sim.advance(hours=state["runs"])
    if advance:
        state["runs"] += 1
        state_file.write_text(json.dumps(state))
    os.environ["CEM_SOURCE_BASE_URL"] = sim.url
    os.environ["CEM_SOURCE_API_KEY"] = sim.api_key
    return sim


def cmd_demo(args) -> int:
    data_dir = Path(args.data_dir).resolve()
    env = _demo_environment(data_dir)
    started = time.perf_counter()
    print(f"Starting the source simulator (seed {DEMO_SEED}, {args.customers:,} customers)...", flush=True)
    sim = _start_simulator(data_dir, args.customers)
    try:
        import dagster as dg

        from cem_pipeline.report import demo_report
        from definitions import defs

        print(f"Simulator on {sim.url}. Materializing the whole graph in process...", flush=True)
        _announce_sentiment_model()
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def("daily_cx_rebuild").execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}})
        print(demo_report(Path(env["CEM_WAREHOUSE_PATH"]), elapsed_s=time.perf_counter() - started,
                          run_id=result.run_id, success=result.success))
        return 0 if result.success else 1
    finally:
        sim.stop()


def _announce_sentiment_model() -> None:
    """The daily job includes the ml group: say when its first run has to train the demo model."""
    from cem_pipeline.nlp.registry import current_model_dir, latest_model_dir

    if config.sentiment_model_dir() is not None:
        print(f"Sentiment: scoring with CEM_SENTIMENT_MODEL={config.sentiment_model_dir()}.", flush=True)
    elif current_model_dir() is None and latest_model_dir() is None:
        print("Sentiment: first run, so the demo sentiment model is built now (a few minutes on CPU, offline); "
              "later runs reuse it.", flush=True)
    else:
        print("Sentiment: reusing the built demo model (rebuilt only when its version changes).", flush=True)


def cmd_ui(args) -> int:
    data_dir = Path(args.data_dir).resolve()
    env = _demo_environment(data_dir)
    sim = _start_simulator(data_dir, args.customers, port=args.simulator_port, advance=False)
    print(f"Source simulator on {sim.url}; Dagster UI on http://127.0.0.1:{args.port}", flush=True)
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster) if dagster.exists() else "dagster", "dev", "-w", str(REPO / "workspace.yaml"),
               "-h", "127.0.0.1", "-p", str(args.port)]
    try:
        return subprocess.call(command, cwd=REPO, env={**os.environ, **env,
                                                       "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    except KeyboardInterrupt:
        return 0
    finally:
        sim.stop()


def cmd_sentiment(argv: list[str]) -> int:
    from cem_pipeline.nlp.cli import main as sentiment_main

    return sentiment_main(argv)


def cmd_privacy(argv: list[str]) -> int:
    from cem_pipeline.privacy.cli import main as privacy_main

    return privacy_main(argv)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _data_dir(text: str) -> str:
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; name a directory (it is created if missing)")
    return text


def main(argv: list[str] | None = None) -> int:
    """The ``cem`` command. A command-line or ``CEM_*`` setting mistake prints one line and exits with 2."""
    try:
        return _main(argv)
    except config.ConfigError as e:
        print(f"cem: {e}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sentiment"]:
        return cmd_sentiment(argv[1:])
    if argv[:1] == ["privacy"]:
        return cmd_privacy(argv[1:])
    parser = argparse.ArgumentParser(prog="cem", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on the embedded defaults")
    demo.add_argument("--data-dir", type=_data_dir, default=str(config.data_dir_setting()))
    demo.add_argument("--customers", type=_positive_int, default=config.demo_customers())
    demo.add_argument("--log-level", default="WARNING", help="Dagster console log level (INFO shows every step)")
    ui = sub.add_parser("ui", help="start the Dagster UI with the simulator beside it")
    ui.add_argument("--data-dir", type=_data_dir, default=str(config.data_dir_setting()))
    ui.add_argument("--customers", type=_positive_int, default=config.demo_customers())
    ui.add_argument("--port", type=_positive_int, default=3000)
    ui.add_argument("--simulator-port", type=_positive_int, default=8765)
    sub.add_parser("sentiment", help="sentiment tools (cem sentiment score --help)")
    sub.add_parser("privacy", help="erasure requests and key rotation (cem privacy forget --help)")
    args = parser.parse_args(argv)
    return {"demo": cmd_demo, "ui": cmd_ui}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
