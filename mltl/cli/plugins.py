"""`mltl plugins`: installed plugins, what each registers, version, origin and status."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    def plugins(
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
        builtins: bool = typer.Option(
            True, "--builtins/--no-builtins", help="Also list mltl's own tasks, heads and encoders."
        ),
    ) -> None:
        """List plugins (entry points of group `mltl.plugins`): what each registers, its package, version
        and status (ok, error, api-mismatch). Use a registered name with `mltl train --task/--head/--encoder`.
        """
        import json

        from mltl import registry

        items = [p for p in registry.plugins() if builtins or not p.builtin]
        if json_out:
            data = {
                "api_version": registry.API_VERSION,
                "plugins": [p.to_dict() for p in items],
                "registered": {k: registry.names(k) for k in ("task", "head", "encoder")},
            }
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        from rich.markup import escape
        from rich.table import Table

        from mltl.log import stdout_console

        table = Table(title=f"mltl plugins (API {registry.API_VERSION})")
        for col in ("plugin", "registers", "package", "version", "status"):
            table.add_column(col)
        style = {"ok": "green", "error": "red", "api-mismatch": "yellow"}
        for p in items:
            status = p.status if p.status == "ok" else f"{p.status}: {p.reason}"
            table.add_row(
                escape(p.name),
                escape(", ".join(p.registers) or "-"),
                escape(p.dist or "?") + (" (built-in)" if p.builtin else ""),
                escape(p.version or "?"),
                f"[{style.get(p.status, 'white')}]{escape(status)}[/]",
            )
        con = stdout_console()
        con.print(table, soft_wrap=False)
        if not any(not p.builtin for p in items):
            con.print("no third-party plugins installed (see docs/plugins.md)")
