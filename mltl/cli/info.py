"""`mltl info`: versions, device, plugins and tokenizers."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(json_out: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
        """Show versions, compute device, installed plugins and available tokenizers."""
        import json

        from mltl.sysinfo import collect

        data = collect()
        if json_out:
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        from rich.table import Table

        from mltl.log import stdout_console

        table = Table(title="mltl", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("value")
        for key in ("mltl", "python"):
            table.add_row(key, data[key])
        for pkg, ver in data["packages"].items():
            table.add_row(pkg, ver or "[red]not installed[/red]")
        table.add_row("device", data["device"])
        th = data["threads"]
        table.add_row("CPU threads", f"{th['torch_threads']} — {th['threads_reason']}")
        table.add_row("OpenMP wait", f"{th['wait']} — {th['wait_reason']}")
        table.add_row("plugins", ", ".join(data["plugins"]) or "(none)")
        tok = data["tokenizers"]
        table.add_row("tokenizers", ", ".join(k for k, v in tok.items() if v is True))
        missing = [f"{k} ({v})" for k, v in tok.items() if v is not True]
        if missing:
            table.add_row("unavailable", "; ".join(missing))
        table.add_row("spaCy languages", str(len(data["languages"])))
        stdout_console().print(table)
