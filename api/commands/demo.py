"""`phenowatch demo`: what `./run demo` runs on a fresh machine.

Simulates a small cohort into ./var/demo, replays it into the SQLite database the server then
uses, creates a care team, a coordinator and ready tokens, prints where to look and what to
paste, and serves the API (``--no-serve`` stops after the setup).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def demo_command(
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo (emptied first).")
    ] = Path("var/demo"),
    patients: Annotated[int, typer.Option("--patients", min=1)] = 24,
    days: Annotated[int, typer.Option("--days", min=30)] = 180,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after setup.")
    ] = True,
) -> None:
    """Simulate and replay a small cohort, create a care team and tokens, then serve the API."""
    from api.replay.demo import NotADemoFolder, env_lines, setup_demo  # only when it runs
    from api.web.sessions import sign_in_url

    started = time.perf_counter()
    typer.echo(f"simulating {patients} patients x {days} days and replaying them into {folder} ...")
    try:
        setup = setup_demo(folder.resolve(), patients_n=patients, days=days, seed=seed)
    except NotADemoFolder as error:
        typer.echo(f"error: {error}; choose another --dir", err=True)
        raise typer.Exit(1) from None
    url = f"http://{host}:{port}"
    env_file = setup.folder / "env.sh"
    lines = env_lines(setup, url)
    env_file.write_text("\n".join(lines) + "\n")
    typer.echo(f"replayed {setup.replay.summary()}")
    typer.echo(f"set up in {time.perf_counter() - started:.0f} s\n")
    typer.echo(f"  coordinator inbox:   {url}/inbox")
    typer.echo(f"  one-time sign-in:    {sign_in_url(url, setup.sign_in_link)}  (60 minutes)")
    typer.echo(f"  API docs (OpenAPI):  {url}/docs")
    typer.echo(f"  replay report:       {setup.report.as_uri()}")
    typer.echo(f"  coordinator token:   {setup.coordinator_token}")
    typer.echo(f"  patient {setup.patient_id} token: {setup.patient_token}")
    typer.echo(f"  every patient's token: {setup.tokens_file}\n")
    typer.echo(f"In another shell, `source {env_file}` and try the README's examples, e.g.")
    typer.echo(
        '  curl -s -H "Authorization: Bearer $COORDINATOR_TOKEN" "$PHENOWATCH_URL/v1/alerts"\n'
    )
    if not serve:
        return
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    settings = Settings.from_env(database_url=setup.database_url, secret_keys=setup.secret_key)
    typer.echo(f"serving on {url} (Ctrl-C to stop)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
